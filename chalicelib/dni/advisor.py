"""Pool sizing advisor: the smallest pool that reaches a chosen accuracy on the
account's OWN traffic.

Input: the account's recorded sessions of the pool (arrival time from
`Session.account_index`; how long each kept its number from the lease history
(`Lease.last_seen`) or, for a live lease, the Number item's `last_seen`). That
trace is replayed through the simulator (chalicelib/sim: the real `pool.candidates`
and `history.best` over the in-memory lease store) at growing pool sizes, with the
account's lease settings. Calls are not in the trace: every recorded visitor is
given one hypothetical call placed by the simulator's default call-timing model
(traffic.TrafficModel), which never changes the lease traffic: these probe calls do not
mark numbers called (`CalltrackPolicy(mark_calls=False)`), since only some visitors
really call. The advice thus leaves out the capacity the called-first order frees, and
errs on the large side. Accuracy is the share
of calls placed during the visit or within 10 minutes after it that go to the right
session (late calls cannot be right by design when the number changed hands).

Refused visitors: a session that got the fallback number carries no pool id; for the
account's default pool those sessions join the replay as visitors (their time on the
page drawn from the recorded ones), so an exhausted pool's demand is counted
(`refused_in_replay`). For other pools they cannot be told apart and the advice stays a
lower bound while the pool runs out; `fallback_sessions` counts them either way.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from chalicelib.settings import Settings
from chalicelib.sim import engine, sweep, traffic

MIN_SESSIONS = 30
MAX_POOL = 500
Clock = Callable[[], float]


@dataclass(frozen=True)
class Recorded:
    """One recorded session: when it started and how long it kept its number beating."""
    started_at: float
    seconds: Optional[float]      # None: unknown (no lease record)


@dataclass
class Advice:
    accuracy: float
    sessions: int
    days: float
    recommended: Optional[int]
    rows: List[Dict[str, float]] = field(default_factory=list)
    reliability: Optional[Dict[str, object]] = None

    def as_dict(self) -> Dict[str, object]:
        return {"accuracy": self.accuracy, "sessions": self.sessions, "days": round(self.days, 2),
                "recommended": self.recommended, "sizes": self.rows, "reliability": self.reliability}


class NotEnoughData(ValueError):
    pass


def trace(recorded: Sequence[Recorded], seed: int = 7) -> List[traffic.Visit]:
    """Visits from recorded sessions; unknown durations drawn from the known ones."""
    known = [r.seconds for r in recorded if r.seconds is not None and r.seconds >= 0]
    rng = random.Random(seed)
    model = traffic.TrafficModel()
    visits = []
    for vid, r in enumerate(sorted(recorded, key=lambda r: r.started_at)):
        seconds = r.seconds if r.seconds is not None else (rng.choice(known) if known else model.session_mean_s)
        visit = traffic.Visit(vid, False, rng.random() < model.mobile_share, [(r.started_at, r.started_at + seconds)])
        traffic.place_call(model, visit, rng)
        visits.append(visit)
    return visits


def score(visits: List[traffic.Visit], size: int, settings: Settings) -> sweep.Point:
    return sweep.summarise(engine.run(engine.CalltrackPolicy(size, settings, mark_calls=False), visits))


def advise(recorded: Sequence[Recorded], accuracy: float, settings: Settings,
           sizes: Optional[Iterable[int]] = None, current: Optional[int] = None) -> Advice:
    """Smallest pool size whose near-call accuracy reaches `accuracy` (None if none up to
    MAX_POOL). With `current`, the reliability table (confidence band → share right) and
    AUC are those of the replay at the current size, else at the recommended one."""
    if len(recorded) < MIN_SESSIONS:
        raise NotEnoughData(f"{len(recorded)} recorded session(s); the advisor needs at least {MIN_SESSIONS}")
    visits = trace(recorded)
    days = max(1.0, (visits[-1].segments[0][0] - visits[0].segments[0][0]) / traffic.DAY)
    cache: Dict[int, sweep.Point] = {}

    def at(size: int) -> sweep.Point:
        if size not in cache:
            cache[size] = score(visits, size, settings)
        return cache[size]

    recommended = _smallest(lambda s: at(s).near_right >= accuracy, list(sizes) if sizes else None)
    measured_at = current if current else recommended
    if measured_at:
        at(measured_at)
    rows = [{"size": s, "right_near": round(p.near_right, 4), "right": round(p.right, 4),
             "wrong": round(p.wrong, 4), "exhaustion": round(p.exhaustion, 4)} for s, p in sorted(cache.items())]
    advice = Advice(accuracy, len(recorded), days, recommended, rows)
    if measured_at:
        advice.reliability = reliability(cache[measured_at])
    return advice


def reliability(point: sweep.Point) -> Dict[str, object]:
    """Confidence band → measured share right on the replay (calls with an answer), and AUC."""
    return {"pool_size": point.size, "auc": None if point.auc is None else round(point.auc, 3),
            "bands": [{"band": label, "calls": n, "right": None if share is None else round(share, 4)}
                      for label, n, share in point.calibration]}


def _smallest(ok: Callable[[int], bool], sizes: Optional[List[int]]) -> Optional[int]:
    if sizes:
        return next((s for s in sorted(sizes) if ok(s)), None)
    hi = 1
    while not ok(hi):                       # double until good enough …
        if hi >= MAX_POOL:
            return None
        hi = min(MAX_POOL, hi * 2)
    lo = hi // 2                            # … then bisect (accuracy grows with the pool)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def recorded_sessions(account_id: str, pool_id: str, days: float,
                      clock: Clock = time.time) -> Tuple[List[Recorded], List[float]]:
    """The pool's sessions of the last `days` days with their lease spans; and the start
    times of the account's sessions that got a fallback number (possible exhaustion)."""
    from chalicelib.dni import leases
    from chalicelib.dni.models import Lease, Session

    since = clock() - days * traffic.DAY
    spans: Dict[str, float] = {}
    for item in leases.read_pool(account_id, pool_id):
        if item.holder:
            spans[item.holder] = float(item.last_seen or item.leased_at) - float(item.leased_at)
        for lease in Lease.query(item.number, Lease.started_at >= since):
            spans[lease.session_id] = float(lease.last_seen or lease.started_at) - float(lease.started_at)
    recorded: List[Recorded] = []
    fallback: List[float] = []
    for s in Session.account_index.query(account_id, Session.started_at >= since):
        if s.bot:
            continue
        if s.pool_id == pool_id:
            recorded.append(Recorded(float(s.started_at), spans.get(s.session_id)))
        elif s.method == "default":
            fallback.append(float(s.started_at))
    return recorded, fallback


