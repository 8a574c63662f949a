"""Settlement sweep: calls whose last webhook never came are settled with the facts known.

A call settles when its facts are complete (`state.derive`). When one never arrives —
Vonage gave up retrying, our endpoint was down, a recording we expected was never made —
the call would stay `in_progress` forever and `Call Completed` would never be sent.
Every few minutes `sweep` reads the calls not settled yet (the sparse index
`Call.unsettled_index`: only those calls are in it, oldest first), asks the pure
`state.overdue` whether each has waited long enough, and settles an overdue one by adding a
`sweep` fact to its fact set and refreshing it: the same record build, the same
conditional write and the same one-time `Call Completed` as a completion by webhook, so a
webhook racing the sweep cannot make a second announcement.

A real webhook arriving after the sweep is one more fact: the real facts win (the record
is rebuilt from them, e.g. the true end and talk time, or `voicemail` once the recording
lands) and, the record being a new one, `Call Completed` is published again with it —
once per distinct final record, as for every call.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Tuple

from pynamodb.exceptions import UpdateError

from chalicelib.calls import lifecycle, state, vonage_client
from chalicelib.calls.models import UNSETTLED, Call
from chalicelib.calls.vonage_client import VonageUnavailable
from chalicelib.db import condition_failed
from chalicelib.observability import count, logger

Clock = Callable[[], float]
# The earliest any call can be overdue, counted from its start (minus Vonage's clock running
# ahead of ours): the index query skips younger calls without reading them.
SKEW_SECONDS = 60
MIN_AGE_SECONDS = min(state.AFTER_END_SECONDS, state.QUIET_SECONDS) - SKEW_SECONDS
# At most this many calls per run (oldest first); the next run takes the rest.
MAX_PER_SWEEP = 500
# Asking Vonage for lost ends (≤ 5 s a request) stops after this long in one run, or at its
# first failure, so a run stays well inside the function's 60 s; the calls left are settled
# with the facts known.
VONAGE_BUDGET_SECONDS = 20.0
# A leg Vonage still calls live postpones the sweep, up to this long after the call's start
# (a cap of ours: no Vonage leg we create can last this long, see state.CONNECT_LIMIT_SECONDS).
LIVE_CAP_SECONDS = 6 * 3600

# "Now" for the scheduled sweep (calls/schedule.py); tests replace it.
clock: Clock = time.time


def sweep(now: Optional[float] = None, clock: Clock = time.time, limit: int = MAX_PER_SWEEP) -> Dict[str, int]:
    """Settle every overdue call; returns what it did, counted (see `settle_if_overdue`)."""
    now = clock() if now is None else now
    counts = {"examined": 0, "settled": 0, "recovered": 0, "refreshed": 0, "live": 0, "failed": 0}
    lookups = VonageLookups()
    for key in Call.unsettled_index.query(UNSETTLED, Call.started_at <= now - MIN_AGE_SECONDS, limit=limit):
        counts["examined"] += 1
        try:
            item = Call.get(key.call_id, consistent_read=True)     # the index holds keys only
            outcome = settle_if_overdue(item, now, clock, lookups)
        except Call.DoesNotExist:
            continue
        except Exception:  # one bad call must not keep the others unsettled
            logger.exception("sweep failed for a call", extra={"call_id": key.call_id})
            count("CallsSweepFailed")
            counts["failed"] += 1
            continue
        if outcome:
            counts[outcome] += 1
    if counts["settled"]:
        count("CallsSettledBySweep", counts["settled"])
    logger.info("calls swept", extra=counts)
    return counts


def settle_if_overdue(item: Call, now: float, clock: Clock = time.time,
                      lookups: Optional["VonageLookups"] = None) -> Optional[str]:
    """What the sweep did to the call (`item` as just read, consistently): "settled" (the
    sweep settled it), "recovered" (Vonage's call details gave the lost ends: settled, or
    waiting again, on real facts), "refreshed" (its facts were complete but the record was
    never written, e.g. the webhook's Lambda died mid-way), "live" (Vonage says a leg is
    still up), or None (not overdue)."""
    if item.ctx is None:
        return None
    if state.derive(item.ctx, item.evs or ())["settled"]:
        lifecycle.refresh(item, clock)
        # Announced and still indexed (nothing left to write): leave the index all the same.
        try:
            Call(item.call_id).update(actions=[Call.unsettled.remove()], condition=Call.completed_sig.exists())
        except UpdateError as err:
            if not condition_failed(err):
                raise
        return "refreshed"
    fact = state.overdue(item.ctx, item.evs or (), now)
    if fact is None:
        return None
    recovered, live = (lookups or VonageLookups()).ends(item)
    for leg in recovered:
        item = lifecycle.add_fact(item.call_id, leg)
    if recovered:
        count("CallsEndRecovered", len(recovered))
        fact = state.overdue(item.ctx, item.evs or (), now)
        if fact is None:                                    # settled, or a new deadline, on real facts
            lifecycle.refresh(item, clock)
            return "recovered"
    if live and now - (item.ctx.get("started_at") or 0.0) < LIVE_CAP_SECONDS:
        if recovered:
            lifecycle.refresh(item, clock)
        return "live"
    logger.info("settling an overdue call", extra={"call_id": item.call_id, "why": fact["why"]})
    count(f"CallsSwept_{fact['why']}")
    lifecycle.refresh(lifecycle.add_fact(item.call_id, fact), clock)
    return "settled"


class VonageLookups:
    """Asks Vonage (GET /v1/calls/{uuid}) how the legs whose end we missed ended, within one
    run's time budget; the first failure (not configured, unreachable) stops it for the run."""

    def __init__(self, budget: float = VONAGE_BUDGET_SECONDS) -> None:
        self.deadline = time.monotonic() + budget
        self.off = False

    def ends(self, item: Call) -> Tuple[List[state.Fact], bool]:
        """Facts of the legs Vonage says are over, and whether one is still live."""
        facts: List[state.Fact] = []
        live = False
        for role, attempt, uuid in state.open_legs(item.ctx, item.evs or ()):
            if self.off or time.monotonic() > self.deadline:
                break
            try:
                info = vonage_client.calls().get(uuid)
            except VonageUnavailable as err:
                logger.info("vonage call details unavailable; settling on known facts", extra={"error": str(err)})
                self.off = True
                break
            fact = state.leg_fact(info, role, attempt)
            if fact is not None:
                facts.append(fact)
            elif info.get("status") in state.STATUSES:
                live = True
        return facts, live

