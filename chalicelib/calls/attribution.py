"""Where a call came from: the session that held the tracking number when it rang.

Pool numbers ask the lease history (`dni.history.who_held`, with the account's grace
window) and take that session's snapshot and the match's confidence: the current
holder's from the Number item, a past holder's from its Session item (one GetItem, only
when the match is a past holder: the archive keeps times and the page count, not the
attribution, since the pool index it is written from carries neither). After the answer,
`leases.note_call` marks the number called when the answer is its current holder (once
that lease ends it is the first to be handed on, docs/accuracy.md) and remembers the
caller on the number. A caller who phoned the same pool number before, within the
account's `repeat_caller_days`, goes to the session of that earlier call, with its
confidence, whoever holds the number now: the number has usually changed hands since,
and the new holder is almost never the same person. A first call that matched nobody is
remembered too (as nobody): the caller's repeat is not handed to whoever holds the
number by then. Static numbers
stand for their source (confidence 1). Nothing matched: the number's own source, if
any, with confidence 0.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from chalicelib.dni import history, leases
from chalicelib.dni.models import Number, Session

SNAP_FIELDS = ("session_id", "source", "medium", "campaign", "keyword", "content", "landing_page", "referrer",
               "ga_client_id", "ga_session_id", "device", "browser", "os", "country", "group")
EMPTY: Dict[str, Any] = {**{f: None for f in SNAP_FIELDS}, "click_ids": {}, "pages_seen": None,
                         "method": "none", "attribution_confidence": 0.0}


def split_source(label: Optional[str]) -> Dict[str, Optional[str]]:
    """Static numbers name their source as 'google / organic' (or just 'billboard')."""
    if not label:
        return {"source": None, "medium": None}
    source, _, medium = label.partition(" / ")
    return {"source": source.strip() or None, "medium": medium.strip() or None}


def attribute(item: Optional[Number], at: float, grace: float, caller_hash: Optional[str] = None,
              repeat_seconds: float = 0.0) -> Dict[str, Any]:
    """Attribution fields of a call to `item`'s number at time `at`. Pool numbers: one
    Query of the lease history (or, for a remembered caller, one GetItem of the session)
    plus at most one UpdateItem (`leases.note_call`)."""
    if item is None:
        return dict(EMPTY)
    if item.kind == "static":
        return {**EMPTY, **split_source(item.source), "method": "static", "attribution_confidence": 1.0}
    if item.kind == "pool":
        earlier = leases.remembered(item, caller_hash, at, repeat_seconds)
        if earlier is not None and not earlier.session_id:
            return {**EMPTY, **split_source(item.source), "method": "none"}
        if earlier is not None:
            found = session_of(item.account_id, earlier.session_id)
            if found is not None:
                return {**from_session(found), "attribution_confidence": round(earlier.confidence, 4)}
        match = history.who_held(item.number, at, grace, item=item)
        if match.holding is not None:
            leases.note_call(item, match.holding.session_id, at, match.confidence, caller_hash, repeat_seconds)
            return from_holding(match.holding, match.confidence, item.account_id)
        if caller_hash and repeat_seconds > 0:
            leases.note_call(item, "", at, 0.0, caller_hash, repeat_seconds)    # a repeat goes to nobody too
    fallback = "default" if item.kind == "default" else "none"
    return {**EMPTY, **split_source(item.source), "method": fallback}


def from_holding(holding: history.Holding, confidence: float, account_id: Optional[str] = None) -> Dict[str, Any]:
    snap = holding.snap or ({} if account_id is None else _snapshot(session_of(account_id, holding.session_id)))
    out = {**EMPTY, **{f: snap.get(f) for f in SNAP_FIELDS}}
    out.update(session_id=holding.session_id, click_ids=dict(snap.get("click_ids") or {}),
               pages_seen=max(1, holding.pages_seen), method=snap.get("method") or "dynamic",
               ga_session_id=holding.ga_session_id or snap.get("ga_session_id"),
               attribution_confidence=round(float(confidence), 4))
    if holding.pages:         # kept on the call's context for its journey (not in the record)
        out["pages"] = page_trail(holding.pages)
    return out


TRAIL_PAGES = 20
TRAIL_URL_CHARS = 300


def page_trail(pages: Any) -> List[str]:
    """The holder's pages as the call keeps them: the first and the latest, at most
    TRAIL_PAGES, each URL cut to TRAIL_URL_CHARS. A number keeps up to 50 pages of up to
    2 KB; copied whole, every later webhook's write to the call would pay for ~100 KB."""
    kept = list(pages)
    if len(kept) > TRAIL_PAGES:
        kept = kept[:1] + kept[-(TRAIL_PAGES - 1):]
    return [p[:TRAIL_URL_CHARS + 11] for p in kept]      # "<10-digit epoch>|" + the URL



def session_of(account_id: str, session_id: Optional[str]) -> Optional[Session]:
    """The session item (one GetItem), if it exists and belongs to the account."""
    if not session_id:
        return None
    try:
        s = Session.get(session_id)
    except Session.DoesNotExist:
        return None
    return s if s.account_id == account_id else None


def _snapshot(s: Optional[Session]) -> Dict[str, Any]:
    """A past holder's snapshot, as the lease took it (`sessions.snapshot`), from its item."""
    if s is None:
        return {}
    from chalicelib.dni.sessions import snapshot

    return snapshot(s)


def from_session(s: Optional[Session]) -> Dict[str, Any]:
    """Attribution fields from a session item (confidence 1: the caller is known)."""
    if s is None:
        return dict(EMPTY)
    out = {**EMPTY, **{f: getattr(s, f, None) for f in SNAP_FIELDS}}
    out.update(session_id=s.session_id, click_ids=dict(s.click_ids or {}), pages_seen=1, method=s.method,
               attribution_confidence=1.0)
    return out
