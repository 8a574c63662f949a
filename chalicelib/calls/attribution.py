"""Where a call came from: the session that held the tracking number when it rang.

Pool numbers ask the lease history (`dni.history.who_held`, with the account's grace
window) and take that session's snapshot and the match's confidence. When the answer
is the number's current holder, the number is marked as called (`leases.mark_called`):
once that lease ends it is the first to be handed on (docs/accuracy.md). Static numbers
stand for their source (confidence 1). Nothing matched: the number's own source, if
any, with confidence 0.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from chalicelib.dni import history, leases
from chalicelib.dni.models import Number

SNAP_FIELDS = ("session_id", "source", "medium", "campaign", "keyword", "content", "landing_page", "referrer",
               "ga_client_id", "device", "browser", "os", "country", "group")
EMPTY: Dict[str, Any] = {**{f: None for f in SNAP_FIELDS}, "click_ids": {}, "pages_seen": None,
                         "method": "none", "attribution_confidence": 0.0}


def split_source(label: Optional[str]) -> Dict[str, Optional[str]]:
    """Static numbers name their source as 'google / organic' (or just 'billboard')."""
    if not label:
        return {"source": None, "medium": None}
    source, _, medium = label.partition(" / ")
    return {"source": source.strip() or None, "medium": medium.strip() or None}


def attribute(item: Optional[Number], at: float, grace: float) -> Dict[str, Any]:
    """Attribution fields of a call to `item`'s number at time `at` (one Query for pool numbers)."""
    if item is None:
        return dict(EMPTY)
    if item.kind == "static":
        return {**EMPTY, **split_source(item.source), "method": "static", "attribution_confidence": 1.0}
    if item.kind == "pool":
        match = history.who_held(item.number, at, grace, item=item)
        if match.holding is not None:
            if match.session_id == item.holder and item.called_by != item.holder:
                leases.mark_called(item.number, item.holder)
            return from_holding(match.holding, match.confidence)
    fallback = "default" if item.kind == "default" else "none"
    return {**EMPTY, **split_source(item.source), "method": fallback}


def from_holding(holding: history.Holding, confidence: float) -> Dict[str, Any]:
    snap = holding.snap or {}
    out = {**EMPTY, **{f: snap.get(f) for f in SNAP_FIELDS}}
    out.update(session_id=holding.session_id, click_ids=dict(snap.get("click_ids") or {}),
               pages_seen=max(1, len(holding.pages or [])), method=snap.get("method") or "dynamic",
               attribution_confidence=round(float(confidence), 4))
    return out
