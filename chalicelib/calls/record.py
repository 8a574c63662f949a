"""The API record of a call: its answer-time context plus the reducer's outcome."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Mapping, Optional

from chalicelib.calls.store import CALL_KEYS, iso

CONTEXT_KEYS = ("conversation_uuid", "tracking_number", "caller", "caller_hash", "direction",
                "within_working_hours")
OUTCOME_KEYS = ("status", "wait_seconds", "talk_seconds", "duration_seconds", "ivr_path", "department",
                "destination", "agent", "recording_url", "suspected_false_conversion")
ATTRIBUTION_KEYS = ("session_id", "method", "source", "medium", "campaign", "keyword", "content", "landing_page",
                    "referrer", "pages_seen", "click_ids", "ga_client_id", "ga_session_id", "device", "browser", "os", "country",
                    "attribution_confidence")


def caller_hash(caller: Optional[str]) -> Optional[str]:
    return hashlib.sha256(caller.encode()).hexdigest() if caller else None


def build(ctx: Mapping[str, Any], outcome: Mapping[str, Any],
          classification: Optional[Dict[str, bool]], final: Optional[bool] = None) -> Dict[str, Any]:
    """`final`: whether the classes can no longer change (no earlier call of the same caller
    is still open); None while the call is not classified."""
    rec: Dict[str, Any] = {key: None for key in CALL_KEYS}
    rec.update({k: ctx.get(k) for k in CONTEXT_KEYS})
    rec.update({k: (ctx.get("attribution") or {}).get(k) for k in ATTRIBUTION_KEYS})
    rec.update({k: outcome.get(k) for k in OUTCOME_KEYS})
    rec.update(account_id=ctx.get("account_id"), call_id=ctx.get("call_id"), started_at=iso(ctx.get("started_at")),
               answered_at=iso(outcome.get("answered_at")), ended_at=iso(outcome.get("ended_at")),
               classification=classification, classification_final=final if classification is not None else None,
               tags=[],
               currency=(ctx.get("settings") or {}).get("currency"))
    return rec


def signature(rec: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(rec, sort_keys=True, default=str).encode()).hexdigest()[:32]
