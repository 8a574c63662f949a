"""A call's transcript, read once it is announced: fetched, redacted, stored, and the
account's rules run on it (docs/intelligence.md).

`analyze(call_id)` is idempotent: a call already analysed for the announced transcript is
left as it is, so a repeated trigger costs one GetItem. Steps:
1. the call item's announcement (`Call.transcript`, kept by the transcription webhook);
2. the transcript file, fetched like recordings are (Vonage's hosts with the application's
   JWT; locally, a stand-in's URL) and read by its engine into utterances;
3. redaction (the account's `redaction` section; the business's own numbers — the
   tracking number, the business line, the default number — stay readable);
4. the redacted transcript in the transcripts table (expiring with the call);
5. the rules (the account's `call_rules` section, else the starter rules) over the
   utterances and the call's facts; the outcome on the call item (`analysis`), written only
   while the call still has no analysis for this transcript.
"""
from __future__ import annotations

import json
import time
import zlib
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.calls.models import Call
from chalicelib.intelligence import redaction, rules, transcripts
from chalicelib.intelligence.models import Transcript

Clock = Callable[[], float]
Fetch = Callable[[str], bytes]
MAX_TRANSCRIPT_BYTES = 5 * 1024 * 1024


class NotReady(Exception):
    """The call has no announced transcript (yet)."""


def _fetch(url: str) -> bytes:
    from chalicelib.reports import recordings

    return recordings.fetch(url).body


def facts_of(item: Call, tz: ZoneInfo) -> Dict[str, Any]:
    """The call and session facts rules compare (rules.FACTS)."""
    rec = dict(item.rec or {})
    started = item.started_at or 0
    local = datetime.fromtimestamp(float(started), tz) if started else None
    classes = set(item.classes or ())
    return {
        **{k: rec.get(k) for k in ("status", "talk_seconds", "wait_seconds", "duration_seconds", "source", "medium",
                                   "campaign", "keyword", "device", "direction", "ivr_path", "tracking_number",
                                   "department", "country")},
        "hour": local.hour if local else None, "weekday": local.weekday() if local else None,
        "first_call": "unique" in classes, "repeat_caller": "repeated" in classes,
        "tags": list(item.tags or []), "voicemail": rec.get("status") == "voicemail",
    }


def business_numbers(item: Call, account: Any) -> List[str]:
    ctx = item.ctx or {}
    plan = ctx.get("plan") or {}
    return [n for n in (ctx.get("tracking_number"), plan.get("destination"), getattr(account, "default_number", None))
            if isinstance(n, str)]


def analyze(call_id: str, fetch: Optional[Fetch] = None, clock: Clock = time.time) -> Optional[Dict[str, Any]]:
    """Analyse the call's announced transcript; returns the analysis (None: nothing to do)."""
    from chalicelib.accounts import get_account
    from chalicelib.intelligence.starter import STARTER_RULES
    from chalicelib.reports.filters import zone

    try:
        item = Call.get(call_id, consistent_read=True)
    except DoesNotExist:
        return None
    note = item.transcript or {}
    if not note.get("url") or not item.account_id:
        raise NotReady(f"call {call_id} has no announced transcript")
    if item.analysis_url == note["url"]:
        return dict(item.analysis or {})
    raw = (fetch or _fetch)(note["url"])
    if len(raw) > MAX_TRANSCRIPT_BYTES:
        raise transcripts.TranscriptError("transcript larger than 5 MB")
    try:
        document = json.loads(raw)
    except ValueError as err:
        raise transcripts.TranscriptError("the transcript is not JSON") from err
    segments = transcripts.ENGINES[note.get("engine") or "vonage"].segments(document)

    account = get_account(item.account_id)
    config = account.config or {}
    ours = business_numbers(item, account)
    clean: List[transcripts.Segment] = []
    redacted = 0
    for s in segments:
        r = redaction.redact(s.utterance.text, ours, config.get("redaction"))
        redacted += r.total
        u = s.utterance
        clean.append(transcripts.Segment(rules.Utterance(u.speaker, u.start, u.end, r.text), s.sentiment, s.confidence))
    now = clock()
    Transcript(call_id, account_id=item.account_id, engine=note.get("engine") or "vonage",
               segments=zlib.compress(json.dumps([s.as_dict() for s in clean]).encode(), 6), redacted=redacted,
               created_at=now, expires=item.expires).save()

    said = transcripts.utterances(clean)
    rec = item.rec or {}
    facts = {**facts_of(item, zone(account.settings.timezone)),
             **rules.derived_facts(said, float(rec.get("duration_seconds") or 0) or None)}
    chosen = config.get("call_rules")
    outcome = rules.evaluate(STARTER_RULES if chosen is None else chosen, said, facts,     # []: rules off
                             float(item.value) if item.value is not None else None)
    analysis = {**outcome.as_dict(), "transcript_url": note["url"], "engine": note.get("engine") or "vonage",
                "rules": "starter" if chosen is None else "account", "redacted": redacted,
                "caller_sentiment": transcripts.sentiment(clean, "caller"), "analyzed_at": now}
    try:
        Call(call_id).update(actions=[Call.analysis.set(analysis), Call.analysis_url.set(note["url"])],
                             condition=Call.analysis_url.does_not_exist() | (Call.analysis_url != note["url"]))
    except UpdateError as err:
        if err.cause_response_code != "ConditionalCheckFailedException":
            raise
    return analysis


