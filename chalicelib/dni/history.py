"""Which session held a number at a given time: the question every call asks.

Candidates are the current lease (on the Number item) and archived leases whose
window [started_at, last_seen + grace] contains the call time. Confidence:

- 1.0 when exactly one session could have seen the number then;
- otherwise each candidate weighs by how plausible a call from it is at that time:
  a visitor still on the page (heartbeat alive) weighs 1; one who left weighs less
  the longer ago they left (linearly to 0 at the end of the grace window); the
  confidence of the best candidate is its share of the total weight.

Requests: one GetItem of the number (skipped when the caller has it) and one Query
of its recent history.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from chalicelib.dni.models import Lease, Number

HISTORY_DEPTH = 6


@dataclass(frozen=True)
class Holding:
    session_id: str
    started_at: float
    last_seen: float
    lease_until: float
    snap: Dict[str, Any] = field(default_factory=dict)
    pages: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    holding: Optional[Holding]
    confidence: float
    candidates: int

    @property
    def session_id(self) -> Optional[str]:
        return self.holding.session_id if self.holding else None


NO_MATCH = Match(None, 0.0, 0)


def weight(h: Holding, at: float, grace: float) -> float:
    """How plausible it is that `at` is a call from the visitor of holding `h`."""
    if at < h.started_at:
        return 0.0
    if at <= h.lease_until:
        return 1.0
    late = at - h.lease_until
    if late > grace:
        return 0.0
    return max(0.0, 1.0 - late / grace) if grace > 0 else 0.0


def best(holdings: List[Holding], at: float, grace: float) -> Match:
    """Pure: the most plausible holding at `at` and its confidence."""
    weighed = [(weight(h, at, grace), h) for h in holdings]
    weighed = [(w, h) for w, h in weighed if w > 0]
    if not weighed:
        return NO_MATCH
    total = sum(w for w, _ in weighed)
    top_w, top = max(weighed, key=lambda wh: (wh[0], wh[1].started_at))
    confidence = 1.0 if len(weighed) == 1 else top_w / total
    return Match(top, round(confidence, 4), len(weighed))


def current_holding(item: Number) -> Optional[Holding]:
    if not item.holder:
        return None
    return Holding(item.holder, float(item.leased_at), float(item.last_seen or item.leased_at),
                   float(item.lease_until), dict(item.snap or {}), list(item.pages or []))


def archived(number: str, at: float) -> List[Holding]:
    leases = Lease.query(number, Lease.started_at <= at, scan_index_forward=False, limit=HISTORY_DEPTH)
    return [Holding(l.session_id, float(l.started_at), float(l.last_seen or l.started_at), float(l.until),
                    dict(l.snap or {}), list(l.pages or [])) for l in leases]


def who_held(number: str, at: float, grace: float, item: Optional[Number] = None) -> Match:
    """The session that most plausibly showed `number` to the caller at time `at`."""
    if item is None:
        try:
            item = Number.get(number)
        except Number.DoesNotExist:
            return NO_MATCH
    holdings = [h for h in [current_holding(item)] if h]
    holdings += [h for h in archived(number, at) if not holdings or h.started_at != holdings[0].started_at]
    return best(holdings, at, grace)
