"""Fit the attribution confidence (chalicelib/dni/history.py, COEFFICIENTS) on simulated
calls, and check it on other seeds. Prints the coefficients to paste and, per scenario and
pool size, the ROC AUC of the weight share (before) and of the calibrated confidence, the
calls at 0.9 and above and the share of them right. Writes nothing.

    .venv/bin/python scripts/fit_confidence.py            # ~2 min on 2 cores

Training data: every preset scenario (chalicelib/sim/scenarios.py) at 1,200 visits/day,
pool sizes 15/30/60/100, seeds 11 and 12, 7 days each; each call after the first day the
policy answered from the history inside a lease or its grace (idle claims and repeat
callers keep their own confidence) gives one row: the features at call time, right or
wrong. Check: seed 23, every answered call (idle claims included).
Logistic regression by Newton's method with a small ridge (numpy, a dev dependency).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.dni import history  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from chalicelib.sim import engine, scenarios, sweep, traffic  # noqa: E402

SIZES = (15, 30, 60, 100)
TRAIN_SEEDS = (11, 12)
CHECK_SEED = 23
DAYS = 7.0
# The first day is left out: the simulated pool starts unused, so nobody outside the run
# can call its numbers then, which no real pool offers.
WARM_UP = 86400.0


def rows(scenario: str, size: int, seed: int) -> Tuple[List[List[float]], List[int]]:
    """Features and truth of every call of one run answered inside a lease or its grace."""
    model = traffic.TrafficModel().with_overrides({k: str(v) for k, v in scenarios.PRESETS[scenario].traffic.items()})
    visits = traffic.generate(model, DAYS, seed)
    xs: List[List[float]] = []
    ys: List[int] = []
    last: Dict[str, Optional[Dict[str, float]]] = {"f": None}
    calibrated, score = history.calibrated, engine._score

    def capture(f: Dict[str, float]) -> float:
        last["f"] = f
        return f["share"]

    def scored(policy, v, st, now):
        last["f"] = None
        result = score(policy, v, st, now)
        if result.outcome != "none" and last["f"] is not None and now >= WARM_UP:
            xs.append([last["f"][k] for k in history.FEATURES])
            ys.append(int(result.outcome == "right"))
        return result

    history.calibrated, engine._score = capture, scored
    try:
        engine.run(engine.CalltrackPolicy(size, Settings()), visits)
    finally:
        history.calibrated, engine._score = calibrated, score
    return xs, ys


def check(scenario: str, size: int, share_only: bool = False) -> sweep.Point:
    """Every call of the check seed through the policy, with the fitted confidence (or the
    weight share alone, as before calibration)."""
    model = traffic.TrafficModel().with_overrides({k: str(v) for k, v in scenarios.PRESETS[scenario].traffic.items()})
    calibrated = history.calibrated
    if share_only:
        history.calibrated = lambda f: f["share"]
    try:
        return sweep.summarise(engine.run(engine.CalltrackPolicy(size, Settings()),
                                          traffic.generate(model, DAYS, CHECK_SEED)))
    finally:
        history.calibrated = calibrated


def fit(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3, steps: int = 50) -> np.ndarray:
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-xb @ w))
        gradient = xb.T @ (p - y) + ridge * w
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + ridge * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w


def main() -> int:
    x: List[List[float]] = []
    y: List[int] = []
    for name in scenarios.PRESETS:
        for size in SIZES:
            for seed in TRAIN_SEEDS:
                a, b = rows(name, size, seed)
                x += a
                y += b
    w = fit(np.array(x), np.array(y, dtype=float))
    coefficients = {"intercept": round(float(w[0]), 3),
                    **{k: round(float(v), 3) for k, v in zip(history.FEATURES, w[1:])}}
    print(f"{len(y)} answered calls ({len(y) - sum(y)} wrong); COEFFICIENTS = {coefficients}")
    history.COEFFICIENTS.update(coefficients)
    print(f"{'scenario':14} {'pool':>4} {'calls':>6} {'AUC share':>9} {'AUC conf':>8} {'≥0.9':>6} {'right':>7} "
          f"{'late≥0.9✗':>9}")
    for name in scenarios.PRESETS:
        for size in SIZES:
            share, conf = check(name, size, share_only=True), check(name, size)
            print(f"{name:14} {size:>4} {conf.calls:>6} {share.auc or 0:>9.3f} {conf.auc or 0:>8.3f} "
                  f"{conf.confident_calls:>6} {100 * conf.confident_right:>6.1f}% {conf.late_confident_wrong_calls:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
