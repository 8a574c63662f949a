"""What each Vonage webhook does: the answer (an NCCO), call events, IVR input,
recordings, the agent's post-call tagging menu. Routes in `api.py` call these.

The answer path is Vonage's critical wait (the caller hears silence meanwhile): it
reads the number (GetItem), the number's lease history (one Query, pool numbers only)
and writes the call (one UpdateItem); the account comes from the container cache.
Everything else happens on the event webhooks; no webhook calls the bus (events leave
through the calls stream, calls/outbox.py).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from chalicelib import accounts
from chalicelib.calls import attribution, lifecycle, ncco, outage, record, routing, spam, state, tagging
from chalicelib.calls.models import Call
from chalicelib.dni.models import Number
from chalicelib.errors import ServiceUnavailable, UnknownAccount, ValidationFailed
from chalicelib.geo.phone import to_e164
from chalicelib.observability import count, logger

Clock = Callable[[], float]


MAX_ID_LENGTH = 200


def call_id_of(query: Mapping[str, Any], payload: Mapping[str, Any]) -> Optional[str]:
    """Our call id (in the URLs we hand Vonage) or the conversation; None when unusable."""
    value = query.get("call") or payload.get("conversation_uuid")
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH else None


def phone_or_none(raw: Any) -> Optional[str]:
    try:
        return to_e164(str(raw)) if raw else None
    except ValidationFailed:
        return None


def answer(params: Mapping[str, Any], links: ncco.Links, clock: Clock = time.time) -> ncco.Ncco:
    """The NCCO for an inbound call; a short message for numbers we do not track. Within
    Vonage's wait whatever the database does: past the budget, or if it fails, the caller
    is connected to the business line without attribution (calls/outage.py)."""
    tracking, conversation = phone_or_none(params.get("to")), call_id_of({}, params)
    if not tracking or not conversation:
        count("CallsUnknownNumber")
        return ncco.unknown_number()
    caller = phone_or_none(params.get("from"))
    late = threading.Event()
    done, actions = outage.guarded(lambda: _answer(params, tracking, caller, conversation, links, clock, late),
                                   outage.WEBHOOK_BUDGET_SECONDS, "answer")
    if done and actions is not None:
        return actions
    late.set()          # the overrunning answer must not open the call: the degraded path's events do
    return outage.answer(tracking, caller, conversation, links, clock)


def _answer(params: Mapping[str, Any], tracking: str, caller: Optional[str], conversation: str,
            links: ncco.Links, clock: Clock, late: threading.Event) -> Optional[ncco.Ncco]:
    try:
        item = Number.get(tracking)
        account = accounts.get_account(item.account_id)
    except (Number.DoesNotExist, UnknownAccount):
        count("CallsUnknownNumber")
        logger.info("call to an untracked number", extra={"to": tracking})
        return ncco.unknown_number()
    now = clock()
    ctx = inbound_context(account, item, tracking, caller, conversation, params.get("uuid"), now)
    screen(ctx, spam.settings_of(account.config))
    # Remembered before the write: should the write stall, the degraded answer knows the line.
    outage.remember(tracking, conversation, ctx["plan"])
    if late.is_set():
        return None
    item = lifecycle.open_call(ctx)
    if item.evs:
        # The caller leg's first event raced ahead of this answer and could not mark the call started.
        lifecycle.mark_once(item.call_id, "started")
    count("CallsAnswered")
    return ncco.answer(ctx["plan"], links, conversation, tracking, ctx["attribution"].get("source"))


def screen(ctx: Dict[str, Any], cfg: Mapping[str, Any]) -> None:
    """Spam before the call (calls/spam.py): a caller on the block list gets the blocked
    NCCO instead of the plan (and the call its first reason); on a number under attack the
    plan starts with the press-a-key check."""
    plan = ctx["plan"]
    if spam.blocked(cfg, ctx.get("caller"), ctx.get("caller_hash")):
        ctx["plan"] = {**plan, "action": "blocked", "blocked_ncco": spam.blocked_ncco(cfg, plan["language"]),
                       "greeting": None, "message": None, "ivr": None, "record": False, "voicemail": None,
                       "whisper": False, "tagging": False}
        ctx["spam"] = ["blocked"]
        count("CallsBlocked")
        return
    check = spam.challenge_of(cfg, ctx["tracking_number"])
    if check is not None:
        ctx["plan"] = {**plan, "challenge": check}


def challenge_input(payload: Mapping[str, Any], query: Mapping[str, Any], links: ncco.Links,
                    clock: Clock = time.time) -> ncco.Ncco:
    """The caller's key at the press-a-key check, within Vonage's wait (calls/outage.py)."""
    done, actions = outage.guarded(lambda: _challenge_input(payload, query, links, clock),
                                   outage.WEBHOOK_BUDGET_SECONDS, "challenge input")
    if done and actions is not None:
        return actions
    return outage.challenge_input(payload, call_id_of(query, payload), links)


def _challenge_input(payload: Mapping[str, Any], query: Mapping[str, Any], links: ncco.Links,
                     clock: Clock) -> ncco.Ncco:
    """The right key: the rest of the plan (greeting, menu, connect…); else goodbye (the
    call settles `rejected`, with the spam reason `challenge`)."""
    keyed = _keyed(payload, query, "challenge", clock)
    if keyed is None:
        return ncco.unknown_number()
    call_id, fact, item = keyed
    ctx = item.ctx or {}
    plan = ctx.get("plan")
    if not plan:
        return ncco.unknown_number()
    if not state.challenge_passed(plan, fact["d"]):
        count("CallsFailedChallenge")
        return [ncco.talk(spam.CHALLENGE_FAILED_TEXT, plan["language"])]
    return ncco.answer(plan, links, call_id, ctx["tracking_number"], (ctx.get("attribution") or {}).get("source"),
                       checked=True)


def degraded_plan(plan: Mapping[str, Any], destination: Optional[str]) -> Dict[str, Any]:
    """The plan a call answered during an outage actually ran: straight to the line."""
    return {**plan, "action": "connect", "greeting": None, "ivr": None, "whisper": False, "record": False,
            "tagging": False, "steps": False, "degraded": True, "challenge": None, "blocked_ncco": None,
            "destination": destination or plan.get("destination")}


def open_degraded(call_id: str, query: Mapping[str, Any], destination: Optional[str], item: Call) -> Optional[Call]:
    """Open a call answered during an outage (calls/outage.py) from what its connect's event
    URL carries: attributed as of its start, routed straight to the line it reached. If the
    answer that overran wrote its own context after all, its plan (greeting, menu,
    recording…) never ran: the degraded plan replaces it."""
    if item.ctx is not None:
        if (item.ctx.get("plan") or {}).get("degraded"):
            return item
        actions = [Call.ctx.set({**item.ctx, "plan": degraded_plan(item.ctx.get("plan") or {}, destination)})]
        if (item.ctx.get("plan") or {}).get("action") == "blocked":
            # The block list was never played: the caller was put through, so the call is no
            # blocked call (calls/spam.py).
            actions.append(Call.spam_flags.delete({"blocked"}))
        item.update(actions=actions)
        return item
    tracking = phone_or_none(query.get("tracking"))
    try:
        started = float(query.get("at") or "")
    except ValueError:
        return None
    if not tracking or not state.EARLIEST <= started <= state.LATEST:
        return None
    try:
        number = Number.get(tracking)
        account = accounts.get_account(number.account_id)
    except (Number.DoesNotExist, UnknownAccount):
        return None
    ctx = inbound_context(account, number, tracking, phone_or_none(query.get("caller")), call_id, None, started)
    ctx["plan"] = degraded_plan(ctx["plan"], destination)
    count("CallsRecordedAfterOutage")
    item = lifecycle.open_call(ctx)
    lifecycle.mark_once(call_id, "started")
    return item


def inbound_context(account: accounts.AccountView, item: Number, tracking: str, caller: Optional[str],
                    conversation: str, uuid: Optional[str], now: float) -> Dict[str, Any]:
    settings = account.settings
    in_hours = routing.within_working_hours(settings, now)
    return {
        "account_id": account.account_id, "call_id": conversation, "conversation_uuid": conversation,
        "caller_uuid": uuid, "tracking_number": tracking, "caller": caller, "caller_hash": record.caller_hash(caller),
        "direction": "inbound", "started_at": now, "within_working_hours": in_hours,
        "attribution": attribution.attribute(item, now, settings.grace_seconds, record.caller_hash(caller),
                                             settings.repeat_caller_days * 86400.0),
        "plan": routing.plan(routing.routing_of(account.config), in_hours),
        "settings": lifecycle.settings_snapshot(settings),
        # What settling needs to find spam bursts (not the block list: it can be long).
        "spam_settings": {"burst": spam.settings_of(account.config)["burst"]},
    }


def event(payload: Mapping[str, Any], query: Mapping[str, Any], links: ncco.Links,
          clock: Clock = time.time) -> Optional[ncco.Ncco]:
    """A call status event of any leg, within Vonage's wait (calls/outage.py)."""
    done, actions = outage.guarded(lambda: _event(payload, query, links, clock), outage.WEBHOOK_BUDGET_SECONDS,
                                   "event")
    if done:
        return actions
    return outage.event(payload, query, call_id_of(query, payload), links)