def advise_account(account_id: str, pool_id: str, accuracy: float, days: float, settings: Settings,
                   clock: Clock = time.time) -> Dict[str, object]:
    """The advice for one pool of an account, as the admin API and CLI answer it, with the
    one recommendation (sizing.recommend). Advice at the default accuracy and window is
    kept for pool health (sizing.store)."""
    from chalicelib.dni import leases, sizing
    from chalicelib.reports import pools

    recorded, fallback = recorded_sessions(account_id, pool_id, days, clock)
    current = len([n for n in leases.read_pool(account_id, pool_id) if n.enabled])
    # Visitors refused a number are demand too: for the account's default pool they join the
    # replay (their time on the page drawn from the recorded ones), so an exhausted pool's
    # advice is not a lower bound. (Which other pool a refused visitor wanted is unknown.)
    refused = [Recorded(t, None) for t in fallback] if recorded and pool_id == _default_pool(account_id) else []
    try:
        answer = advise(recorded + refused, accuracy, settings, current=current or None).as_dict()
    except NotEnoughData as err:
        answer = {"accuracy": accuracy, "sessions": len(recorded), "days": days, "recommended": None,
                  "sizes": [], "reliability": None, "note": str(err)}
    now = clock()
    answer.update({"account_id": account_id, "pool_id": pool_id, "current_size": current,
                   "fallback_sessions": len(fallback), "refused_in_replay": len(refused),
                   "burst_warning": sizing.burst_warning(fallback, days * 24.0),
                   "measure": "share of calls during the visit or within 10 minutes after it attributed to the "
                              "right session"})
    if accuracy == sizing.DEFAULT_ACCURACY and days == sizing.DEFAULT_DAYS:
        sizing.store(account_id, pool_id, answer, now)
    health = pools.pool_health(account_id, pool=pool_id, clock=clock, advice={**answer, "computed_at": now})
    answer["recommendation"] = health["pools"][0]["recommendation"]
    return answer


def _default_pool(account_id: str) -> Optional[str]:
    from chalicelib.accounts import get_account

    return get_account(account_id).default_pool


def refresh_all(clock: Clock = time.time, budget_seconds: float = 780.0) -> Dict[str, int]:
    """The daily schedule: the default advice for every pool of every account, one pool
    after another within `budget_seconds` (the function has 900 s, .chalice/config.json).
    The list starts at a different pool each day, so when a day's budget runs out the
    pools left over are first the next day; one pool's failure is logged, not raised."""
    from chalicelib.accounts import get_account
    from chalicelib.dni import sizing
    from chalicelib.dni.models import Account
    from chalicelib.observability import logger
    from chalicelib.reports import pools

    started = time.monotonic()
    work = []
    for item in Account.scan(attributes_to_get=["account_id"]):
        account = get_account(item.account_id, clock)
        work += [(item.account_id, pool_id, account.settings) for pool_id in pools.pool_ids(account)]
    work.sort(key=lambda w: (w[0], w[1]))
    start = int(clock() // traffic.DAY) % len(work) if work else 0
    done = failed = 0
    for account_id, pool_id, settings in work[start:] + work[:start]:
        if time.monotonic() - started > budget_seconds:
            break
        try:
            advise_account(account_id, pool_id, sizing.DEFAULT_ACCURACY, sizing.DEFAULT_DAYS, settings, clock)
            done += 1
        except Exception as err:  # noqa: BLE001 - one pool must not stop the others
            failed += 1
            logger.warning("pool advice failed", extra={"account": account_id, "pool": pool_id, "error": str(err)})
    return {"pools": done, "failed": failed, "left": len(work) - done - failed}
