"""The user-analytics consumer against a local Segment-style collector over HTTP."""
from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.integrations import analytics
from chalicelib.integrations.errors import PermanentError, RetryableError
from sample_calls import completed_call, event_of


class Collector:
    """Speaks Segment's HTTP tracking API: Basic auth with the write key, JSON track calls."""

    def __init__(self, write_key):
        self.write_key, self.received, self.fail_with = write_key, [], []

    def __enter__(self):
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                expected = "Basic " + base64.b64encode(f"{collector.write_key}:".encode()).decode()
                if collector.fail_with:
                    status = collector.fail_with.pop(0)
                elif self.path != "/v1/track" or self.headers.get("Authorization") != expected:
                    status = 401
                elif not self.headers.get("Content-Type", "").startswith("application/json"):
                    status = 400
                else:
                    collector.received.append(json.loads(body))
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"success": true}' if status == 200 else b'{"success": false}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/track"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def collector():
    with Collector("wk-test") as c:
        yield c


def configure(account, url, **extra):
    section = {"enabled": True, "format": "segment", "write_key": "wk-test", "url": url, **extra}
    return account(extra_config={"analytics": section}).account_id


def test_completed_call_reaches_the_collector_as_a_track_call(account, collector):
    acc = configure(account, collector.url)
    assert analytics.handle(event_of(completed_call(account_id=acc))) == 200
    [track] = collector.received
    assert track["type"] == "track" and track["event"] == "Phone Call" and track["anonymousId"] == "123.456"
    assert track["properties"]["campaign"] == "winter-boilers" and track["messageId"] == "calltrack-call-0001"
    assert "4155550142" not in json.dumps(track)


def test_status_filter_and_disabled_accounts_send_nothing(account, collector):
    acc = configure(account, collector.url, statuses=["answered"])
    assert analytics.handle(event_of(completed_call(account_id=acc, status="missed"))) is None
    assert collector.received == []


def test_outages_retry_and_refusals_go_to_the_dlq(account, collector):
    acc = configure(account, collector.url)
    collector.fail_with = [503]
    with pytest.raises(RetryableError):
        analytics.handle(event_of(completed_call(account_id=acc)))
    collector.fail_with = [400]
    with pytest.raises(PermanentError):
        analytics.handle(event_of(completed_call(account_id=acc)))
    assert collector.received == []
