"""Sweep pool sizes for both policies and summarise: shares right / wrong / unattributed,
pool exhaustion, late calls, and the calibration table (confidence bucket → share right)."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from chalicelib.settings import Settings
from chalicelib.sim import engine, traffic

DEFAULT_SIZES = (2, 5, 10, 15, 20, 30, 40, 60, 80, 100)
# Confidence buckets of the calibration table: [low, high).
BUCKETS: Tuple[Tuple[float, float], ...] = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 1.01))
CONFIDENT = 0.9
# Delay buckets: seconds after the visit's active end, [low, high).
DELAYS: Tuple[Tuple[str, float, float], ...] = (("≤10 min", 0.0, 600.0), ("10-60 min", 600.0, 3600.0),
                                                 ("later", 3600.0, float("inf")))


def auc(pairs: Sequence[Tuple[float, bool]]) -> Optional[float]:
    """ROC AUC of confidence for right (True) vs wrong answers: the chance a random right
    answer has higher confidence than a random wrong one (ties count half). None without both."""
    ranked = sorted(pairs, key=lambda p: p[0])
    n_right = sum(1 for _, ok in ranked if ok)
    n_wrong = len(ranked) - n_right
    if not n_right or not n_wrong:
        return None
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + 1 + j) / 2.0                  # average rank of the tie group (1-based)
        rank_sum += mid * sum(1 for _, ok in ranked[i:j] if ok)
        i = j
    return (rank_sum - n_right * (n_right + 1) / 2.0) / (n_right * n_wrong)


def ctm_rule(visits_per_day: float) -> int:
    """CallTrackingMetrics' sizing rule: one number per 20 daily visitors."""
    return max(1, round(visits_per_day / 20))


@dataclass
class Point:
    policy: str
    size: int
    calls: int
    right: float
    wrong: float
    unattributed: float
    exhaustion: float
    near_calls: int            # during the visit or within 10 minutes after
    near_right: float
    late_calls: int
    late_right: float
    late_confident_wrong: float   # late calls given confidence >= 0.9 and wrong
    confident_calls: int          # calls with confidence >= 0.9
    confident_right: float
    calibration: List[Tuple[str, int, Optional[float]]] = field(default_factory=list)
    # By how long after the visit's active end the call came (DELAYS): calls, right, wrong, none.
    by_delay: Dict[str, Tuple[int, float, float, float]] = field(default_factory=dict)
    auc: Optional[float] = None                 # confidence separating right from wrong (ROC AUC)
    late_confident_wrong_calls: int = 0         # calls > 10 min after the visit, >= 0.9 and wrong
    repeat_calls: int = 0
    repeat_right: float = 0.0
    repeat_wrong: float = 0.0

    def as_row(self) -> Dict[str, object]:
        row = {k: v for k, v in self.__dict__.items() if k not in ("calibration", "by_delay")}
        for label, n, share in self.calibration:
            row[f"cal {label} n"] = n
            row[f"cal {label} right"] = "" if share is None else round(share, 4)
        for label, (n, right, wrong, none) in self.by_delay.items():
            row[f"{label} n"], row[f"{label} right"] = n, round(right, 4)
            row[f"{label} wrong"], row[f"{label} none"] = round(wrong, 4), round(none, 4)
        return row


def _share(n: int, total: int) -> float:
    return n / total if total else 0.0


def summarise(res: engine.RunResult) -> Point:
    point = _summarise(res)
    first = [c for c in res.calls if c.kind != "repeat"]
    for label, lo, hi in DELAYS:
        inside = [c for c in first if lo <= c.delay < hi]
        point.by_delay[label] = (len(inside), *(_share(sum(c.outcome == o for c in inside), len(inside))
                                                for o in ("right", "wrong", "none")))
    answered = [(c.confidence, c.outcome == "right") for c in res.calls if c.outcome != "none"]
    point.auc = auc(answered)
    point.late_confident_wrong_calls = sum(1 for c in first if c.delay >= 600 and c.outcome == "wrong"
                                           and c.confidence >= CONFIDENT)
    repeats = [c for c in res.calls if c.kind == "repeat"]
    point.repeat_calls = len(repeats)
    point.repeat_right = _share(sum(c.outcome == "right" for c in repeats), len(repeats))
    point.repeat_wrong = _share(sum(c.outcome == "wrong" for c in repeats), len(repeats))
    return point


