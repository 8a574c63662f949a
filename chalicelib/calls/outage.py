"""When the database stalls while Vonage waits: the caller is connected anyway.

Vonage gives the answer URL at most 5 s (tried twice, then the fallback URL twice, then the
call ends), and the synchronous `connect` result and IVR input the same. Those webhooks run
their database work under a time budget (`within`); when it is spent, or the database
refused, they answer from what this container remembers instead:

- the answer: connect the caller to the number's business line (remembered from this
  container's last answer for the number, else `CALLTRACK_FALLBACK_DESTINATION`), without
  attribution. The connect's event URL carries what the call needs to be recorded later
  (`degraded=1`, tracking number, caller, start time): its first event once the database is
  back opens the call, attributed as of its start (calls/webhooks.py `open_degraded`).
  With no line known at all, a short apology, never "this number is not in service";
- the business not answering: the voicemail of the call's plan (remembered), else the
  default voicemail;
- an IVR choice: the chosen department of the remembered plan, else the business line.

The work that overran keeps running in its thread and lands if the database recovers
(an answer that overran does not open the call: the degraded path's events do).
See docs/vonage.md, "Outages".
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar

from chalicelib import config
from chalicelib.calls import ncco, routing, state
from chalicelib.errors import ServiceUnavailable
from chalicelib.geo.phone import digits
from chalicelib.observability import count, logger

T = TypeVar("T")
# Budgets, inside Vonage's 5 s: the replay guard's one write, then the webhook's own work.
GUARD_BUDGET_SECONDS = 0.8
WEBHOOK_BUDGET_SECONDS = 3.0
REMEMBERED = 5000                     # lines and plans per container (a few MB at most)
OUTAGE_TEXT = "Sorry, we cannot connect your call right now. Please call again in a few minutes."


@dataclass(frozen=True)
class Line:
    """What an answer needs without the database: the number's business line."""
    destination: Optional[str]
    ring_seconds: int
    language: str


_lines: "OrderedDict[str, Line]" = OrderedDict()
_plans: "OrderedDict[str, Tuple[str, Dict[str, Any]]]" = OrderedDict()
_lock = threading.Lock()


def within(work: Callable[[], T], seconds: float) -> Tuple[bool, Optional[T]]:
    """Run `work` for at most `seconds`: (True, its result), or (False, None) when the time
    is spent (the work goes on in its thread). Its exceptions are raised here."""
    box: Dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as err:  # handed to the waiting caller below
            box["error"] = err
        finally:
            finished.set()

    threading.Thread(target=run, name="calltrack-budget", daemon=True).start()
    if not finished.wait(seconds):
        count("WebhookBudgetSpent")
        return False, None
    if "error" in box:
        raise box["error"]
    return True, box["value"]


def guarded(work: Callable[[], T], seconds: float, what: str) -> Tuple[bool, Optional[T]]:
    """`within`, with a failure of the database (any error) counted like a spent budget."""
    try:
        return within(work, seconds)
    except Exception as err:  # the database refused: never the caller's problem
        count("WebhookDatabaseFailed")
        logger.warning(f"{what}: database failed, answering without it", extra={"error": repr(err)})
        return False, None


def remember(tracking: str, call_id: str, plan: Mapping[str, Any]) -> None:
    """After an answer that worked: the line of the number and the plan of the call."""
    line = Line(plan.get("destination"), int(plan.get("ring_seconds") or 25),
                str(plan.get("language") or "en-US"))
    with _lock:
        _lines[tracking] = line
        _lines.move_to_end(tracking)
        _plans[call_id] = (tracking, dict(plan))
        for cache in (_lines, _plans):
            while len(cache) > REMEMBERED:
                cache.popitem(last=False)


def forget() -> None:
    """Empty the container's memory (tests: a cold container)."""
    with _lock:
        _lines.clear()
        _plans.clear()