def _event(payload: Mapping[str, Any], query: Mapping[str, Any], links: ncco.Links,
           clock: Clock = time.time) -> Optional[ncco.Ncco]:
    """Answers an NCCO only where Vonage acts on one: the synchronous result of our
    `connect` (ring timeout, busy…) → voicemail."""
    attempt = _int(query.get("attempt"))
    fact = state.fact_of(payload, "event", leg=query.get("leg"), attempt=attempt)
    call_id = call_id_of(query, payload)
    if fact is None or not call_id:
        return None
    item = lifecycle.add_fact(call_id, fact)
    if query.get("degraded") == "1" and fact["r"] == "agent" and not ((item.ctx or {}).get("plan") or {}).get("degraded"):
        item = open_degraded(call_id, query, fact.get("to") and phone_or_none(fact["to"]), item) or item
    outcome = lifecycle.refresh(item, clock)
    if item.ctx is None or outcome is None:
        return None
    _side_effects(item, fact, outcome, links, clock)
    if fact["r"] == "agent" and item.ctx.get("direction") == "inbound" and fact["s"] in state.NO_ANSWER:
        return ncco.voicemail(item.ctx["plan"], links, call_id) or None
    return None


def _side_effects(item: Call, fact: state.Fact, outcome: Mapping[str, Any], links: ncco.Links,
                  clock: Clock) -> None:
    from chalicelib.calls import callbacks

    ctx = item.ctx
    first_leg = fact["r"] == "caller" or (ctx["direction"] == "callback" and fact["r"] == "agent")
    # The marks are what the calls stream announces (`Call Started`, `Call Routed`; calls/outbox.py).
    if first_leg and fact["s"] in ("started", "ringing", "answered") and "started" not in (item.marks or ()):
        lifecycle.mark_once(item.call_id, "started")
    if fact["r"] == "agent" and fact["s"] == "answered" and "routed" not in (item.marks or ()):
        lifecycle.mark_once(item.call_id, "routed")
    if fact["r"] == "caller" and fact["s"] in ("completed", "disconnected"):
        tagging.offer(item, links)
    if ctx["direction"] == "callback":
        callbacks.maybe_retry(item, links, clock)


