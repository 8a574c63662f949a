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
from typing import Callable, Dict, Optional

from chalice import Blueprint, Rate

from chalicelib.calls import lifecycle, state
from chalicelib.calls.models import UNSETTLED, Call
from chalicelib.observability import count, logger

Clock = Callable[[], float]
# The earliest any call can be overdue, counted from its start (minus Vonage's clock running
# ahead of ours): the index query skips younger calls without reading them.
SKEW_SECONDS = 60
MIN_AGE_SECONDS = min(state.AFTER_END_SECONDS, state.QUIET_SECONDS) - SKEW_SECONDS
# At most this many calls per run (oldest first); the next run takes the rest.
MAX_PER_SWEEP = 500

bp = Blueprint(__name__)
# "Now" for the scheduled sweep; tests replace it.
clock: Clock = time.time


def sweep(now: Optional[float] = None, clock: Clock = time.time, limit: int = MAX_PER_SWEEP) -> Dict[str, int]:
    """Settle every overdue call; returns counts (examined, settled, refreshed, failed)."""
    now = clock() if now is None else now
    counts = {"examined": 0, "settled": 0, "refreshed": 0, "failed": 0}
    for item in Call.unsettled_index.query(UNSETTLED, Call.started_at <= now - MIN_AGE_SECONDS, limit=limit):
        counts["examined"] += 1
        try:
            outcome = settle_if_overdue(item, now, clock)
        except Exception:  # one bad call must not keep the others unsettled
            logger.exception("sweep failed for a call", extra={"call_id": item.call_id})
            count("CallsSweepFailed")
            counts["failed"] += 1
            continue
        if outcome:
            counts[outcome] += 1
    if counts["settled"]:
        count("CallsSettledBySweep", counts["settled"])
    logger.info("calls swept", extra=counts)
    return counts


def settle_if_overdue(item: Call, now: float, clock: Clock = time.time) -> Optional[str]:
    """"settled" (the sweep settled it), "refreshed" (its facts were complete but the record
    was never written, e.g. the webhook's Lambda died mid-way), or None (not overdue)."""
    if item.ctx is None:
        return None
    if not _needs_work(item, now):
        return None
    item = Call.get(item.call_id, consistent_read=True)     # the index lags: decide on the item itself
    if state.derive(item.ctx, item.evs or ())["settled"]:
        lifecycle.refresh(item, clock)
        return "refreshed"
    fact = state.overdue(item.ctx, item.evs or (), now)
    if fact is None:
        return None
    logger.info("settling an overdue call", extra={"call_id": item.call_id, "why": fact["why"]})
    count(f"CallsSwept_{fact['why']}")
    lifecycle.refresh(lifecycle.add_fact(item.call_id, fact), clock)
    return "settled"


def _needs_work(item: Call, now: float) -> bool:
    return state.derive(item.ctx, item.evs or ())["settled"] or state.overdue(item.ctx, item.evs or (), now) is not None


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def settle_overdue_calls(event) -> Dict[str, int]:
    return sweep(clock=clock)
