"""Completed calls shaped like `calls.store.get_call` answers (the calls contract, docs/calls.md)."""
from __future__ import annotations

import hashlib
from typing import Any, Dict

CALLER = "+14155550142"


def completed_call(**overrides: Any) -> Dict[str, Any]:
    caller = overrides.get("caller", CALLER)
    call: Dict[str, Any] = {
        "account_id": "acc-1", "call_id": "call-0001", "conversation_uuid": "CON-0001",
        "tracking_number": "+14155550131", "caller": caller,
        "caller_hash": hashlib.sha256(caller.encode()).hexdigest() if caller else None,
        "direction": "inbound", "status": "answered",
        "started_at": "2026-11-20T14:00:00Z", "answered_at": "2026-11-20T14:00:12Z",
        "ended_at": "2026-11-20T14:04:12Z", "wait_seconds": 12, "talk_seconds": 240, "duration_seconds": 252,
        "within_working_hours": True, "ivr_path": ["1"], "department": "sales", "destination": "+14155550199",
        "agent": "alice", "recording_url": "https://example.com/rec/1.mp3", "session_id": "sess-1",
        "method": "dynamic", "source": "google", "medium": "cpc", "campaign": "winter-boilers",
        "keyword": "boiler repair", "content": "ad-2", "landing_page": "https://plumbing.example/boilers?gclid=Cj0abc",
        "referrer": "https://www.google.com/", "pages_seen": 3, "click_ids": {"gclid": "Cj0abc"},
        "ga_client_id": "123.456", "device": "mobile", "browser": "Chrome", "os": "Android", "country": "US",
        "attribution_confidence": 0.95,
        "classification": {"unique": True, "target": True, "repeated": False, "first_target": True,
                           "unique_target": True},
        "tags": [], "value": 120.0, "currency": "USD", "suspected_false_conversion": False,
    }
    call.update(overrides)
    return call


def event_of(call: Dict[str, Any], detail_type: str = "Call Completed") -> Dict[str, Any]:
    """The EventBridge event a consumer receives (caller hashed out, as published)."""
    detail = {**call, "caller": None, "schema_version": 1}
    return {"version": "0", "id": f"evt-{call['call_id']}", "detail-type": detail_type, "source": "calltrack",
            "account": "123456789012", "time": call.get("ended_at") or call["started_at"], "region": "us-east-1",
            "resources": [], "detail": detail}


def iso_ago(now: float, seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(now - seconds, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def store_call(call: Dict[str, Any]) -> Dict[str, Any]:
    """Put a finished call where `calls.store.get_call` reads it (integration tests)."""
    from datetime import datetime

    from chalicelib.calls.models import Call

    started = datetime.fromisoformat(call["started_at"].replace("Z", "+00:00")).timestamp()
    Call(call["call_id"], account_id=call["account_id"], started_at=started, status=call["status"],
         rec=dict(call), tags=list(call.get("tags") or []), value=call.get("value")).save()
    return call
