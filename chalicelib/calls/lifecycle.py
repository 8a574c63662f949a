"""A call's life in DynamoDB: opened at answer, fed facts by webhooks, settled once.

Requests: opening is one UpdateItem; each webhook is one UpdateItem (ADD the fact,
returning the item) plus, when the derived record changed, one conditional UpdateItem
(conditional on the fact set not having grown meanwhile, so a slower writer can never
overwrite a newer record) and, when the call settles, one UpdateItem of the caller's
history. The writer whose conditional write records the settled record's fingerprint
(`completed_sig`) first makes the calls stream announce `Call Completed` (calls/outbox.py):
once per distinct final record. Nothing here calls the bus.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size

from chalicelib.calls import classify, publishing, record, spam, state
from chalicelib.calls.models import UNSETTLED, Call, CallerHistory
from chalicelib.calls.store import agent_key, iso
from chalicelib.db import condition_failed, ttl
from chalicelib.observability import count, logger

Clock = Callable[[], float]
MAX_WRITE_ATTEMPTS = 4
SETTINGS_SNAPSHOT = ("target_seconds", "sales_cycle_days", "greeting_seconds", "currency", "default_value",
                     "pii_policy", "retention_days", "timezone")


def settings_snapshot(settings: Any) -> Dict[str, Any]:
    return {key: getattr(settings, key) for key in SETTINGS_SNAPSHOT}


def open_call(ctx: Dict[str, Any]) -> Call:
    """Create the call (or complete one whose webhooks raced ahead): one UpdateItem.

    Every attribute is set only if absent, so Vonage retrying the answer webhook keeps
    the first answer's context."""
    item = Call(ctx["call_id"])
    rec = record.build(ctx, state.derive(ctx, []), None)
    expires = ttl(ctx["started_at"] + ctx["settings"]["retention_days"] * 86400)
    actions = [
        Call.account_id.set(Call.account_id | ctx["account_id"]),
        Call.started_at.set(Call.started_at | ctx["started_at"]),
        Call.direction.set(Call.direction | ctx["direction"]),
        Call.ctx.set(Call.ctx | ctx),
        Call.rec.set(Call.rec | rec),
        Call.status.set(Call.status | rec["status"]),
        Call.expires.set(Call.expires | expires),
        Call.unsettled.set(Call.unsettled | UNSETTLED),
    ]
    if rec.get("source"):
        actions.append(Call.source.set(Call.source | rec["source"]))
    if ctx.get("spam"):
        actions.append(Call.spam_flags.add(set(ctx["spam"])))   # known at the answer (the block list)
    item.update(actions=actions)
    if item.evs:  # webhooks arrived before the answer finished: derive from them now
        refresh(item)
    return item


def add_fact(call_id: str, fact: state.Fact) -> Call:
    """Record one fact (idempotent: a set ADD) and return the call as it is now."""
    item = Call(call_id)
    item.update(actions=[Call.evs.add({state.encode(fact)})])
    return item


def announce_transcript(call_id: str, note: Mapping[str, Any]) -> bool:
    """Keep a transcript's announcement on a stored call, once (Vonage's retries change
    nothing). False when the call is not stored yet: its answer is still being written, and
    a stub item would later be filled without `Call Transcribed` ever being announced."""
    try:
        Call(call_id).update(actions=[Call.transcript.set(dict(note))],
                             condition=Call.account_id.exists() & Call.transcript.does_not_exist())
        count("TranscriptsAnnounced")
        return True
    except UpdateError as err:
        if not condition_failed(err):
            raise
    try:
        return bool(Call.get(call_id, consistent_read=True).account_id)   # announced before: done
    except Call.DoesNotExist:
        return False


def keep_analysis(call_id: str, analysis: Mapping[str, Any], transcript_url: str,
                  spam_reasons: Iterable[str] = ()) -> bool:
    """The rules' outcome for one transcript, written once (a second reader of the same
    transcript changes nothing, so `Call Analyzed` is announced once), with the spam reasons
    it found (calls/spam.py). True if written."""
    actions = [Call.analysis.set(dict(analysis)), Call.analysis_url.set(transcript_url)]
    if spam_reasons:
        actions.append(Call.spam_flags.add(set(spam_reasons)))
    try:
        Call(call_id).update(actions=actions,
                             condition=Call.analysis_url.does_not_exist() | (Call.analysis_url != transcript_url))
        return True
    except UpdateError as err:
        if not condition_failed(err):
            raise
        return False


