"""Calls' events, read off the calls table's stream (the outbox): what a write to a call
item means for partners. Webhooks and the API only write the item; the stream consumer
(`streams.outbox`) compares each record's old and new image and publishes:

- `Callback Requested`: a callback's context appeared (the request was stored);
- `Call Started` / `Call Routed`: the `started` / `routed` mark appeared (`lifecycle.mark_once`,
  so Vonage's retries add nothing);
- `Call Completed` (and `Callback Completed` for callbacks): the announced fingerprint
  (`completed_sig`) changed — a call settling, or settled again with different facts or
  classes (a reclassification);
- `Call Tagged`: the `tagged` stamp changed (each tagging request writes a new one);
- `Call Recorded`: a recording's fact appeared (or the call's context did, after it): the
  `recordings` consumer copies it to the archive (chalicelib/reports/archive.py);
- `Call Transcribed`: a transcript's announcement appeared (the intelligence consumer reads
  it); `Call Analyzed`: the rules' outcome was written for a new transcript
  (chalicelib/intelligence/analysis.py). Neither carries the transcript's text.

A webhook therefore never waits on EventBridge, and an event is never lost between the
write and the bus: a record stays in the stream (24 h, retried) until its batch is
published. Records arrive at least once; consumers dedupe on the event's content
(`integrations.idempotency.content_key`), so a batch published twice delivers once.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from chalicelib.calls import lifecycle, state
from chalicelib.calls.models import Call
from chalicelib.calls.publishing import without_pii
from chalicelib.calls.store import iso, to_api

Event = Tuple[str, Dict[str, Any]]


def _policy(item: Call) -> str:
    return ((item.ctx or {}).get("settings") or {}).get("pii_policy", "hash")


def events_of(old: Optional[Call], new: Call, written_at: float) -> List[Event]:
    """The events one write to a call stands for, in the order they happened."""
    out: List[Event] = []
    ctx = new.ctx
    if not ctx:   # a call stored without its context (an import, the demo) can still be tagged
        return [("Call Tagged", tagged_detail(new))] if _tagged(old, new) else []
    before = set(old.marks or ()) if old is not None else set()
    gained = set(new.marks or ()) - before
    if ctx.get("direction") == "callback" and (old is None or not old.ctx):
        out.append(("Callback Requested", requested_detail(ctx)))
    if "started" in gained:
        out.append(("Call Started", lifecycle.started_detail(ctx)))
    if "routed" in gained:
        outcome = state.derive(ctx, new.evs or ())
        out.append(("Call Routed", lifecycle.routed_detail(ctx, outcome, outcome.get("answered_at") or written_at)))
    if new.completed_sig and new.rec and new.completed_sig != (old.completed_sig if old is not None else None):
        out.extend(completed_events(new))
    if _tagged(old, new):
        out.append(("Call Tagged", tagged_detail(new)))
    out.extend(recorded_events(old, new))
    out.extend(intelligence_events(old, new))
    return out


def _records(item: Optional[Call]) -> Dict[str, state.Fact]:
    if item is None or not item.evs:
        return {}
    return {f["url"]: f for f in state.decode(item.evs) if f.get("k") == "record" and f.get("url")}


def recorded_events(old: Optional[Call], new: Call) -> List[Event]:
    """One `Call Recorded` per recording new to the call (a call without its context yet
    announces its recordings when the context arrives)."""
    if not new.account_id:
        return []
    before = _records(old) if old is not None and old.ctx else {}
    out: List[Event] = []
    for url, fact in sorted(_records(new).items(), key=lambda kv: (kv[1].get("st") or 0, kv[0])):
        if url in before:
            continue
        out.append(("Call Recorded", {
            "account_id": new.account_id, "call_id": new.call_id, "recording_uuid": fact.get("rid"),
            "kind": fact.get("kind") or "call", "started_at": iso(fact.get("st")), "ended_at": iso(fact.get("et")),
            "recording_path": f"/v1/accounts/{new.account_id}/calls/{new.call_id}/recording", "schema_version": 1}))
    return out


def intelligence_events(old: Optional[Call], new: Call) -> List[Event]:
    out: List[Event] = []
    note = new.transcript or {}
    if note.get("url") and (old is None or (old.transcript or {}).get("url") != note["url"]) and new.account_id:
        out.append(("Call Transcribed", {
            "account_id": new.account_id, "call_id": new.call_id, "engine": note.get("engine") or "vonage",
            "recording_uuid": note.get("recording_uuid"), "announced_at": iso(note.get("at")), "schema_version": 1}))
    if new.analysis and new.analysis_url and new.analysis_url != (old.analysis_url if old is not None else None) \
            and new.account_id:
        from chalicelib.intelligence.analysis import summary

        a = new.analysis
        out.append(("Call Analyzed", {
            "account_id": new.account_id, "call_id": new.call_id, **summary(a),
            "transcript_path": f"/v1/accounts/{new.account_id}/calls/{new.call_id}/transcript",
            "analyzed_at": iso(a.get("analyzed_at")), "schema_version": 1}))
    return out


def _tagged(old: Optional[Call], new: Call) -> bool:
    return bool(new.tagged and new.rec) and new.tagged != (old.tagged if old is not None else None)


def requested_detail(ctx: Mapping[str, Any]) -> Dict[str, Any]:
    policy = ctx["settings"]["pii_policy"]
    detail = {k: v for k, v in lifecycle.started_detail(ctx).items()
              if k not in ("call_id", "conversation_uuid", "tracking_number", "direction", "started_at")}
    detail.update(callback_id=ctx["call_id"], requested_at=iso(ctx["started_at"]), scheduled_for=None,
                  caller=ctx["caller"] if policy == "plain" else None)
    return detail


# What `Call Completed` version 2 adds to version 1 (schemas/call-completed.v2.json).
COMPLETED_V2_KEYS = ("spam", "spam_reasons", "spam_verdict", "lead_score", "lead", "labels", "rules_fired",
                     "transcript_path")


def completed_detail(item: Call) -> Dict[str, Any]:
    """`Call Completed` version 2: the record (version 1's fields), the call's spam verdict,
    and the rules' outcome when its transcript was analysed (never the transcript's text)."""
    from chalicelib.intelligence.analysis import summary

    call = to_api(item)
    detail = without_pii(dict(item.rec or {}), _policy(item))
    analysed = summary(item.analysis) if item.analysis and item.analysis_url else None
    detail.update(
        spam=call["spam"], spam_reasons=call["spam_reasons"], spam_verdict=call["spam_verdict"],
        lead_score=analysed["score"] if analysed else None, lead=analysed["lead"] if analysed else None,
        labels=analysed["tags"] if analysed else [], rules_fired=analysed["rules_fired"] if analysed else [],
        transcript_path=f"/v1/accounts/{item.account_id}/calls/{item.call_id}/transcript" if analysed else None,
        schema_version=2)
    return detail


def completed_v1(detail: Mapping[str, Any]) -> Dict[str, Any]:
    """A version 2 `Call Completed` as version 1 (for webhook subscriptions pinned to it)."""
    return {**{k: v for k, v in detail.items() if k not in COMPLETED_V2_KEYS}, "schema_version": 1}


def completed_events(item: Call) -> List[Event]:
    rec, ctx, policy = dict(item.rec or {}), item.ctx or {}, _policy(item)
    out: List[Event] = [("Call Completed", completed_detail(item))]
    if ctx.get("direction") == "callback":
        outcome = state.derive(ctx, item.evs or ())
        out.append(("Callback Completed", {
            "account_id": rec["account_id"], "callback_id": rec["call_id"], "call_id": rec["call_id"],
            "status": rec["status"], "attempts": outcome.get("attempts"), "completed_at": rec["ended_at"],
            "talk_seconds": rec["talk_seconds"], "caller": rec["caller"] if policy == "plain" else None,
            "caller_hash": rec["caller_hash"],
        }))
    return out


def tagged_detail(item: Call) -> Dict[str, Any]:
    call, stamp = to_api(item), item.tagged or {}
    return {
        "account_id": call["account_id"], "call_id": call["call_id"], "tags": call["tags"],
        "value": call["value"], "currency": call["currency"], "tagged_at": iso(stamp.get("at")),
        "tagged_by": stamp.get("by") or "api",
    }


def from_images(new_image: Optional[Mapping[str, Any]], old_image: Optional[Mapping[str, Any]],
                written_at: float, follow_up: bool = False) -> List[Event]:
    """`events_of` for one stream record's images (DynamoDB JSON). `follow_up`: also do the
    writes a change asks for off the webhook (a burst's earlier calls flagged: calls/spam.py;
    idempotent, so a retried batch repeats nothing)."""
    if not new_image:
        return []
    old = Call.from_raw_data(dict(old_image)) if old_image else None
    new = Call.from_raw_data(dict(new_image))
    if follow_up:
        from chalicelib.calls.spam import follow_burst

        follow_burst(old, new)
    return events_of(old, new, written_at)