def line_of(tracking: Optional[str]) -> Optional[Line]:
    with _lock:
        return _lines.get(tracking or "")


def plan_of(call_id: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    with _lock:
        return _plans.get(call_id)


def destination_for(tracking: Optional[str]) -> Optional[str]:
    line = line_of(tracking)
    return (line.destination if line else None) or config.fallback_destination()


def answer(tracking: str, caller: Optional[str], call_id: str, links: ncco.Links,
           clock: Callable[[], float] = time.time) -> ncco.Ncco:
    """The answer without the database: connect to the business line, recorded later."""
    count("CallsAnsweredInOutage")
    line = line_of(tracking)
    destination = destination_for(tracking)
    language = line.language if line else "en-US"
    if not destination:
        count("CallsOutageWithoutLine")
        logger.error("outage: no business line known for the number; set CALLTRACK_FALLBACK_DESTINATION",
                     extra={"to": tracking})
        return [ncco.talk(OUTAGE_TEXT, language)]
    return [ncco.degraded_connect(links, call_id, tracking, caller, destination,
                                  line.ring_seconds if line else routing.DEFAULTS["ring_seconds"], clock())]


def event(payload: Mapping[str, Any], query: Mapping[str, Any], call_id: Optional[str],
          links: ncco.Links) -> Optional[ncco.Ncco]:
    """An event without the database. Vonage acts on the answer to one: the business's leg of
    an inbound call not answered → voicemail. Any other event is answered 503, so Vonage
    tries again (its retry, then the fallback URL) and the fact is not lost silently."""
    inbound_agent = query.get("leg") == "agent" and not query.get("attempt")
    if inbound_agent and call_id and payload.get("status") in state.NO_ANSWER:
        remembered = plan_of(call_id)
        plan = dict(remembered[1]) if remembered else routing.plan(routing.routing_of({}), True)
        plan["steps"] = False        # no step reports while the database is away
        return ncco.voicemail(plan, links, call_id) or None
    raise ServiceUnavailable("the call store did not answer in time; Vonage will retry")


def challenge_input(payload: Mapping[str, Any], call_id: Optional[str], links: ncco.Links) -> ncco.Ncco:
    """The press-a-key check without the database: the remembered plan judges the key; a
    call whose plan the container does not remember is connected to the line (a caller is
    never lost to an outage, even on a number under attack)."""
    remembered = plan_of(call_id) if call_id else None
    digits_keyed, _ = state.keyed_digits(payload)
    if remembered:
        tracking, plan = remembered
        if not state.challenge_passed(plan, digits_keyed):
            from chalicelib.calls.spam import CHALLENGE_FAILED_TEXT

            return [ncco.talk(CHALLENGE_FAILED_TEXT, plan["language"])]
        return ncco.answer(plan, links, call_id or "", tracking, None, checked=True)
    return ivr_input(payload, call_id, links)


def ivr_input(payload: Mapping[str, Any], call_id: Optional[str], links: ncco.Links) -> ncco.Ncco:
    """An IVR choice without the database: the remembered plan routes it; else the line."""
    remembered = plan_of(call_id) if call_id else None
    digits_keyed, _ = state.keyed_digits(payload)
    if remembered:
        tracking, plan = remembered
        choice = routing.department_of(plan, digits_keyed)
        destination = (choice or {}).get("destination") or plan.get("destination")
        if destination:
            # The plan as stored with the call (its recording and whisper need no database now),
            # so the call's record later matches what it ran.
            return ncco.connect(plan, links, call_id or "", tracking, destination, None,
                                (choice or {}).get("department"))
    tracking = "+" + digits(str(payload.get("to") or "")) if payload.get("to") else None
    destination = destination_for(tracking)
    if not destination or not tracking or not call_id:
        return [ncco.talk(OUTAGE_TEXT, "en-US")]
    return [ncco.degraded_connect(links, call_id, tracking, None, destination,
                                  routing.DEFAULTS["ring_seconds"], time.time())]