def transcript_of(account_id: str, call_id: str) -> Optional[List[Dict[str, Any]]]:
    """The stored, redacted transcript of one of the account's calls."""
    try:
        t = Transcript.get(call_id)
    except DoesNotExist:
        return None
    if t.account_id != account_id:
        return None
    return json.loads(zlib.decompress(t.segments))


def transcript_view(account_id: str, call_id: str) -> Dict[str, Any]:
    """The API's answer: the redacted transcript and the analysis, or NotFound (also for
    another account's call, and for a call with no transcript yet)."""
    from chalicelib.calls import store
    from chalicelib.errors import NotFound

    store.get_call(account_id, call_id)                    # NotFound for a call not of this account
    segments = transcript_of(account_id, call_id)
    if segments is None:
        raise NotFound(f"call '{call_id}' has no transcript")
    item = Call.get(call_id)
    return {"call_id": call_id, "segments": segments, "analysis": item.analysis}


MAX_DRY_RUN_CALLS = 2000
MAX_DRY_RUN_DAYS = 92
MAX_DRY_RUN_MATCHES = 200
DRY_RUN_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["from", "to"],
    "properties": {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                   "rules": rules.RULES_SCHEMA},
    "$defs": rules.RULES_SCHEMA["$defs"],
}


def _transcripts(call_ids: List[str]) -> Dict[str, List[rules.Utterance]]:
    """The stored transcripts of these calls (BatchGetItem, 100 keys a request)."""
    out: Dict[str, List[rules.Utterance]] = {}
    for t in Transcript.batch_get(call_ids):
        out[t.call_id] = [rules.Utterance(s["speaker"], float(s["start"]), float(s["end"]), s["text"])
                          for s in json.loads(zlib.decompress(t.segments))]
    return out


def dry_run(account_id: str, body: Mapping[str, Any], clock: Clock = time.time) -> Dict[str, Any]:
    """Which of the range's calls these rules (or the saved ones) would tag, label and score,
    without changing any call. Reads the range's call items and their stored transcripts
    only (never sessions); at most MAX_DRY_RUN_CALLS calls, newest first. A call without a
    transcript is judged on its facts (its phrase and regex conditions match nothing)."""
    from datetime import date, timedelta

    from chalicelib.accounts import get_account
    from chalicelib.calls import store
    from chalicelib.errors import ValidationFailed
    from chalicelib.intelligence.starter import STARTER_RULES
    from chalicelib.reports.filters import zone

    account = get_account(account_id, clock)
    tz = zone(account.settings.timezone)
    try:
        first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    except ValueError as err:
        raise ValidationFailed(f"from/to: {err}") from err
    if first > last or (last - first).days >= MAX_DRY_RUN_DAYS:
        raise ValidationFailed(f"from must not be after to, and the range at most {MAX_DRY_RUN_DAYS} days")
    chosen = body.get("rules")
    if chosen is None:
        saved = (account.config or {}).get("call_rules")
        chosen = STARTER_RULES if saved is None else saved
    try:
        rules.check(chosen)
    except rules.RuleError as err:
        raise ValidationFailed(f"rules: {err}") from err
    since = datetime.combine(first, datetime.min.time(), tz).timestamp()
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz).timestamp() - 0.001
    items = store.call_items(account_id, since, until, MAX_DRY_RUN_CALLS + 1)
    truncated = len(items) > MAX_DRY_RUN_CALLS
    items = items[:MAX_DRY_RUN_CALLS]
    said = _transcripts([i.call_id for i in items if i.analysis_url or i.transcript])
    by_rule: Dict[str, int] = {r["id"]: 0 for r in chosen}
    by_lead: Dict[str, int] = {}
    matched: List[Dict[str, Any]] = []
    count = 0
    for item in items:
        utterances = said.get(item.call_id, [])
        rec = item.rec or {}
        facts = {**facts_of(item, tz), **rules.derived_facts(utterances, float(rec.get("duration_seconds") or 0) or None)}
        if not utterances:
            facts.update(caller_words=None, agent_words=None, silence=None)   # unknown, not "silent"
        outcome = rules.evaluate(chosen, utterances, facts, float(item.value) if item.value is not None else None)
        if not outcome.fired:
            continue
        count += 1
        for f in outcome.fired:
            by_rule[f.rule_id] = by_rule.get(f.rule_id, 0) + 1
        if outcome.lead:
            by_lead[outcome.lead] = by_lead.get(outcome.lead, 0) + 1
        if len(matched) < MAX_DRY_RUN_MATCHES:
            matched.append({"call_id": item.call_id, "started_at": rec.get("started_at"), "score": outcome.score,
                            "lead": outcome.lead, "tags": outcome.tags,
                            "rules": [f.rule_id for f in outcome.fired]})
    return {"from": first.isoformat(), "to": last.isoformat(), "calls_read": len(items), "truncated": truncated,
            "with_transcript": len(said), "calls_matched": count, "by_rule": by_rule, "by_lead": by_lead, "calls": matched}


def summary(analysis: Mapping[str, Any]) -> Dict[str, Any]:
    """What leaves the system about an analysis (never the transcript's text)."""
    return {"score": analysis.get("score"), "lead": analysis.get("lead"), "tags": list(analysis.get("tags") or []),
            "rules": [f.get("rule") for f in analysis.get("fired") or []]}
