"""The same simulated trace through the real DynamoDB path, to check the in-memory model.

`EmulatorPolicy` drives `sessions.start` (lease, resume) and `sessions.heartbeat` with an
injected clock and asks `calls.attribution.attribute` at call time (`history.who_held`
plus marking the number called) — the functions the app's routes and the call webhook
use — against whatever DynamoDB the configuration points
at (the emulator). `agreement()` runs a trace through it and through the in-memory
`CalltrackPolicy` on the same numbers and compares every call's answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from chalicelib.accounts import get_account
from chalicelib.calls import attribution
from chalicelib.dni import sessions
from chalicelib.dni.models import Number
from chalicelib.errors import LeaseGone
from chalicelib.sim import engine, traffic

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class EmulatorPolicy:
    name = "emulator"

    def __init__(self, account_id: str, numbers: List[str], t0: float) -> None:
        self.account_id, self.numbers, self.t0 = account_id, numbers, t0
        self.size = len(numbers)
        self.settings = get_account(account_id).settings
        self.heartbeat = float(self.settings.heartbeat_seconds)
        self.clock = _Clock()
        self.real: Dict[str, str] = {}        # simulator session id -> real session id
        self.local: Dict[str, str] = {}
        self._pending: Optional[sessions.Assignment] = None

    def _at(self, now: float) -> None:
        self.clock.t = self.t0 + now

    def _start(self, now: float, session_id: Optional[str] = None) -> sessions.Assignment:
        self._at(now)
        return sessions.start(sessions.SessionRequest(
            account=self.account_id, url="http://localhost/", session_id=session_id, user_agent=BROWSER,
        ), self.clock)

    def lease(self, sid: str, now: float) -> Optional[str]:
        got, self._pending = self._pending or self._start(now), None
        if got.method != "dynamic":
            return None
        self.real[sid], self.local[got.session_id] = got.session_id, sid
        return got.number

    def resume(self, sid: str, number: str, now: float) -> bool:
        got = self._start(now, self.real[sid])
        if got.session_id == self.real[sid]:
            return True
        self._pending = got                    # start() already leased anew: hand it to lease()
        return False

    def beat(self, sid: str, number: str, now: float) -> bool:
        self._at(now)
        try:
            sessions.heartbeat(self.real[sid], "http://localhost/next", self.clock)
            return True
        except LeaseGone:
            return False

    def attribute(self, number: str, at: float, caller: Optional[str] = None) -> Tuple[Optional[str], float]:
        found = attribution.attribute(Number.get(number), self.t0 + at, self.settings.grace_seconds, caller,
                                      self.settings.repeat_caller_days * 86400.0)
        sid = found["session_id"]
        return (self.local.get(sid) if sid else None), found["attribution_confidence"]


@dataclass
class Agreement:
    calls: int
    same: int
    memory: engine.RunResult
    emulator: engine.RunResult


def small_trace(seed: int = 3, hours: float = 3.0, visits_per_day: float = 500.0) -> List[traffic.Visit]:
    """A short trace with every human visitor calling, no long background tabs."""
    model = traffic.TrafficModel(visits_per_day=visits_per_day, call_share=1.0, background_share=0.0)
    return traffic.generate(model, hours / 24.0, seed)


def agreement(account_id: str, numbers: List[str], visits: List[traffic.Visit], t0: float) -> Agreement:
    """Run `visits` through the emulator and the in-memory model; count identical answers."""
    settings = get_account(account_id).settings
    calls_seen: List[Tuple[str, float]] = []

    class Recording(EmulatorPolicy):
        def attribute(self, number: str, at: float, caller: Optional[str] = None) -> Tuple[Optional[str], float]:
            answer = super().attribute(number, at, caller)
            calls_seen.append((answer[0] or "-", answer[1]))
            return answer

    memory_answers: List[Tuple[str, float]] = []

    class Memory(engine.CalltrackPolicy):
        def attribute(self, number: str, at: float, caller: Optional[str] = None) -> Tuple[Optional[str], float]:
            answer = super().attribute(number, at, caller)
            memory_answers.append((answer[0] or "-", answer[1]))
            return answer

    mem = Memory(len(numbers), settings, numbers=sorted(numbers))
    memory = engine.run(mem, visits)
    emulator = engine.run(Recording(account_id, numbers, t0), visits)
    same = sum(a == b for a, b in zip(memory_answers, calls_seen))
    return Agreement(len(memory_answers), same, memory, emulator)
