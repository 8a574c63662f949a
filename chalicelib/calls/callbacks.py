"""Callbacks from the website widget: Vonage dials the business first, then connects
the visitor. An attempt the visitor (or the business) does not answer is retried up
to the account's `routing.callback.retries`; a callback whose visitor never answered
is flagged `suspected_false_conversion` (the number left was probably not theirs).

Retries start from the event webhook that reports the attempt over; a conditional
write of the attempt counter makes sure one webhook (of Vonage's retries) dials.
"""
from __future__ import annotations

import secrets
import time
from typing import Any, Callable, Dict, Mapping, Optional

from pynamodb.exceptions import UpdateError

from chalicelib import accounts
from chalicelib.calls import attribution, lifecycle, ncco, record, routing, state
from chalicelib.calls.models import Call
from chalicelib.calls.vonage_client import VonageUnavailable, calls
from chalicelib.db import condition_failed
from chalicelib.dni import useragent
from chalicelib.errors import Conflict, Forbidden
from chalicelib.geo.phone import digits, to_e164
from chalicelib.observability import count, logger

Clock = Callable[[], float]

REQUEST_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["account", "phone"],
    "properties": {
        "account": {"type": "string", "minLength": 1, "maxLength": 64},
        "phone": {"type": "string", "minLength": 5, "maxLength": 32},
        "session_id": {"type": ["string", "null"], "maxLength": 200},
    },
}


def session_attribution(account_id: str, session_id: Optional[str]) -> Dict[str, Any]:
    """The visitor's session, when the widget sent it and it belongs to the account."""
    s = attribution.session_of(account_id, session_id)
    out = attribution.from_session(s)
    if s is not None:
        out["tracking_number"] = s.number
    return out


def plan_of(rules: Mapping[str, Any]) -> Dict[str, Any]:
    """What a callback does, decided when it is requested (see `routing.plan` for calls)."""
    return {"language": rules["language"], "destination": rules["destination"],
            "ring_seconds": rules["callback"]["ring_seconds"], "retries": rules["callback"]["retries"],
            "agent_prompt": rules["callback"]["agent_prompt"]}


def request(body: Mapping[str, Any], links: ncco.Links, clock: Clock = time.time, origin: Optional[str] = None,
            user_agent: str = "") -> Dict[str, Any]:
    """Record the callback, announce it and dial the business. Returns `{callback_id}`.
    Only a browser on the account's own site may ask (the lease's checks): anything else
    would make the business's phone ring, and Vonage dial, at the account's cost."""
    account = accounts.get_account(body["account"])
    client = to_e164(body["phone"])
    if useragent.is_bot(user_agent) or not account.allows_origin(origin):
        count("CallbacksRefused")
        raise Forbidden("callbacks are requested from the account's own website")
    rules = routing.routing_of(account.config)
    if not rules.get("destination"):
        raise Conflict("this account has no routing destination to call back from")
    now = clock()
    attrib = session_attribution(account.account_id, body.get("session_id"))
    caller_id = attrib.pop("tracking_number", None) or account.default_number
    call_id = "cb-" + secrets.token_hex(12)
    ctx = {
        "account_id": account.account_id, "call_id": call_id, "conversation_uuid": None, "caller_uuid": None,
        "tracking_number": caller_id, "caller": client, "caller_hash": record.caller_hash(client),
        "direction": "callback", "started_at": now,
        "within_working_hours": routing.within_working_hours(account.settings, now), "attribution": attrib,
        "plan": plan_of(rules),
        "settings": lifecycle.settings_snapshot(account.settings),
    }
    lifecycle.open_call(ctx)     # the stored context announces `Callback Requested` (calls/outbox.py)
    if claim_attempt(call_id, 1):
        dial(ctx, 1, links, clock)
    return {"callback_id": call_id}


def claim_attempt(call_id: str, attempt: int) -> bool:
    """Exactly one caller starts each attempt."""
    condition = Call.attempts.does_not_exist() if attempt == 1 else (Call.attempts == attempt - 1)
    try:
        Call(call_id).update(actions=[Call.attempts.set(attempt)], condition=condition)
        return True
    except UpdateError as err:
        if condition_failed(err):
            return False
        raise


def dial(ctx: Mapping[str, Any], attempt: int, links: ncco.Links, clock: Clock = time.time) -> None:
    """Ask Vonage to ring the business; its NCCO then connects the visitor."""
    plan, call_id = ctx["plan"], ctx["call_id"]
    actions = ncco.callback_agent(plan, links, call_id, attempt, ctx["tracking_number"], ctx["caller"],
                                  plan["agent_prompt"])
    event_url = links.url("/vonage/events", call=call_id, leg="agent", attempt=attempt)
    try:
        calls().create(digits(plan["destination"]), digits(ctx["tracking_number"]), actions, event_url,
                       ringing_timer=int(plan["ring_seconds"]), machine_detection=ncco.MACHINE_DETECTION_HANGUP)
        count("CallbacksDialled")
    except VonageUnavailable as err:
        # The attempt failed before ringing: record it as such so retries and the final status proceed.
        logger.warning("callback not dialled", extra={"call_id": call_id, "attempt": attempt, "error": str(err)})
        count("CallbacksDialFailed")
        fact = {"k": "leg", "r": "agent", "a": attempt, "u": f"not-dialled-{attempt}", "s": "failed",
                "t": round(clock(), 3), "det": "dial_failed"}
        item = lifecycle.add_fact(call_id, fact)
        lifecycle.refresh(item, clock)
        maybe_retry(item, links, clock)


def maybe_retry(item: Call, links: ncco.Links, clock: Clock = time.time) -> None:
    nxt = state.next_callback_attempt(item.ctx or {}, item.evs or ())
    if nxt is not None and claim_attempt(item.call_id, nxt):
        dial(item.ctx, nxt, links, clock)
