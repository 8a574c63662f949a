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
        self.idle = float(settings.idle_seconds)
        self.repeat_seconds = float(settings.repeat_caller_days) * 86400.0

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

    def attribute(self, number: str, at: float, caller: Optional[str] = None) -> Attribution:
        """As the call webhook (`calls.attribution.attribute`): a caller who phoned the
        number before goes where that call went (nobody included); otherwise who held the
        number, marking it called when that is the current holder, and the caller is
        remembered."""
        earlier = self.store.remembered(number, caller, at, self.repeat_seconds)
        if earlier is not None:
            return (earlier[0] or None), (earlier[2] if earlier[0] else 0.0)
        current, older = self.store.holdings(number, at)
        match = history.best(history.gather(current, older), at, self.s.grace_seconds)
        if self.mark_calls and match.session_id is not None and current is not None \
                and match.session_id == current.session_id:
            self.store.mark_called(number, match.session_id)
        if self.mark_calls:
            self.store.remember(number, caller, match.session_id or "", at, match.confidence, self.repeat_seconds)
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
        self.idle = 0.0

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

    def attribute(self, number: str, at: float, caller: Optional[str] = None) -> Attribution:
        for started, sid in reversed(self.log[number]):
            if started <= at:
                return (sid, 1.0) if at <= started + self.LEASE + self.grace else (None, 0.0)
        return None, 0.0


@dataclass
class CallResult:
    kind: str                    # during | soon | late | repeat
    outcome: str                 # right | wrong | none
    confidence: float
    fallback: bool
    delay: float = 0.0           # seconds after the visit's active end (0: during it)


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
    called: Optional[Tuple[Optional[str], Optional[str]]] = None   # (number, session) of the first call


def beat_until(policy, v: Visit, i: int) -> float:
    """When segment `i` stops beating: its end, or for a visible tab left open, the
    policy's idle timeout after the visitor's last input (the snippet stops then)."""
    end = v.segments[i][1]
    if not idle_stops(policy, v, i):
        return end
    return min(end, max(v.active_end or 0.0, woken(policy, v) or 0.0) + policy.idle)


def idle_stops(policy, v: Visit, i: int) -> bool:
    return bool(getattr(policy, "idle", 0.0) and v.extra.get("background") and i == len(v.segments) - 1
                and v.active_end is not None)


def woken(policy, v: Visit) -> Optional[float]:
    """When the visitor's input wakes an idle tab (before their call), if the snippet had
    gone idle by then."""
    wake = v.extra.get("wake")
    if wake is None or v.active_end is None or wake <= v.active_end + policy.idle:
        return None
    return wake


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
        if v.repeat_at is not None:
            events.append((v.repeat_at, seq, "repeat", v.vid, 0))
            seq += 1
        if idle_stops(policy, v, len(v.segments) - 1) and woken(policy, v) is not None:
            events.append((woken(policy, v), seq, "wake", v.vid, len(v.segments) - 1))
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
            st.called = (st.number, st.sid)
            continue
        if kind == "repeat":
            if st.called is not None:
                result.calls.append(_score_repeat(policy, v, st.called, now))
            continue
        if kind in ("open", "wake"):
            if not (st.sid and policy.resume(st.sid, st.number, now)):
                new_lease(v, st, now)
        elif kind == "beat" and st.sid and not policy.beat(st.sid, st.number, now):
            new_lease(v, st, now)             # 410: the snippet leases again
        nxt = now + policy.heartbeat if policy.heartbeat else None
        if nxt is not None and nxt <= beat_until(policy, v, i):
            seq += 1
            heapq.heappush(events, (nxt, seq, "beat", vid, i))
    return result


def caller_of(v: Visit) -> str:
    return f"caller-{v.vid}"


def _score(policy, v: Visit, st: _Shown, now: float) -> CallResult:
    delay = v.call_delay or 0.0
    if st.number is None:
        return CallResult(v.call_kind, "none", 0.0, True, delay)
    sid, confidence = policy.attribute(st.number, now, caller_of(v))
    outcome = "none" if sid is None else ("right" if sid == st.sid else "wrong")
    return CallResult(v.call_kind, outcome, confidence, False, delay)


def _score_repeat(policy, v: Visit, first: Tuple[Optional[str], Optional[str]], now: float) -> CallResult:
    """The same caller phones the number of their first call again; right is the session
    that number stood for then."""
    number, truth = first
    delay = now - (v.active_end if v.active_end is not None else v.segments[-1][1])
    if number is None:
        return CallResult("repeat", "none", 0.0, True, delay)
    sid, confidence = policy.attribute(number, now, caller_of(v))
    outcome = "none" if sid is None else ("right" if sid == truth else "wrong")
    return CallResult("repeat", outcome, confidence, False, delay)
