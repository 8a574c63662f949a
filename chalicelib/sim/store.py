"""The lease store of chalicelib/dni/leases.py, in memory, for the simulator.

Mapping (DynamoDB → here), kept one to one so the simulation runs the same semantics:

- `Number` item (holder, leased_at, last_seen, lease_until, lease_count, enabled)
  → `NumberState`, one per pool number.
- `leases.read_pool` (one Query) + `leases.as_pool_number` → `read_pool()` → `PoolNumber`s,
  which `chalicelib.dni.pool.candidates` orders exactly as in `sessions._lease`.
- `leases.claim` (TransactWriteItems: the number only if lease_count and lease_until are
  unchanged; archive the previous holder into the `Lease` table) → `claim()`, same
  condition, same archived fields (session, started_at=leased_at, until=lease_until,
  last_seen).
- `leases.note_call` (UpdateItem of `called_by` conditioned on holder == session),
  which the call webhook (`calls.attribution.attribute`) runs when the answer is the
  number's current holder → `mark_called()`; its repeat-caller half (the caller's
  earlier call, `leases.remembered`, also when that call went to nobody) →
  `remembered()` / `remember()`; `read_pool()` reports `called` exactly like
  `leases.as_pool_number`.
- `leases.extend` (UpdateItem conditioned on holder == session and, for a heartbeat,
  lease_until > now; a resume drops the second condition) → `extend()`.
- `history.current_holding` + `history.archived` (Query newest first, started_at <= at,
  limit HISTORY_DEPTH) → `holdings()`; the simulator then calls `history.gather` and
  `history.best`, the functions `history.who_held` calls.

The simulation is single-threaded, so the conditions never fail from a race; they are
kept so a modelling mistake (two holders) would show up as an exception.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from chalicelib.dni.history import HISTORY_DEPTH, Holding
from chalicelib.dni.pool import PoolNumber


@dataclass
class NumberState:
    number: str
    holder: Optional[str] = None
    leased_at: float = 0.0
    last_seen: float = 0.0
    lease_until: float = 0.0
    lease_count: int = 0
    enabled: bool = True
    called_by: Optional[str] = None


class StaleRead(RuntimeError):
    """The number changed since it was read (leases.claim's LeaseConflict)."""


class MemoryStore:
    def __init__(self, numbers: List[str]) -> None:
        self.numbers: Dict[str, NumberState] = {n: NumberState(n) for n in numbers}
        self._starts: Dict[str, List[float]] = {n: [] for n in numbers}
        self._archive: Dict[str, List[Holding]] = {n: [] for n in numbers}
        # caller -> (session or "" when the call went to nobody, at, confidence), per number
        self.callers: Dict[str, Dict[str, Tuple[str, float, float]]] = {n: {} for n in numbers}

    def read_pool(self) -> List[PoolNumber]:
        return [PoolNumber(s.number, s.holder, s.leased_at, s.lease_until, s.enabled,
                           called=bool(s.holder) and s.called_by == s.holder) for s in self.numbers.values()]

    def claim(self, number: str, observed: PoolNumber, session_id: str, now: float, lease_until: float) -> None:
        s = self.numbers[number]
        if s.lease_until != observed.lease_until or s.holder != observed.holder:
            raise StaleRead(number)
        if s.holder:
            self._starts[number].append(s.leased_at)
            self._archive[number].append(Holding(s.holder, s.leased_at, s.last_seen or s.leased_at, s.lease_until))
        s.holder, s.leased_at, s.last_seen, s.lease_until = session_id, now, now, lease_until
        s.lease_count += 1

    def mark_called(self, number: str, session_id: str) -> bool:
        s = self.numbers[number]
        if s.holder != session_id:
            return False
        s.called_by = session_id
        return True

    def remembered(self, number: str, caller: Optional[str], at: float,
                   seconds: float) -> Optional[Tuple[str, float, float]]:
        """`leases.remembered`: this caller's earlier call to the number, within `seconds`."""
        found = self.callers[number].get(caller) if caller and seconds > 0 else None
        return found if found and at - found[1] <= seconds else None

    def remember(self, number: str, caller: Optional[str], session_id: str, at: float, confidence: float,
                 seconds: float) -> None:
        """The remembering half of `leases.note_call` (session "" for a call to nobody)."""
        if caller and seconds > 0 and self.remembered(number, caller, at, seconds) is None:
            self.callers[number][caller] = (session_id, at, confidence)

    def extend(self, number: str, session_id: str, now: float, lease_until: float, require_live: bool = True) -> bool:
        s = self.numbers[number]
        if s.holder != session_id or (require_live and not s.lease_until > now):
            return False
        s.last_seen, s.lease_until = now, lease_until
        return True

    def holdings(self, number: str, at: float) -> Tuple[Optional[Holding], List[Holding]]:
        s = self.numbers[number]
        current = Holding(s.holder, s.leased_at, s.last_seen or s.leased_at, s.lease_until) if s.holder else None
        upto = bisect_right(self._starts[number], at)
        older = self._archive[number][max(0, upto - HISTORY_DEPTH):upto][::-1]
        return current, older