def keep_archive(call_id: str, entry: Mapping[str, Any]) -> None:
    """A recording's copy in the archive (reports/archive.py), kept beside the call (a set
    ADD: a repeated copy of the same recording adds nothing the reader does not dedupe)."""
    Call(call_id).update(actions=[Call.archived.add({json.dumps(dict(entry), sort_keys=True, separators=(",", ":"))})],
                         condition=Call.account_id.exists())


def mark_once(call_id: str, mark: str) -> bool:
    """True for exactly one caller per (call, mark): guards side effects against retries."""
    try:
        Call(call_id).update(actions=[Call.marks.add({mark})], condition=~Call.marks.contains(mark))
        return True
    except UpdateError as err:
        if condition_failed(err):
            return False
        raise


def refresh(item: Call, clock: Clock = time.time) -> Optional[Dict[str, Any]]:
    """Derive the record from the facts and store it if it changed; publish on settling.
    Returns the derived outcome (None while the call has no context yet)."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        if item.ctx is None:
            return None
        outcome = state.derive(item.ctx, item.evs or ())
        if _unchanged_since_settled(item, outcome):
            return outcome
        classes, others, burst = classify_call(item.ctx, outcome) if outcome["settled"] else (None, None, [])
        final = not earlier_open(item.ctx) if classes is not None else None
        rec = record.build(item.ctx, outcome, classes, final)
        sig = record.signature(rec)
        flags = _spam_flags(item, outcome, burst)
        announce = outcome["settled"] and item.completed_sig != sig and (
            # A call the sweep settled (and announced) is announced again once its real facts
            # are complete, not at every late webhook on the way there.
            not item.completed_sig or state.complete(item.ctx, item.evs or ()))
        if sig == item.rec_sig and not announce and not flags:
            return outcome
        if _write(item, rec, sig, announce, classes, flags):
            if announce:
                count(f"Calls_{rec['status']}")
            if others is not None:
                # After this call's settling write: a later call settling now sees it settled.
                _reclassify(item.ctx, *others)
            # (The burst's earlier calls are flagged off the webhook, from the calls stream:
            # calls/spam.py `follow_burst`.)
            return outcome
        item.refresh(consistent_read=True)
    logger.warning("call record not written after retries", extra={"call_id": item.call_id})
    return None


def _spam_flags(item: Call, outcome: Mapping[str, Any], burst: Iterable[str]) -> Set[str]:
    """Spam reasons the settling finds that the call does not carry yet (calls/spam.py)."""
    found = {"burst"} if item.call_id in burst else set()
    if outcome.get("settled") and outcome.get("refused") == "challenge":
        found.add("challenge")
    return found - set(item.spam_flags or ())


def _unchanged_since_settled(item: Call, outcome: Mapping[str, Any]) -> bool:
    """A retried webhook after the call settled: the stored record still holds, so the
    caller's history (which already has this call) needs no new request."""
    stored = (item.rec or {}).get("classification")
    if not outcome["settled"] or stored is None or not item.completed_sig:
        return False
    rebuilt = record.build(item.ctx, outcome, stored, (item.rec or {}).get("classification_final"))
    return record.signature(rebuilt) == item.rec_sig == item.completed_sig