def ivr_input(payload: Mapping[str, Any], query: Mapping[str, Any], links: ncco.Links,
              clock: Clock = time.time) -> ncco.Ncco:
    """The caller's menu choice, within Vonage's wait (calls/outage.py)."""
    done, actions = outage.guarded(lambda: _ivr_input(payload, query, links, clock), outage.WEBHOOK_BUDGET_SECONDS,
                                   "ivr input")
    if done and actions is not None:
        return actions
    return outage.ivr_input(payload, call_id_of(query, payload), links)


def _ivr_input(payload: Mapping[str, Any], query: Mapping[str, Any], links: ncco.Links,
               clock: Clock = time.time) -> ncco.Ncco:
    """Connect to the chosen department's destination, or say goodbye."""
    keyed = _keyed(payload, query, "ivr", clock)
    if keyed is None:
        return ncco.unknown_number()
    call_id, fact, item = keyed
    plan = (item.ctx or {}).get("plan")
    if not plan:
        return ncco.unknown_number()
    choice = routing.department_of(plan, fact["d"])
    if choice is None:
        return ncco.ivr_no_input(plan)
    ctx = item.ctx
    return ncco.connect(plan, links, call_id, ctx["tracking_number"], choice["destination"],
                        ctx["attribution"].get("source"), choice["department"])


