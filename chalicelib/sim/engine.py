"""Run simulated traffic through a lease/attribution policy and score every call.

`CalltrackPolicy` makes its decisions with the product's own functions:
`chalicelib.dni.pool.candidates` (which free number next, soft/hard cool-down) and
`chalicelib.dni.history.gather` + `best` (who held the number at call time, with what
confidence; the current holder's number is then marked called, as the call webhook
does), over `MemoryStore`, which mirrors `chalicelib/dni/leases.py`. The event
order mirrors the snippet: lease on page load, a heartbeat every `heartbeat_seconds`
while the page is open, resume with the session id on return, lease again on a 410.

`NaivePolicy` is the baseline (docs/accuracy.md): a random free number, a fixed 15-minute
lease, no heartbeat, no cool-down; a call goes to whoever held the number then, or to
its last holder within 30 minutes after that lease ended.
"""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from chalicelib.dni import history, pool
from chalicelib.settings import Settings
from chalicelib.sim.store import MemoryStore
from chalicelib.sim.traffic import MINUTE, Visit

Attribution = Tuple[Optional[str], float]


def pool_numbers(size: int) -> List[str]:
    return [f"+1555010{i:04d}" for i in range(size)]


class CalltrackPolicy:
    name = "calltrack"

    def __init__(self, size: int, settings: Settings, numbers: Optional[List[str]] = None,
                 mark_calls: bool = True) -> None:
        """`mark_calls=False`: calls only measure (the advisor's probe calls, one per visitor,
        must not hand numbers on early as real callers' numbers are)."""
        self.s = settings
        self.size = size
        self.mark_calls = mark_calls
        self.store = MemoryStore(numbers or pool_numbers(size))
        self.heartbeat = float(settings.heartbeat_seconds)

    def lease(self, sid: str, now: float) -> Optional[str]:
        order = pool.candidates(self.store.read_pool(), now, self.s.cooldown_seconds, self.s.cooldown_mode,
                                min_rest=self.s.lease_ttl_seconds)
        if not order:
            return None
        self.store.claim(order[0].number, order[0], sid, now, now + self.s.lease_ttl_seconds)
        return order[0].number

    def resume(self, sid: str, number: str, now: float) -> bool:
        return self.store.extend(number, sid, now, now + self.s.lease_ttl_seconds, require_live=False)

    def beat(self, sid: str, number: str, now: float) -> bool:
        return self.store.extend(number, sid, now, now + self.s.lease_ttl_seconds)

    def attribute(self, number: str, at: float) -> Attribution:
        """As the call webhook (`calls.attribution.attribute`): who held the number, and
        mark it called when that is the current holder."""
        current, older = self.store.holdings(number, at)
        match = history.best(history.gather(current, older), at, self.s.grace_seconds)
        if self.mark_calls and match.session_id is not None and current is not None \
                and match.session_id == current.session_id:
            self.store.mark_called(number, match.session_id)
        return match.session_id, match.confidence


class NaivePolicy:
    name = "naive"
    LEASE = 15 * MINUTE
    GRACE = 30 * MINUTE

    def __init__(self, size: int, seed: int, grace: float = GRACE) -> None:
        self.grace = grace
        self.rng = random.Random(seed)
        self.size = size
        self.until: Dict[str, float] = {n: 0.0 for n in pool_numbers(size)}
        self.holder: Dict[str, Optional[str]] = {n: None for n in self.until}
        self.log: Dict[str, List[Tuple[float, str]]] = {n: [] for n in self.until}
        self.heartbeat = None

    def lease(self, sid: str, now: float) -> Optional[str]:
        free = [n for n, u in self.until.items() if u <= now]
        if not free:
            return None
        number = self.rng.choice(free)
        self.until[number], self.holder[number] = now + self.LEASE, sid
        self.log[number].append((now, sid))
        return number

    def resume(self, sid: str, number: str, now: float) -> bool:
        return self.holder[number] == sid and self.until[number] > now

    def beat(self, sid: str, number: str, now: float) -> bool:
        return True

    def attribute(self, number: str, at: float) -> Attribution:
        for started, sid in reversed(self.log[number]):
            if started <= at:
                return (sid, 1.0) if at <= started + self.LEASE + self.grace else (None, 0.0)
        return None, 0.0


@dataclass
class CallResult:
    kind: str                    # during | soon | late
    outcome: str                 # right | wrong | none
    confidence: float
    fallback: bool


@dataclass
class RunResult:
    policy: str
    size: int
    lease_requests: int = 0
    exhausted: int = 0
    calls: List[CallResult] = field(default_factory=list)


@dataclass
class _Shown:
    sid: Optional[str] = None
    number: Optional[str] = None
    seq: int = 0


def run(policy, visits: List[Visit]) -> RunResult:
    """Replay the visits through the policy in time order; score each call."""
    result = RunResult(policy.name, policy.size)
    shown: Dict[int, _Shown] = {}
    events: List[Tuple[float, int, str, int, int]] = []
    seq = 0
    for v in visits:
        for i, (start, _end) in enumerate(v.segments):
            events.append((start, seq, "open", v.vid, i))
            seq += 1
        if v.call_at is not None:
            events.append((v.call_at, seq, "call", v.vid, 0))
            seq += 1
    heapq.heapify(events)
    by_id = {v.vid: v for v in visits}

    def new_lease(v: Visit, st: _Shown, now: float) -> None:
        st.seq += 1
        sid = f"{v.vid}.{st.seq}"
        result.lease_requests += 1
        number = policy.lease(sid, now)
        if number is None:
            result.exhausted += 1
            st.sid, st.number = None, None
        else:
            st.sid, st.number = sid, number

    while events:
        now, _, kind, vid, i = heapq.heappop(events)
        v = by_id[vid]
        st = shown.setdefault(vid, _Shown())
        if kind == "call":
            result.calls.append(_score(policy, v, st, now))
            continue
        if kind == "open":
            if not (st.sid and policy.resume(st.sid, st.number, now)):
                new_lease(v, st, now)
        elif kind == "beat" and st.sid and not policy.beat(st.sid, st.number, now):
            new_lease(v, st, now)             # 410: the snippet leases again
        nxt = now + policy.heartbeat if policy.heartbeat else None
        if nxt is not None and nxt <= v.segments[i][1]:
            seq += 1
            heapq.heappush(events, (nxt, seq, "beat", vid, i))
    return result


def _score(policy, v: Visit, st: _Shown, now: float) -> CallResult:
    if st.number is None:
        return CallResult(v.call_kind, "none", 0.0, True)
    sid, confidence = policy.attribute(st.number, now)
    outcome = "none" if sid is None else ("right" if sid == st.sid else "wrong")
    return CallResult(v.call_kind, outcome, confidence, False)