def _write(item: Call, rec: Dict[str, Any], sig: str, announce: bool, classes: Optional[Dict[str, bool]],
           flags: Set[str] = frozenset()) -> bool:
    n = len(item.evs or ())
    actions = [Call.rec.set(rec), Call.rec_sig.set(sig), Call.status.set(rec["status"])]
    if flags:
        actions.append(Call.spam_flags.add(set(flags)))
    names = classify.names(classes)
    actions.append(Call.classes.set(set(names)) if names else Call.classes.remove())
    if rec.get("source"):
        actions.append(Call.source.set(rec["source"]))
    if announce:
        actions.append(Call.completed_sig.set(sig))
    # Membership of the sweep's sparse index follows the record: settled calls leave it.
    settled = classes is not None   # `refresh` classifies settled calls only
    agent = agent_key(item.account_id, rec) if settled else None
    actions.append(Call.agent_key.set(agent) if agent else Call.agent_key.remove())
    actions.append(Call.unsettled.remove() if settled else Call.unsettled.set(UNSETTLED))
    unchanged = (size(Call.evs) == n) if n else Call.evs.does_not_exist()
    if announce:
        unchanged &= Call.completed_sig.does_not_exist() | (Call.completed_sig != sig)
    try:
        item.update(actions=actions, condition=unchanged)
        return True
    except UpdateError as err:
        if condition_failed(err):
            return False
        raise


def classify_call(ctx: Mapping[str, Any], outcome: Mapping[str, Any]
                  ) -> Tuple[Dict[str, bool], Optional[Tuple[Dict[str, Dict[str, bool]], Set[str]]], List[str]]:
    """Add the settled call to its caller's history (idempotent) and classify it: one UpdateItem.
    Also returns what `_reclassify` is to do once this call's settling write landed: the
    later calls whose classes it changes, and its overlapping successors; and the calls of
    the spam burst it belongs to (calls/spam.py: a very short call joins the history's
    `shorts` in the same request).

    Callbacks count in the visitor's history like calls from them; anonymous callers
    have no history and no classes."""
    if not ctx.get("caller_hash"):
        return classify.none(), None, []
    settings = ctx["settings"]
    cfg = ctx.get("spam_settings") or spam.DEFAULTS
    history = CallerHistory(f"{ctx['account_id']}#{ctx['caller_hash']}")
    entry = classify.entry(ctx["started_at"], ctx["call_id"], outcome.get("talk_seconds"), settings["target_seconds"])
    actions = [CallerHistory.entries.add({entry}),
               CallerHistory.expires.set(ttl(ctx["started_at"] + settings["retention_days"] * 86400))]
    short = ctx.get("direction") == "inbound" and spam.is_short(outcome, cfg)
    if short:
        actions.append(CallerHistory.shorts.add({spam.short_entry(ctx["started_at"], ctx["call_id"],
                                                                  ctx.get("tracking_number"))}))
    history.update(actions=actions)
    _forget_expired(history, ctx["started_at"] - settings["retention_days"] * 86400)
    cycle = settings["sales_cycle_days"] * 86400
    later = {e.call_id for e in classify.parse(history.entries)
             if ctx["started_at"] < e.started_at <= ctx["started_at"] + OVERLAP_SECONDS}
    others = (classify.changed_by(history.entries, ctx["call_id"], cycle), later)
    burst = spam.burst_of(history.shorts or (), ctx["call_id"], cfg) if short else []
    return classify.classify(history.entries, ctx["call_id"], cycle), others, burst


# How long before a call another call of the same caller can have started and still be open
# when this one settles: the longest a call stays unsettled (a connect's 2 h limit, then the
# sweep's margins; calls/state.py).
OVERLAP_SECONDS = 3 * 3600


def earlier_open(ctx: Mapping[str, Any], settling: Optional[str] = None) -> bool:
    """Whether a call of the same caller that started before this one is still open (so its
    classes may still change when that one settles: it may be the caller's first). Reads the
    sweep's sparse index of open calls (few at any moment) and those calls' owners."""
    if not ctx.get("caller_hash") or ctx.get("started_at") is None:
        return False
    start = float(ctx["started_at"])
    ids = [c.call_id for c in Call.unsettled_index.query(UNSETTLED, Call.started_at.between(start - OVERLAP_SECONDS,
                                                                                              start))
           if c.call_id not in (ctx.get("call_id"), settling)]
    for offset in range(0, len(ids), 100):
        for other in Call.batch_get(ids[offset:offset + 100], consistent_read=True,
                                    attributes_to_get=["call_id", "account_id", "started_at", "unsettled", "ctx"]):
            same = other.account_id == ctx.get("account_id") and (other.ctx or {}).get("caller_hash") == ctx["caller_hash"]
            if same and other.unsettled and (other.started_at or 0) < start:   # (the index lags the table)
                return True
    return False


