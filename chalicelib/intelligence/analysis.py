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
    outcome = rules.evaluate(config.get("call_rules") or STARTER_RULES, said, facts,
                             float(item.value) if item.value is not None else None)
    analysis = {**outcome.as_dict(), "transcript_url": note["url"], "engine": note.get("engine") or "vonage",
                "rules": "account" if config.get("call_rules") else "starter", "redacted": redacted,
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


def summary(analysis: Mapping[str, Any]) -> Dict[str, Any]:
    """What leaves the system about an analysis (never the transcript's text)."""
    return {"score": analysis.get("score"), "lead": analysis.get("lead"), "tags": list(analysis.get("tags") or []),
            "rules": [f.get("rule") for f in analysis.get("fired") or []]}
