"""A local stand-in for GA4's Measurement Protocol validation server (`/debug/mp/collect`):
it answers 200 with `{"validationMessages": [{fieldPath, description, validationCode}]}` as
Google documents, checking what the documented limits say (measurement id and secret in the
query, a client_id, ≤ 25 events, event and parameter names of letters, digits and `_`
starting with a letter, ≤ 40 characters, no reserved names or prefixes, ≤ 25 parameters,
values ≤ 100 characters). `/mp/collect` answers 204 and records nothing here."""
from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, List
from urllib.parse import parse_qs, urlsplit

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
RESERVED_EVENTS = {"ad_activeview", "ad_click", "ad_exposure", "ad_query", "ad_reward", "adunit_exposure",
                   "app_clear_data", "app_exception", "app_install", "app_remove", "app_store_refund",
                   "app_update", "app_upgrade", "dynamic_link_app_open", "error", "first_open", "first_visit",
                   "in_app_purchase", "notification_dismiss", "notification_foreground", "notification_open",
                   "notification_receive", "notification_send", "os_update", "session_start", "user_engagement"}
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")


def messages_for(query: Dict[str, List[str]], body: Any) -> List[Dict[str, str]]:
    out: List[Dict[str, str]] = []

    def bad(path: str, description: str, code: str = "VALUE_INVALID") -> None:
        out.append({"fieldPath": path, "description": description, "validationCode": code})

    if not query.get("measurement_id"):
        bad("measurement_id", "Measurement ID is required.", "VALUE_REQUIRED")
    if not query.get("api_secret"):
        bad("api_secret", "API secret is required.", "VALUE_REQUIRED")
    if not isinstance(body, dict):
        bad("", "Unable to parse Measurement Protocol JSON payload.")
        return out
    if not body.get("client_id"):
        bad("client_id", "client_id is required.", "VALUE_REQUIRED")
    events = body.get("events") or []
    if len(events) > 25:
        bad("events", "A maximum of 25 events can be specified per request.", "MAX_VALUE_EXCEEDED")
    for event in events:
        name = str(event.get("name", ""))
        if not NAME.match(name) or name in RESERVED_EVENTS or name.startswith(RESERVED_PREFIXES):
            bad("events", f"Event at index has invalid name [{name}].", "NAME_INVALID")
        params = event.get("params") or {}
        if len(params) > 25:
            bad(f"events.params", "Events can have a maximum of 25 parameters.", "MAX_VALUE_EXCEEDED")
        for key, value in params.items():
            if not NAME.match(key) or key.startswith(RESERVED_PREFIXES):
                bad(f"events.params.{key}", f"Parameter name [{key}] is invalid.", "NAME_INVALID")
            if isinstance(value, str) and len(value) > 100:
                bad(f"events.params.{key}", "Value is too long.", "VALUE_INVALID")
    return out


class GA4Debug(BaseHTTPRequestHandler):
    seen: List[Dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        GA4Debug.seen.append({"path": parts.path, "query": query, "body": body})
        if parts.path == "/debug/mp/collect":
            answer = json.dumps({"validationMessages": messages_for(query, body)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass
