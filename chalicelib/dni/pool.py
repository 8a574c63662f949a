"""Which free number of a pool to lease next. Pure: the caller reads the pool once.

Order: first the numbers whose last holder has already called (the call webhook marks
them, `leases.note_call`): that visitor has nobody left to phone, so neither the
cool-down nor the floor below protects anyone, and such a number is the safest to reuse
(no late call of its last holder can land on the next visitor). Then numbers whose
cool-down is over, least recently released first (never used first of all) — that maximises the time before a number changes hands, which is what
keeps late calls attributable. Soft cool-down: when no number has rested enough, the
one released longest ago is next, rather than refusing the visitor a session number —
but only once it has rested at least `min_rest` (the lease hold, `lease_ttl_seconds`,
capped by the cool-down). Under pressure the previous visitor's claim thus lasts twice
the hold after their last heartbeat: the minutes right after a visit are when its
"call soon after" callers phone, and a number handed on inside them makes those calls
land on the next visitor. The simulator showed that without this floor pools of 2–15
numbers attributed more calls wrongly than the naive baseline, and that without the
called-first rule a 2-number pool got no more calls right than the baseline
(docs/accuracy.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional


@dataclass(frozen=True)
class PoolNumber:
    number: str
    holder: Optional[str]
    leased_at: float
    lease_until: float
    enabled: bool = True
    called: bool = False            # the holder has called (a call was attributed to them)


def is_free(n: PoolNumber, now: float) -> bool:
    return n.enabled and (not n.holder or n.lease_until <= now)


def candidates(numbers: Iterable[PoolNumber], now: float, cooldown: float, mode: str = "soft",
               min_rest: float = 0.0) -> List[PoolNumber]:
    """Free numbers in the order they should be tried. `min_rest`: in soft mode, a
    number still cooling down is handed out only after resting this long (at most
    `cooldown`); callers pass the lease hold."""
    free = sorted((n for n in numbers if is_free(n, now)), key=lambda n: (n.lease_until, n.number))
    called = [n for n in free if n.called and n.holder]
    free = [n for n in free if not (n.called and n.holder)]
    rested = [n for n in free if n.lease_until + cooldown <= now]
    if mode == "hard":
        return called + rested
    floor = min(min_rest, cooldown)
    resting = [n for n in free if now < n.lease_until + cooldown
               and (n.lease_until + floor <= now or not n.lease_until)]     # never leased: no one to protect
    return called + rested + resting


def busy_count(numbers: Iterable[PoolNumber], now: float) -> int:
    return sum(1 for n in numbers if n.enabled and n.holder and n.lease_until > now)
