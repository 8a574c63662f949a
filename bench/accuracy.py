"""Attribution accuracy on each traffic scenario (chalicelib/sim/scenarios.py), at the size
the product recommends and at half the 1-per-20 rule, with the naive baseline beside it.

How the recommended size is found, as a customer's install would find it: a first week of
the scenario's traffic is what the account records (arrival times and how long each
visitor's page kept its number beating, at a roomy pool); the advisor replays those
recorded sessions (chalicelib/dni/advisor.py, its own default call model, not the
scenario's) and the one recommendation follows (chalicelib/dni/sizing.py: the replay's
size, at least the week's peak of leases at once). Accuracy is then measured on a *different*
week (another seed) with the scenario's real call timing, so the recommendation is
judged out of sample.

    python -m bench.accuracy                    # every preset at 1,200 visits/day; default and hard at 300 and 10,000
    python -m bench.accuracy --quick            # fewer days (smoke)
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Dict, List, Optional, Sequence

from chalicelib.dni import advisor, sizing
from chalicelib.reports import pools
from chalicelib.settings import Settings
from chalicelib.sim import engine, scenarios, sweep, traffic

ROOMY = 4.0          # the recording pool: this many times the 1-per-20 rule, so nobody is refused


def recorded(visits: Sequence[traffic.Visit], policy: engine.CalltrackPolicy) -> List[advisor.Recorded]:
    """What the account's tables hold of a week: each visitor's start and how long their
    page kept the number (first open to the last beat of the last segment)."""
    out = []
    for v in visits:
        if v.bot:
            continue
        last = len(v.segments) - 1
        out.append(advisor.Recorded(v.segments[0][0], engine.beat_until(policy, v, last) - v.segments[0][0]))
    return out


def peaks(visits: Sequence[traffic.Visit], policy: engine.CalltrackPolicy, settings: Settings) -> tuple:
    """The week's most leases at once, without and with each number's cool-down."""
    hold, cool = settings.lease_ttl_seconds, settings.cooldown_seconds
    ends = [(v.segments[0][0], engine.beat_until(policy, v, len(v.segments) - 1) + hold) for v in visits if not v.bot]
    return pools.peak_concurrent(ends), pools.peak_concurrent([(a, b + cool) for a, b in ends])


def one(name: str, visits_per_day: float, days: float, settings: Settings) -> Dict[str, Any]:
    scenario = scenarios.PRESETS[name]
    model = traffic.TrafficModel(visits_per_day=visits_per_day).with_overrides(
        {k: str(v) for k, v in scenario.traffic.items()})
    rule = sweep.ctm_rule(visits_per_day)
    week = traffic.generate(model, days, seed=101)
    probe = engine.CalltrackPolicy(int(rule * ROOMY), settings)
    started = time.perf_counter()
    advice = advisor.advise(recorded(week, probe), sizing.DEFAULT_ACCURACY, settings).as_dict()
    advice["computed_at"] = 0.0
    rec = sizing.recommend(0, *peaks(week, probe, settings), 0, advice, 0.0)
    advise_s = time.perf_counter() - started
    sizes = sorted({max(1, rule // 2), rec["recommended_size"]})
    points = sweep.sweep(sizes, days, seed=202, model=model, settings=settings)
    by = {(p.policy, p.size): p for p in points}
    rows = []
    for size in sizes:
        ours, naive = by[("calltrack", size)], by[("naive", size)]
        rows.append({"size": size, "why": ("recommended" if size == rec["recommended_size"] else "half the rule"),
                     "calls": ours.calls, "by_delay": ours.by_delay, "naive_by_delay": naive.by_delay,
                     "right": ours.right, "wrong": ours.wrong, "naive_right": naive.right,
                     "naive_wrong": naive.wrong, "auc": ours.auc, "calibration": ours.calibration,
                     "confident_calls": ours.confident_calls, "confident_right": ours.confident_right,
                     "late_confident_wrong": ours.late_confident_wrong_calls, "exhaustion": ours.exhaustion,
                     "repeat_calls": ours.repeat_calls, "repeat_right": ours.repeat_right})
    return {"scenario": name, "visits_per_day": visits_per_day, "days": days, "rule": rule,
            "recommended": rec["recommended_size"], "basis": rec["basis"], "peak_need": rec["peak_need"],
            "simulated_need": rec["simulated_need"], "expected": rec["expected_accuracy"],
            "advise_seconds": round(advise_s, 1), "rows": rows}


def measure(quick: bool = False) -> List[Dict[str, Any]]:
    settings = Settings()
    days = 2.0 if quick else 7.0
    plan = [(name, 1200.0) for name in scenarios.PRESETS]
    plan += [] if quick else [("default", 300.0), ("hard", 300.0), ("default", 10000.0), ("hard", 10000.0)]
    return [one(name, vpd, days if vpd < 10000 else min(days, 3.0), settings) for name, vpd in plan]


def _rwn(cell: Optional[Sequence[float]]) -> str:
    if not cell or not cell[0]:
        return "–"
    return f"{100 * cell[1]:.1f} / {100 * cell[2]:.1f} / {100 * cell[3]:.1f} ({cell[0]})"


def lines(results: Optional[List[Dict[str, Any]]]) -> List[str]:
    if not results:
        return []
    out = ["", "Attribution on harder traffic (bench/accuracy.py: the size recommended from a recorded week, "
                "measured on another week; right / wrong / none % of the calls in each delay bucket):", "",
           "| scenario | visits/day | pool | calls | ≤10 min | 10–60 min | later | naive ≤10 min | right / wrong "
           "(naive) | AUC | ≥0.9: calls, right | late ≥0.9 wrong | repeat right |",
           "|---|---:|---|---:|---|---|---|---|---|---:|---|---:|---:|"]
    for r in results:
        for row in r["rows"]:
            size = f"{row['size']} ({row['why']}"
            if row["why"] == "recommended":
                size += f", from the {r['basis']} measure; replay expected " + \
                        ("–" if r["expected"] is None else f"{100 * r['expected']:.1f}%")
            size += ")"
            d, n = row["by_delay"], row["naive_by_delay"]
            auc = "–" if row["auc"] is None else f"{row['auc']:.3f}"
            conf = f"{row['confident_calls']}, {100 * row['confident_right']:.1f}%" if row["confident_calls"] else "0"
            rep = f"{100 * row['repeat_right']:.1f}% of {row['repeat_calls']}" if row["repeat_calls"] else "–"
            out.append(f"| {r['scenario']} | {r['visits_per_day']:,.0f} | {size} | {row['calls']} | "
                       f"{_rwn(d.get('≤10 min'))} | {_rwn(d.get('10-60 min'))} | {_rwn(d.get('later'))} | "
                       f"{_rwn(n.get('≤10 min'))} | {100 * row['right']:.1f} / {100 * row['wrong']:.1f} "
                       f"({100 * row['naive_right']:.1f} / {100 * row['naive_wrong']:.1f}) | {auc} | {conf} | "
                       f"{row['late_confident_wrong']} | {rep} |")
    out += ["", "Reliability (confidence band → share right, calls) at the recommended size:", "",
            "| scenario | visits/day | " + " | ".join(label for label, _, _ in results[0]["rows"][-1]["calibration"]) + " |",
            "|---|---:|" + "---:|" * len(results[0]["rows"][-1]["calibration"])]
    for r in results:
        row = next(x for x in r["rows"] if x["why"] == "recommended")
        cells = ["–" if share is None else f"{100 * share:.1f}% ({n})" for _, n, share in row["calibration"]]
        out.append(f"| {r['scenario']} | {r['visits_per_day']:,.0f} | " + " | ".join(cells) + " |")
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print("\n".join(lines(measure(args.quick))))
    print(f"\n(ran {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
