"""User analytics track calls (pure): Segment, Kissmetrics and Woopra shapes, no PII."""
from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

from chalicelib.integrations import analytics
from sample_calls import CALLER, completed_call

PHONE_DIGITS = re.compile(r"4155550142")


def test_segment_track_call():
    method, url, headers, body = analytics.request_for(completed_call(), {"format": "segment", "write_key": "wk"})
    assert (method, url) == ("POST", "https://api.segment.io/v1/track")
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"wk:").decode()
    assert body["type"] == "track" and body["event"] == "Phone Call"
    assert body["anonymousId"] == "123.456" and "userId" not in body
    assert body["messageId"] == "calltrack-call-0001" and body["timestamp"] == "2026-11-20T14:00:00Z"
    props = body["properties"]
    assert props["source"] == "google" and props["target_call"] is True and props["revenue"] == 120.0
    assert not PHONE_DIGITS.search(str(body))


def test_identity_falls_back_to_session_then_caller_hash():
    call = completed_call(ga_client_id=None)
    assert analytics.request_for(call, {"format": "segment", "write_key": "k"})[3]["anonymousId"] == "sess-1"
    only_hash = completed_call(ga_client_id=None, session_id=None)
    body = analytics.request_for(only_hash, {"format": "segment", "write_key": "k"})[3]
    assert body["userId"] == only_hash["caller_hash"]
    assert analytics.request_for(completed_call(ga_client_id=None, session_id=None, caller_hash=None),
                                 {"format": "segment", "write_key": "k"}) is None


def test_kissmetrics_record_call():
    method, url, headers, body = analytics.request_for(completed_call(), {"format": "kissmetrics", "api_key": "km",
                                                                          "event_name": "Called"})
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert method == "GET" and body is None and parts.netloc == "trk.kissmetrics.io" and parts.path == "/e"
    assert (q["_k"], q["_p"], q["_n"], q["_d"]) == ("km", "123.456", "Called", "1")
    assert q["_t"] == str(int(analytics._epoch("2026-11-20T14:00:00Z")))
    assert q["status"] == "answered" and q["unique_call"] == "true"
    assert not PHONE_DIGITS.search(url)


def test_woopra_custom_event():
    method, url, _, _ = analytics.request_for(completed_call(), {"format": "woopra", "project": "plumbing.example"})
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://www.woopra.com/track/ce?")
    assert (q["project"], q["event"], q["cookie"]) == ("plumbing.example", "Phone Call", "123.456")
    assert q["timestamp"] == str(int(analytics._epoch("2026-11-20T14:00:00Z") * 1000))
    assert q["ce_campaign"] == "winter-boilers" and "ce_caller" not in q
    assert CALLER not in url