def caller_shorts(account_id: str, caller_hash: str) -> Set[str]:
    """The caller's very short calls as their history keeps them (calls/spam.py): one GetItem."""
    try:
        return set(CallerHistory.get(f"{account_id}#{caller_hash}").shorts or ())
    except CallerHistory.DoesNotExist:
        return set()


def _forget_expired(history: CallerHistory, horizon: float) -> None:
    """Calls older than the account's retention leave the caller's history too (privacy:
    the history would otherwise outlive the calls it describes)."""
    expired = {e for e in history.entries or () if float(e.split("|", 1)[0]) < horizon}
    shorts = {e for e in history.shorts or () if float(e.split("|", 1)[0]) < horizon}
    actions = ([CallerHistory.entries.delete(expired)] if expired else []) + (
        [CallerHistory.shorts.delete(shorts)] if shorts else [])
    if actions:
        history.update(actions=actions)


def _reclassify(ctx: Mapping[str, Any], changed: Dict[str, Dict[str, bool]], later: Iterable[str] = ()) -> None:
    """A call that completed late changes the classes of later calls of the same caller, and
    makes final those of its overlapping successors that waited on it (`classification_final`)."""
    for call_id in sorted(set(changed) | set(later)):
        if call_id == ctx["call_id"]:
            continue
        try:
            other = Call.get(call_id, consistent_read=True)
        except Call.DoesNotExist:
            continue
        if other.account_id != ctx["account_id"] or not other.rec or other.rec.get("classification") is None:
            continue
        classes = changed.get(call_id, other.rec["classification"])
        final = not earlier_open(other.ctx or {}, settling=ctx["call_id"])
        if classes == other.rec["classification"] and final == other.rec.get("classification_final"):
            continue
        rec = {**other.rec, "classification": classes, "classification_final": final}
        names = classify.names(classes)
        sig = record.signature(rec)
        announce = bool(other.completed_sig) and other.completed_sig != sig
        actions = [Call.rec.set(rec), Call.rec_sig.set(sig),
                   Call.classes.set(set(names)) if names else Call.classes.remove()]
        if announce:
            actions.append(Call.completed_sig.set(sig))
        try:
            other.update(actions=actions, condition=Call.rec_sig == other.rec_sig if other.rec_sig
                         else Call.rec_sig.does_not_exist())
        except UpdateError as err:
            if not condition_failed(err):
                raise
            continue   # a webhook rewrote it meanwhile: that writer classified it from the history
        count("CallsReclassified")   # the new `completed_sig` announces it (partners learn the new classes now)


def started_detail(ctx: Mapping[str, Any]) -> Dict[str, Any]:
    rec = record.build(ctx, {}, None)
    keys = ("account_id", "call_id", "conversation_uuid", "tracking_number", "caller", "caller_hash", "direction",
            "started_at") + record.ATTRIBUTION_KEYS
    detail = {k: rec[k] for k in keys}
    return publishing.without_pii(detail, (ctx.get("settings") or {}).get("pii_policy", "hash"))


def routed_detail(ctx: Mapping[str, Any], outcome: Mapping[str, Any], at: Optional[float]) -> Dict[str, Any]:
    policy = (ctx.get("settings") or {}).get("pii_policy", "hash")
    return {
        "account_id": ctx["account_id"], "call_id": ctx["call_id"], "conversation_uuid": ctx.get("conversation_uuid"),
        "tracking_number": ctx.get("tracking_number"), "caller": ctx.get("caller") if policy == "plain" else None,
        "caller_hash": ctx.get("caller_hash"), "direction": ctx.get("direction"), "routed_at": iso(at),
        "department": outcome.get("department"), "destination": outcome.get("destination"),
        "agent": outcome.get("agent"), "ivr_path": outcome.get("ivr_path") or [],
        "within_working_hours": ctx.get("within_working_hours"),
    }
