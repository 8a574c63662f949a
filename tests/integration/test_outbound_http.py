"""Consumers' outbound HTTP against a local server: a redirect is the target's refusal
(never a silent bodyless GET counted as delivered), and no URL query (an API key) ever
reaches an error message, which ends up in logs and DLQ attributes."""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from chalicelib.integrations import outbound, transport
from chalicelib.integrations.transport import DeliveryFailed
from tests.local_http import serve

seen = []


class Moved(BaseHTTPRequestHandler):
    def _any(self) -> None:
        seen.append((self.command, self.path))
        if self.path.startswith("/new"):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(302)
        self.send_header("Location", "/new")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _any

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def moved():
    seen.clear()
    with serve(Moved) as url:
        yield url


def test_a_webhook_target_that_redirects_is_not_counted_as_delivered(moved):
    status, _ = outbound.post(moved + "/hook", b'{"a":1}', {})
    assert status == 302 and not outbound.is_retryable_status(status)
    assert seen == [("POST", "/hook")]                   # nothing followed the redirect


def test_a_vendor_redirect_is_a_permanent_failure_and_keys_stay_out_of_the_message(moved):
    with pytest.raises(DeliveryFailed) as failed:
        transport.send_json(transport.urllib_transport, "GET", moved + "/e?_k=SECRET-KEY&_p=x", {}, what="Kissmetrics")
    assert failed.value.http_status == 302 and not failed.value.retryable
    assert "SECRET-KEY" not in failed.value.message and "/e" in failed.value.message
    assert seen == [("GET", "/e?_k=SECRET-KEY&_p=x")]


def test_an_unreachable_vendor_is_retryable_and_its_key_is_not_logged():
    with pytest.raises(DeliveryFailed) as failed:
        transport.send_json(transport.urllib_transport, "GET", "http://127.0.0.1:9/e?_k=SECRET-KEY", {}, timeout=2)
    assert failed.value.retryable and "SECRET-KEY" not in failed.value.message
