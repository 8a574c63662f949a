"""What each Vonage webhook does: the answer (an NCCO), call events, IVR input,
recordings, the agent's post-call tagging menu. Routes in `api.py` call these.

The answer path is Vonage's critical wait (the caller hears silence meanwhile): it
reads the number (GetItem), the number's lease history (one Query, pool numbers only)
and writes the call (one UpdateItem); the account comes from the container cache.
Everything else happens on the event webhooks; no webhook calls the bus (events leave
through the calls stream, calls/outbox.py).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Mapping, Optional

from chalicelib import accounts
from chalicelib.calls import attribution, lifecycle, ncco, record, routing, state, tagging
from chalicelib.calls.models import Call
from chalicelib.dni.models import Number
from chalicelib.errors import UnknownAccount, ValidationFailed
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
    """The NCCO for an inbound call; a short message for numbers we do not track."""
    tracking, conversation = phone_or_none(params.get("to")), call_id_of({}, params)
    if not tracking or not conversation:
        count("CallsUnknownNumber")
        return ncco.unknown_number()
    try:
        item = Number.get(tracking)
        account = accounts.get_account(item.account_id)
    except (Number.DoesNotExist, UnknownAccount):
        count("CallsUnknownNumber")
        logger.info("call to an untracked number", extra={"to": tracking})
        return ncco.unknown_number()
    now = clock()
    ctx = inbound_context(account, item, tracking, phone_or_none(params.get("from")), conversation,
                          params.get("uuid"), now)
    item = lifecycle.open_call(ctx)
    if item.evs:
        # The caller leg's first event raced ahead of this answer and could not mark the call started.
        lifecycle.mark_once(item.call_id, "started")
    count("CallsAnswered")
    return ncco.answer(ctx["plan"], links, conversation, tracking, ctx["attribution"].get("source"))


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
    }


def event(payload: Mapping[str, Any], query: Mapping[str, Any], links: ncco.Links,
          clock: Clock = time.time) -> Optional[ncco.Ncco]:
    """A call status event of any leg. Answers an NCCO only where Vonage acts on one:
    the synchronous result of our `connect` (ring timeout, busy…) → voicemail."""
    attempt = _int(query.get("attempt"))
    fact = state.fact_of(payload, "event", leg=query.get("leg"), attempt=attempt)
    call_id = call_id_of(query, payload)
    if fact is None or not call_id:
        return None
    item = lifecycle.add_fact(call_id, fact)
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
    """The caller's menu choice: connect to the department's destination, or say goodbye."""
    call_id = call_id_of(query, payload)
    if call_id is None:
        return ncco.unknown_number()
    fact = state.fact_of(payload, "input", purpose="ivr")
    item = lifecycle.add_fact(call_id, fact)
    lifecycle.refresh(item, clock)
    plan = (item.ctx or {}).get("plan")
    if not plan:
        return ncco.unknown_number()
    choice = routing.department_of(plan, fact["d"])
    if choice is None:
        return ncco.ivr_no_input(plan)
    ctx = item.ctx
    return ncco.connect(plan, links, call_id, ctx["tracking_number"], choice["destination"],
                        ctx["attribution"].get("source"), choice["department"])


def recording(payload: Mapping[str, Any], query: Mapping[str, Any], clock: Clock = time.time) -> None:
    fact = state.fact_of(payload, "record", purpose="voicemail" if query.get("kind") == "voicemail" else "call")
    call_id = call_id_of(query, payload)
    if fact is None or not call_id:
        return
    lifecycle.refresh(lifecycle.add_fact(call_id, fact), clock)


def _int(raw: Any) -> Optional[int]:
    try:
        value = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if value is not None and not 1 <= value <= 20:
        return None
    return value
