"""A call's story for its detail page: who called (formatted, where the number is
registered), what happened in order, the visit that led to it (the pages with their
times), and the caller's other calls. Bounded reads whatever the account's size: the call
(one GetItem), its session (one GetItem), the caller's history (one GetItem) and up to 20
of their calls (one BatchGetItem)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from chalicelib.calls import attribution, store
from chalicelib.geo import phone
from chalicelib.times import iso

HISTORY_LIMIT = 20
STATUS_WORDS = {
    "answered": "answered", "missed": "not answered", "busy": "the line was busy", "voicemail": "left a voicemail",
    "ivr_no_input": "made no menu choice", "ivr_abandoned": "hung up in the menu",
    "abandoned_in_greeting": "hung up during the greeting", "failed": "failed to connect",
    "rejected": "refused (blocked caller)", "callback_agent_no_answer": "callback: the agent did not answer",
    "callback_client_no_answer": "callback: the visitor did not answer", "in_progress": "in progress",
}
JOURNEY_FIELDS = ("session_id", "method", "source", "medium", "campaign", "keyword", "content", "landing_page",
                  "referrer", "device", "browser", "os", "country", "ga_client_id", "ga_session_id", "click_ids",
                  "pages_seen", "attribution_confidence")


def status_words(status: Optional[str]) -> str:
    return STATUS_WORDS.get(status or "", (status or "unknown").replace("_", " "))


def caller_of(call: Dict[str, Any]) -> Dict[str, Any]:
    number = call.get("caller")
    if not number:
        return {"number": None, "display": "(hidden)", "place": None, "country": None}
    return {"number": number, "display": phone.display(number), "place": phone.place(number),
            "country": phone.region_of(number)}


def pages_of(entries: List[str], landing: Optional[str], started: Optional[float]) -> List[Dict[str, Any]]:
    """The visit's pages, oldest first, each with when it was seen (None when not kept)."""
    pages = []
    for entry in entries:
        at, sep, url = entry.partition("|")
        if sep and at.isdigit():
            pages.append({"at": iso(float(at)), "url": url})
        else:
            pages.append({"at": None, "url": entry})
    if not pages and landing:
        pages.append({"at": iso(started) if started else None, "url": landing})
    return pages


def timeline(call: Dict[str, Any], tagged: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """What happened, in order: rang, menu choices, answered, ended (with talk time), tags."""
    steps: List[Dict[str, Any]] = [{"at": call.get("started_at"), "what": "rang",
                                    "detail": f"on {phone.display(call['tracking_number'])}"
                                    if call.get("tracking_number") else None}]
    for choice in call.get("ivr_path") or []:
        steps.append({"at": None, "what": "menu choice", "detail": str(choice)})
    if call.get("answered_at"):
        who = phone.display(call["agent"]) if call.get("agent") else None
        wait = call.get("wait_seconds")
        steps.append({"at": call["answered_at"], "what": "answered",
                      "detail": ", ".join(x for x in (f"by {who}" if who else None,
                                                      f"after {wait:g} s" if wait is not None else None) if x)
                      or None})
    if call.get("ended_at"):
        talk = call.get("talk_seconds")
        ended = "ended" if call.get("status") == "answered" else status_words(call.get("status"))
        steps.append({"at": call["ended_at"], "what": ended,
                      "detail": f"talked {talk:g} s" if talk else None})
    if call.get("recording_url"):
        steps.append({"at": call.get("ended_at"), "what": "recorded", "detail": None})
    if tagged and call.get("tags"):
        names = ", ".join(t["category"] + (f": {t['value']}" if t.get("value") else "") for t in call["tags"])
        steps.append({"at": iso(tagged.get("at")), "what": "tagged", "detail": f"{names} (by {tagged.get('by')})"})
    if call.get("spam"):
        steps.append({"at": None, "what": "marked as spam", "detail": ", ".join(call.get("spam_reasons") or [])})
    return steps


def _pages_kept(item: Any) -> List[str]:
    return list(((item.ctx or {}).get("attribution") or {}).get("pages") or [])


def story(account_id: str, call_id: str) -> Dict[str, Any]:
    item = store.item_of(account_id, call_id)
    call = store.to_api(item)
    others = [c for c in store.caller_calls(account_id, call.get("caller_hash"), HISTORY_LIMIT + 1)
              if c.call_id != call_id][:HISTORY_LIMIT]
    kept = _pages_kept(item)
    if not kept:   # a repeat caller's call went to their earlier visit: the pages its first call saw
        kept = next((_pages_kept(o) for o in others if _pages_kept(o) and (o.rec or {}).get("session_id")
                     == call.get("session_id")), [])
    session = attribution.session_of(account_id, call.get("session_id"))
    started = float(session.started_at) if session is not None else None
    journey: Dict[str, Any] = {k: call.get(k) for k in JOURNEY_FIELDS}
    journey.update(started_at=iso(started) if started else None,
                   pages=pages_of(list(kept), call.get("landing_page"), started))
    history = [{"call_id": c["call_id"], "started_at": c["started_at"], "status": c["status"],
                "status_words": status_words(c["status"]), "source": c.get("source"), "medium": c.get("medium"),
                "session_id": c.get("session_id"), "talk_seconds": c.get("talk_seconds"), "agent": c.get("agent"),
                "before": (c["started_at"] or "") < (call["started_at"] or "")}
               for c in (store.to_api(o) for o in others)]
    return {"call": call, "status_words": status_words(call.get("status")), "caller": caller_of(call),
            "timeline": timeline(call, item.tagged), "journey": journey, "history": history}
