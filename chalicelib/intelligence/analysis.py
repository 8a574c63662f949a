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
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from chalicelib.calls.models import Call
from chalicelib.intelligence import redaction, rules, transcripts
from chalicelib.intelligence.models import Transcript

Clock = Callable[[], float]
MAX_TRANSCRIPT_BYTES = 5 * 1024 * 1024


class NotReady(Exception):
    """The call has no announced transcript (yet)."""


def _fetch(url: str) -> bytes:
    from chalicelib.reports import recordings

    return recordings.fetch(url).body


def _tag_words(tags: Any) -> List[str]:
    """Tags as rules compare them: each tag's value and `category:value`."""
    out: List[str] = []
    for t in tags or []:
        if isinstance(t, Mapping):
            value = str(t.get("value"))
            out += [value, f"{t.get('category')}:{value}"]
        elif isinstance(t, str):
            out.append(t)
    return out


def facts_of(call: Mapping[str, Any], tz: ZoneInfo, said: Sequence[rules.Utterance] = (),
             transcribed: bool = True) -> Dict[str, Any]:
    """The facts rules compare (rules.FACTS), from the call's API record (`calls.store.to_api`)
    and what was said. Without a transcript the transcript's own facts are unknown, not
    "silent"."""
    from chalicelib.times import epoch

    started = epoch(call.get("started_at"))
    local = datetime.fromtimestamp(started, tz) if started is not None else None
    classes = call.get("classification") or {}
    facts = {
        **{k: call.get(k) for k in ("status", "talk_seconds", "wait_seconds", "duration_seconds", "source", "medium",
                                    "campaign", "keyword", "device", "direction", "ivr_path", "tracking_number",
                                    "department", "country")},
        "hour": local.hour if local else None, "weekday": local.weekday() if local else None,
        "first_call": bool(classes.get("unique")), "repeat_caller": bool(classes.get("repeated")),
        "tags": _tag_words(call.get("tags")), "voicemail": call.get("status") == "voicemail",
    }
    if transcribed:
        facts.update(rules.derived_facts(said, float(call.get("duration_seconds") or 0) or None))
    else:
        facts.update(caller_words=None, agent_words=None, silence=None)
    return facts


def rules_of(account: Any) -> Tuple[List[Dict[str, Any]], str]:
    """The account's saved rules, else the starter rules; `[]` turns rules off."""
    from chalicelib.intelligence.starter import STARTER_RULES

    saved = (account.config or {}).get("call_rules")
    return (STARTER_RULES, "starter") if saved is None else (list(saved), "account")


def business_numbers(item: Call, account: Any) -> List[str]:
    ctx = item.ctx or {}
    plan = ctx.get("plan") or {}
    return [n for n in (ctx.get("tracking_number"), plan.get("destination"), getattr(account, "default_number", None))
            if isinstance(n, str)]


def _pack(segments: Sequence[transcripts.Segment]) -> bytes:
    return zlib.compress(json.dumps([s.as_dict() for s in segments]).encode(), 6)


def _unpack(t: Transcript) -> List[Dict[str, Any]]:
    return json.loads(zlib.decompress(t.segments))


def _said(segments: Sequence[Mapping[str, Any]]) -> List[rules.Utterance]:
    return [rules.Utterance(s["speaker"], float(s["start"]), float(s["end"]), s["text"]) for s in segments]


def analyze(call_id: str, clock: Clock = time.time) -> Optional[Dict[str, Any]]:
    """Analyse the call's announced transcript; returns the analysis (None: no such call)."""
    try:
        item = Call.get(call_id, consistent_read=True)
    except DoesNotExist:
        return None
    note = item.transcript or {}
    if not note.get("url") or not item.account_id:
        raise NotReady(f"call {call_id} has no announced transcript")
    if item.analysis_url == note["url"]:
        return dict(item.analysis or {})
    raw = _fetch(note["url"])
    if len(raw) > MAX_TRANSCRIPT_BYTES:
        raise transcripts.TranscriptError("transcript larger than 5 MB")
    try:
        document = json.loads(raw)
    except ValueError as err:
        raise transcripts.TranscriptError("the transcript is not JSON") from err
    return analyze_document(item, document, note, clock)


def analyze_document(item: Call, document: Mapping[str, Any], note: Mapping[str, Any],
                     clock: Clock = time.time) -> Dict[str, Any]:
    """Redact, keep and analyse one fetched transcript document of the call (the demo feeds
    its generated transcripts through here too)."""
    from chalicelib.accounts import get_account
    from chalicelib.calls import lifecycle, spam, store
    from chalicelib.reports.filters import zone

    call_id = item.call_id
    engine = note.get("engine") or "vonage"
    segments = transcripts.ENGINES[engine].segments(document)

    account = get_account(item.account_id)
    ours = business_numbers(item, account)
    clean: List[transcripts.Segment] = []
    redacted = 0
    for s in segments:
        r = redaction.redact(s.utterance.text, ours, (account.config or {}).get("redaction"))
        redacted += r.total
        u = s.utterance
        clean.append(transcripts.Segment(rules.Utterance(u.speaker, u.start, u.end, r.text), s.sentiment, s.confidence))
    now = clock()
    Transcript(call_id, account_id=item.account_id, engine=engine, segments=_pack(clean), redacted=redacted,
               created_at=now, expires=item.expires).save()

    said = transcripts.utterances(clean)
    chosen, whose = rules_of(account)
    facts = facts_of(store.to_api(item), zone(account.settings.timezone), said)
    outcome = rules.evaluate(chosen, said, facts, float(item.value) if item.value is not None else None)
    analysis = {**outcome.as_dict(), "transcript_url": note["url"], "engine": engine, "rules": whose,
                "redacted": redacted, "caller_sentiment": transcripts.sentiment(clean, "caller"), "analyzed_at": now}
    from chalicelib.intelligence import learning

    learned_score = learning.scored(item.account_id, said, facts)
    if learned_score is not None:
        analysis["learned"] = learned_score        # the account's own model, beside the rules' score
    lifecycle.keep_analysis(call_id, analysis, note["url"],
                            spam.transcript_reasons(outcome.lead, facts, spam.settings_of(account.config)))
    return analysis