def _keyed(payload: Mapping[str, Any], query: Mapping[str, Any], purpose: str,
           clock: Clock) -> Optional[Tuple[str, state.Fact, Call]]:
    """The keys a caller pressed (menu or check), kept as a fact; the call as it is now."""
    call_id = call_id_of(query, payload)
    if call_id is None:
        return None
    fact = state.fact_of(payload, "input", purpose=purpose)
    item = lifecycle.add_fact(call_id, fact)
    lifecycle.refresh(item, clock)
    return call_id, fact, item


def recording(payload: Mapping[str, Any], query: Mapping[str, Any], clock: Clock = time.time) -> None:
    """A recording is ready: kept as a fact. Within Vonage's wait: past the budget it is
    answered 503 so that Vonage retries it (the work that overran may land meanwhile; the
    fact is idempotent). A transcript Vonage announces at the recording's URL (when the
    transcription names none of its own) goes where transcripts go."""
    if payload.get("transcription_url"):
        return transcription(payload, query, clock)
    done, _ = outage.guarded(lambda: _recording(payload, query, clock), outage.WEBHOOK_BUDGET_SECONDS, "recording")
    if not done:
        raise ServiceUnavailable("the call store did not answer in time; Vonage will retry")


def transcription(payload: Mapping[str, Any], query: Mapping[str, Any], clock: Clock = time.time) -> None:
    """Vonage announces a recording's transcript (`status: transcribed`, `transcription_url`):
    the announcement is kept on the call, once (a conditional UpdateItem: Vonage's retries
    change nothing). Fetching, redacting and reading it happen off the webhook
    (chalicelib/intelligence); an announcement we cannot use is answered and dropped."""
    from chalicelib.intelligence.transcripts import ENGINES

    found = ENGINES["vonage"].announcement(payload)
    call_id = call_id_of(query, payload)
    if found is None or not call_id:
        count("TranscriptsUnusable")
        return

    note = {"engine": "vonage", "url": found.url, "recording_uuid": found.recording_uuid, "at": clock()}
    done, stored = outage.guarded(lambda: lifecycle.announce_transcript(call_id, note), outage.WEBHOOK_BUDGET_SECONDS,
                                  "transcription")
    if not done or not stored:   # (a 503: Vonage retries, by when the call is stored)
        raise ServiceUnavailable("the call is not stored yet; Vonage will retry")


def _recording(payload: Mapping[str, Any], query: Mapping[str, Any], clock: Clock) -> None:
    fact = state.fact_of(payload, "record", purpose="voicemail" if query.get("kind") == "voicemail" else "call")
    _keep(call_id_of(query, payload), fact, clock)


def _keep(call_id: Optional[str], fact: Optional[state.Fact], clock: Clock) -> None:
    """A fact that only needs recording (no NCCO depends on it): add it and re-derive."""
    if fact is not None and call_id:
        lifecycle.refresh(lifecycle.add_fact(call_id, fact), clock)


def count_fallback(kind: str, reason: str) -> None:
    count("VonageFallbacks")
    logger.warning("Vonage used the fallback URL", extra={"type": kind[:20], "reason": reason[:200]})


def notify(payload: Mapping[str, Any], query: Mapping[str, Any], clock: Clock = time.time) -> None:
    """Our NCCO reached a `notify` action: record the step. Vonage waits for our (empty)
    answer before the NCCO goes on, so this runs within the budget; a step lost to an
    outage only makes the call settle without waiting for its voicemail (the recording,
    when it comes, still lands)."""
    outage.guarded(lambda: _notify(payload, query, clock), outage.WEBHOOK_BUDGET_SECONDS, "notify")


def _notify(payload: Mapping[str, Any], query: Mapping[str, Any], clock: Clock) -> None:
    _keep(call_id_of(query, payload), state.notify_fact(payload, query.get("step"), clock()), clock)


def _int(raw: Any) -> Optional[int]:
    try:
        value = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if value is not None and not 1 <= value <= 20:
        return None
    return value
