"""JSON Schemas of the snippet's public endpoints (the public contract: openapi.yaml, docs/snippet.md)."""
from __future__ import annotations

from typing import Any, Dict

URL = {"type": "string", "minLength": 8, "maxLength": 2048, "pattern": "^https?://[^\\s/?#]+"}

SESSION_REQUEST: Dict[str, Any] = {
    "type": "object",
    "required": ["account", "url"],
    "properties": {
        "account": {"type": "string", "pattern": "^[a-z0-9_-]{1,40}$"},
        "url": URL,
        "referrer": {"type": ["string", "null"], "maxLength": 2048},
        "ga_client_id": {"type": ["string", "null"], "pattern": "^[0-9]{1,20}\\.[0-9]{1,20}$"},
        "ga_session_id": {"type": ["string", "null"], "pattern": "^[0-9]{1,20}$"},
        "session_id": {"type": ["string", "null"], "maxLength": 160},
        "country": {"type": ["string", "null"], "pattern": "^[A-Za-z]{2}$"},
    },
}

HEARTBEAT_REQUEST: Dict[str, Any] = {
    "type": "object",
    "properties": {"url": URL, "ga_session_id": {"type": ["string", "null"], "pattern": "^[0-9]{1,20}$"}},
}