def transcript_of(account_id: str, call_id: str) -> Optional[List[Dict[str, Any]]]:
    """The stored, redacted transcript of one of the account's calls."""
    try:
        t = Transcript.get(call_id)
    except DoesNotExist:
        return None
    return _unpack(t) if t.account_id == account_id else None


def transcript_view(account_id: str, call_id: str) -> Dict[str, Any]:
    """The API's answer: the redacted transcript and the analysis, or NotFound (also for
    another account's call, and for a call with no transcript yet)."""
    from chalicelib.calls import store
    from chalicelib.errors import NotFound

    item = store.item_of(account_id, call_id)             # NotFound for a call not of this account
    segments = transcript_of(account_id, call_id)
    if segments is None:
        raise NotFound(f"call '{call_id}' has no transcript")
    return {"call_id": call_id, "segments": segments, "analysis": item.analysis}


def summary(analysis: Mapping[str, Any]) -> Dict[str, Any]:
    """What leaves the system about an analysis (`Call Analyzed`, calls/outbox.py): never
    the transcript's text."""
    return {"score": int(analysis.get("score") or 0), "lead": analysis.get("lead"),
            "tags": list(analysis.get("tags") or []),
            "rules_fired": [{"rule": f.get("rule"), "name": f.get("name") or f.get("rule"),
                             "score": (f.get("effects") or {}).get("score")} for f in analysis.get("fired") or []],
            "value": analysis.get("value"), "caller_sentiment": analysis.get("caller_sentiment")}


# --- dry runs ----------------------------------------------------------------------------

DRY_RUN_PAGE = 500                 # calls read per request; `next` continues
MAX_DRY_RUN_DAYS = 92
MAX_DRY_RUN_MATCHES = 200
DRY_RUN_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["from", "to"],
    "properties": {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                   "rules": rules.RULES_SCHEMA, "next": {"type": "string", "maxLength": 2048}},
    "$defs": rules.RULES_SCHEMA["$defs"],
}


def local_range(body: Mapping[str, Any], tz: ZoneInfo, max_days: int) -> Tuple[Any, Any, float, float]:
    """A body's `from`/`to` dates: (first, last, since, until), whole days in the account's
    timezone; ValidationFailed for a bad or too long range."""
    from datetime import date, timedelta

    from chalicelib.errors import ValidationFailed

    try:
        first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    except ValueError as err:
        raise ValidationFailed(f"from/to: {err}") from err
    if first > last or (last - first).days >= max_days:
        raise ValidationFailed(f"from must not be after to, and the range at most {max_days} days")
    since = datetime.combine(first, datetime.min.time(), tz).timestamp()
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz).timestamp() - 0.001
    return first, last, since, until


def dry_run(account_id: str, body: Mapping[str, Any], clock: Clock = time.time) -> Dict[str, Any]:
    """Which of a range's calls these rules (or the saved ones) would tag, label and score,
    without changing any call: one page of up to DRY_RUN_PAGE calls, newest first, and the
    `next` cursor of the rest. Reads the page's calls and their stored transcripts only
    (never sessions). A call without a transcript is judged on its facts (its phrase and
    regex conditions match nothing)."""

    from chalicelib.accounts import get_account
    from chalicelib.calls import store
    from chalicelib.errors import ValidationFailed
    from chalicelib.reports.filters import zone

    account = get_account(account_id, clock)
    tz = zone(account.settings.timezone)
    first, last, since, until = local_range(body, tz, MAX_DRY_RUN_DAYS)
    chosen = body["rules"] if body.get("rules") is not None else rules_of(account)[0]
    try:
        rules.check(chosen)
    except rules.RuleError as err:
        raise ValidationFailed(f"rules: {err}") from err
    calls, cursor = store.page_calls(account_id, since, until, limit=DRY_RUN_PAGE, cursor=body.get("next"))
    stored = {t.call_id: _said(_unpack(t)) for t in Transcript.batch_get([c["call_id"] for c in calls])
              if t.account_id == account_id}
    by_rule: Dict[str, int] = {r["id"]: 0 for r in chosen}
    by_lead: Dict[str, int] = {}
    matched: List[Dict[str, Any]] = []
    count = 0
    for call in calls:
        said = stored.get(call["call_id"], [])
        outcome = rules.evaluate(chosen, said, facts_of(call, tz, said, transcribed=call["call_id"] in stored),
                                 call.get("value"))
        if not outcome.fired:
            continue
        count += 1
        for f in outcome.fired:
            by_rule[f.rule_id] = by_rule.get(f.rule_id, 0) + 1
        if outcome.lead:
            by_lead[outcome.lead] = by_lead.get(outcome.lead, 0) + 1
        if len(matched) < MAX_DRY_RUN_MATCHES:
            matched.append({"call_id": call["call_id"], "started_at": call.get("started_at"), "score": outcome.score,
                            "lead": outcome.lead, "tags": outcome.tags, "rules": [f.rule_id for f in outcome.fired]})
    return {"from": first.isoformat(), "to": last.isoformat(), "calls_read": len(calls), "with_transcript": len(stored),
            "calls_matched": count, "by_rule": by_rule, "by_lead": by_lead, "calls": matched, "next": cursor}
