"""User analytics: an optional consumer sending each completed call as a *track* call to a
user-based analytics service, so the call joins the visitor's profile and funnels.

Formats (per account, section `analytics`):
- `segment`: Segment's HTTP Tracking API (`POST /v1/track`, Basic auth with the write key,
  JSON `{type, event, anonymousId|userId, properties, timestamp, messageId, context}`);
  Segment-compatible collectors (RudderStack, Jitsu…) take the same call at their own URL.
- `kissmetrics`: the tracking API's record call (`GET /e?_k=&_p=&_n=&_t=&_d=1&<props>`).
- `woopra`: the HTTP tracking API's custom event (`GET /track/ce?project=&event=&cookie=&timestamp=&ce_<prop>=`).

The visitor is identified by the GA client id of the session (the web analytics cookie), else
the session id, else the caller hash: never the phone number. `messageId`/event ids are
derived from the call id, so a redelivered event is deduplicated by services that honour it.
"""
from __future__ import annotations

import base64
import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode

from chalicelib.integrations.errors import account_of
from chalicelib.integrations.transport import (
    DeliveryFailed, Transport, consumer_error, send_json, urllib_transport,
)
from chalicelib.observability import count, logger
from chalicelib.times import epoch
from chalicelib.vocabulary import CLASSES

SECTION = "analytics"
Clock = Callable[[], float]
DEFAULT_URLS = {
    "segment": "https://api.segment.io/v1/track",
    "kissmetrics": "https://trk.kissmetrics.io/e",
    "woopra": "https://www.woopra.com/track/ce",
}
IDENTITIES = ("ga_client_id", "session_id", "caller_hash")
PROPERTY_FIELDS = ("call_id", "status", "direction", "talk_seconds", "wait_seconds", "duration_seconds",
                   "within_working_hours", "source", "medium", "campaign", "keyword", "content", "landing_page",
                   "tracking_number", "department", "method", "device", "browser", "os", "country",
                   "attribution_confidence", "value", "currency", "started_at", "ended_at")

ANALYTICS_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["enabled", "format"],
    "properties": {
        "enabled": {"type": "boolean"},
        "format": {"enum": list(DEFAULT_URLS)},
        "url": {"type": "string", "pattern": "^https?://[^\\s]+$", "description": "default: the service's endpoint"},
        "write_key": {"type": "string", "minLength": 1, "maxLength": 256, "description": "segment"},
        "api_key": {"type": "string", "minLength": 1, "maxLength": 256, "description": "kissmetrics"},
        "project": {"type": "string", "minLength": 1, "maxLength": 256, "description": "woopra project (domain)"},
        "event_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "identity": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(IDENTITIES)},
                     "description": "visitor id candidates, in order (default ga_client_id, session_id, caller_hash)"},
        "statuses": {"type": "array", "uniqueItems": True, "items": {"type": "string"},
                     "description": "only these call statuses (default: all)"},
    },
    "allOf": [
        {"if": {"properties": {"format": {"const": "segment"}}}, "then": {"required": ["write_key"]}},
        {"if": {"properties": {"format": {"const": "kissmetrics"}}}, "then": {"required": ["api_key"]}},
        {"if": {"properties": {"format": {"const": "woopra"}}}, "then": {"required": ["project"]}},
    ],
}


def identity_of(call: Mapping[str, Any], order: Tuple[str, ...] = IDENTITIES) -> Tuple[Optional[str], Optional[str]]:
    for name in order:
        if call.get(name):
            return name, str(call[name])
    return None, None


def properties_of(call: Mapping[str, Any]) -> Dict[str, Any]:
    props = {k: call.get(k) for k in PROPERTY_FIELDS if call.get(k) is not None}
    classification = call.get("classification") or {}
    props.update({f"{c}_call": bool(classification.get(c)) for c in CLASSES})
    if call.get("value") is not None:
        props["revenue"] = call["value"]      # Segment's spec property for money
    return props


def flat(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def request_for(call: Mapping[str, Any], section: Mapping[str, Any]) -> Optional[Tuple[str, str, Dict[str, str], Any]]:
    """(method, url, headers, JSON body or None) for one call (pure); None when the call has
    no usable visitor id."""
    fmt = section["format"]
    url = section.get("url") or DEFAULT_URLS[fmt]
    event = section.get("event_name") or "Phone Call"
    kind, visitor = identity_of(call, tuple(section.get("identity") or IDENTITIES))
    if visitor is None:
        return None
    props = properties_of(call)
    started = call.get("started_at")
    epoch = _epoch(started)
    if fmt == "segment":
        auth = base64.b64encode(f"{section['write_key']}:".encode()).decode()
        body: Dict[str, Any] = {
            "type": "track", "event": event, "properties": props, "timestamp": started,
            "messageId": f"calltrack-{call['call_id']}",
            "context": {"library": {"name": "calltrack", "version": "1"}},
        }
        body["anonymousId" if kind != "caller_hash" else "userId"] = visitor
        return "POST", url, {"Authorization": f"Basic {auth}"}, body
    if fmt == "kissmetrics":
        query = {"_k": section["api_key"], "_p": visitor, "_n": event, "_t": str(int(epoch)), "_d": "1",
                 **{k: flat(v) for k, v in props.items()}}
        return "GET", f"{url}?{urlencode(query)}", {}, None
    query = {"project": section["project"], "event": event, "cookie": visitor, "timestamp": str(int(epoch * 1000)),
             **{f"ce_{k}": flat(v) for k, v in props.items()}}
    return "GET", f"{url}?{urlencode(query)}", {}, None


def _epoch(iso: Optional[str]) -> float:
    at = epoch(iso)
    return at if at is not None else time.time()


def handle(event: Mapping[str, Any], transport: Transport = urllib_transport) -> Optional[int]:
    """Consumer of `Call Completed`: the event detail is enough (no PII needed). Returns the
    service's HTTP status, None when nothing was sent."""
    call = event.get("detail") or {}
    section = account_of(call.get("account_id")).config.get(SECTION) or {}
    if not section.get("enabled") or call.get("status") == "in_progress" or call.get("spam"):
        return None
    if section.get("statuses") and call.get("status") not in section["statuses"]:
        return None
    built = request_for(call, section)
    if built is None:
        count("AnalyticsNoVisitorId")
        return None
    method, url, headers, body = built
    try:
        status, _ = send_json(transport, method, url, headers, body, what=f"analytics ({section['format']})")
    except DeliveryFailed as err:
        count("AnalyticsFailed")
        raise consumer_error(err) from err
    count("AnalyticsSent")
    logger.info("analytics track sent", extra={"account_id": call.get("account_id"), "call_id": call.get("call_id"),
                                               "format": section["format"], "status": status})
    return status
