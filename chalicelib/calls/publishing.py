"""What partners may see of a call. Calls' events are published from the calls table's
stream (calls/outbox.py), never from a request."""
from __future__ import annotations

from typing import Any, Dict


def without_pii(call: Dict[str, Any], pii_policy: str) -> Dict[str, Any]:
    """Partners get the caller number only when the account opted in (`pii_policy: plain`)."""
    return call if pii_policy == "plain" else {**call, "caller": None}
