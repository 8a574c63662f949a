"""Which free number of a pool to lease next. Pure: the caller reads the pool once.

Order: numbers whose cool-down is over, least recently released first (never used
first of all) — that maximises the time before a number changes hands, which is what
keeps late calls attributable. Soft cool-down: when no number has rested enough, the
one released longest ago is next, rather than refusing the visitor a session number.
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


def is_free(n: PoolNumber, now: float) -> bool:
    return n.enabled and (not n.holder or n.lease_until <= now)


def candidates(numbers: Iterable[PoolNumber], now: float, cooldown: float, mode: str = "soft") -> List[PoolNumber]:
    """Free numbers in the order they should be tried."""
    free = sorted((n for n in numbers if is_free(n, now)), key=lambda n: (n.lease_until, n.number))
    rested = [n for n in free if n.lease_until + cooldown <= now]
    if mode == "hard":
        return rested
    resting = [n for n in free if n.lease_until + cooldown > now]
    return rested + resting


def busy_count(numbers: Iterable[PoolNumber], now: float) -> int:
    return sum(1 for n in numbers if n.enabled and n.holder and n.lease_until > now)