def _summarise(res: engine.RunResult) -> Point:
    calls = res.calls
    near = [c for c in calls if c.kind in ("during", "soon")]
    late = [c for c in calls if c.kind == "late"]
    confident = [c for c in calls if c.outcome != "none" and c.confidence >= CONFIDENT]
    calibration = []
    for lo, hi in BUCKETS:
        inside = [c for c in calls if c.outcome != "none" and lo <= c.confidence < hi]
        label = f"{lo:.2f}-{min(hi, 1.0):.2f}"
        share = _share(sum(c.outcome == "right" for c in inside), len(inside)) if inside else None
        calibration.append((label, len(inside), share))
    count = lambda cs, o: sum(c.outcome == o for c in cs)  # noqa: E731
    return Point(
        policy=res.policy, size=res.size, calls=len(calls),
        right=_share(count(calls, "right"), len(calls)), wrong=_share(count(calls, "wrong"), len(calls)),
        unattributed=_share(count(calls, "none"), len(calls)),
        exhaustion=_share(res.exhausted, res.lease_requests),
        near_calls=len(near), near_right=_share(count(near, "right"), len(near)),
        late_calls=len(late), late_right=_share(count(late, "right"), len(late)),
        late_confident_wrong=_share(sum(c.outcome == "wrong" and c.confidence >= CONFIDENT for c in late), len(late)),
        confident_calls=len(confident), confident_right=_share(count(confident, "right"), len(confident)),
        calibration=calibration,
    )


@dataclass(frozen=True)
class Job:
    policy: str
    size: int
    days: float
    seed: int
    model: traffic.TrafficModel
    settings: Settings
    baseline_grace: float = engine.NaivePolicy.GRACE


_cache: Dict[Tuple, List[traffic.Visit]] = {}


def _visits(model: traffic.TrafficModel, days: float, seed: int) -> List[traffic.Visit]:
    key = (model, days, seed)
    if key not in _cache:
        _cache.clear()
        _cache[key] = traffic.generate(model, days, seed)
    return _cache[key]


def run_job(job: Job) -> Point:
    visits = _visits(job.model, job.days, job.seed)
    if job.policy == "naive":
        policy = engine.NaivePolicy(job.size, job.seed, job.baseline_grace)
    else:
        policy = engine.CalltrackPolicy(job.size, job.settings)
    return summarise(engine.run(policy, visits))


def sweep(sizes: Sequence[int] = DEFAULT_SIZES, days: float = 14, seed: int = 1,
          model: Optional[traffic.TrafficModel] = None, settings: Optional[Settings] = None,
          policies: Sequence[str] = ("calltrack", "naive"), workers: Optional[int] = None,
          baseline_grace: float = engine.NaivePolicy.GRACE) -> List[Point]:
    model = model or traffic.TrafficModel()
    settings = settings or Settings()
    jobs = [Job(p, s, days, seed, model, settings, baseline_grace) for s in sizes for p in policies]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [run_job(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run_job, jobs, chunksize=max(1, len(jobs) // (workers * 4))))


def target_misses(points: Sequence[Point], visits_per_day: float) -> List[str]:
    """Issue 7's targets, checked on one sweep (both policies): what is missed, if anything.
    - at half the CallTrackingMetrics rule: >= 99% right of calls during the visit or <= 10 min after;
    - at every size: more right and fewer wrong than the naive baseline;
    - at every size from half the rule up: >= 99% right among calls with confidence >= 0.9."""
    half = ctm_rule(visits_per_day) // 2
    ours = {p.size: p for p in points if p.policy == "calltrack"}
    naive = {p.size: p for p in points if p.policy == "naive"}
    misses = []
    for size, p in sorted(ours.items()):
        base = naive.get(size)
        if base and not p.right > base.right:
            misses.append(f"{size}: right {p.right:.2%} vs baseline {base.right:.2%}")
        if base and not p.wrong < base.wrong:
            misses.append(f"{size}: wrong {p.wrong:.2%} vs baseline {base.wrong:.2%}")
        if size == half and p.near_right < 0.99:
            misses.append(f"{size}: {p.near_right:.2%} right within 10 min")
        if size >= half and p.confident_calls and p.confident_right < 0.99:
            wrong = round(p.confident_calls * (1 - p.confident_right))
            misses.append(f"{size}: {p.confident_right:.2%} right among {p.confident_calls} calls >= 0.9 ({wrong} wrong)")
    return misses
