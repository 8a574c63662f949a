"""`calltrack simulate` and `calltrack advise`: attribution accuracy by pool size, and
the pool an account needs.

    calltrack simulate                                  # 2..100 numbers, 28 days, both policies
    calltrack simulate --sizes 10,30,60 --days 14 --set late_median_s=3600 --setting grace_seconds=3600
    calltrack simulate --seeds 1-20                     # the accuracy targets (docs/accuracy.md), seed by seed
    calltrack simulate --scenario bursts --days 7       # a preset (chalicelib/sim/scenarios.py) or a JSON file
    calltrack advise --account demo --pool main --accuracy 0.99   # through the admin API

`simulate` prints the table and the calibration table; with `--csv` / `--plot` it also writes
them to those paths (`--publish`: the committed bench/results/accuracy.csv and
docs/img/accuracy.png; nothing tracked is overwritten unless asked). Traffic parameters (`--set`) are
the fields of chalicelib.sim.traffic.TrafficModel; lease settings (`--setting`) those
of chalicelib.settings.Settings.
"""
from __future__ import annotations

import argparse
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List

from chalicelib.cli.api_client import account_of, add_account_option, api_of, path, run
from chalicelib.settings import Settings
from chalicelib.errors import ValidationFailed
from chalicelib.sim import report, scenarios, sweep, traffic

ROOT = Path(__file__).resolve().parents[2]


def _pairs(items: List[str]) -> Dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected name=value, got '{item}'")
        out[key.strip()] = value.strip()
    return out


def _settings(overrides: Dict[str, str]) -> Settings:
    base = Settings().as_dict()
    unknown = set(overrides) - set(base)
    if unknown:
        raise SystemExit(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return Settings.from_map({**base, **{k: type(base[k])(v) for k, v in overrides.items()}})


def _seed_range(text: str) -> List[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def simulate(args: argparse.Namespace) -> int:
    try:
        scenario = scenarios.load(args.scenario)
    except ValidationFailed as err:
        raise SystemExit(str(err)) from err
    try:     # a misspelled or non-numeric parameter is one line, not a traceback
        model = traffic.TrafficModel().with_overrides({**{k: str(v) for k, v in scenario.traffic.items()},
                                                       **_pairs(args.set)})
        settings = _settings({**{k: str(v) for k, v in scenario.settings.items()}, **_pairs(args.setting)})
    except (TypeError, ValueError) as err:
        raise SystemExit(f"scenario {scenario.name}: {err}") from err
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.seeds:
        return check_seeds(_seed_range(args.seeds), sizes, args, model, settings)
    started = time.perf_counter()
    points = sweep.sweep(sizes, args.days, args.seed, model, settings, workers=args.workers,
                         baseline_grace=args.baseline_grace * 60)
    elapsed = time.perf_counter() - started
    rule = sweep.ctm_rule(model.visits_per_day)
    print(f"scenario {scenario.name}: {scenario.description}")
    print(f"{model.visits_per_day:.0f} visits/day, {args.days:g} days, seed {args.seed}; lease settings: "
          f"heartbeat {settings.heartbeat_seconds}s, hold {settings.lease_ttl_seconds}s after the last beat, "
          f"cool-down {settings.cooldown_seconds}s {settings.cooldown_mode}, grace {settings.grace_seconds}s, "
          f"idle tabs stop after {settings.idle_seconds}s")
    print(report.table(points, rule))
    print()
    print(report.delay_table(points, rule))
    print()
    print(report.calibration_table(points))
    print(f"\n{len(points)} runs in {elapsed:.1f} s")
    if args.publish:
        args.csv = args.csv or str(ROOT / "bench" / "results" / "accuracy.csv")
        args.plot = args.plot or str(ROOT / "docs" / "img" / "accuracy.png")
    if args.csv:
        report.write_csv(points, Path(args.csv))
        print(f"CSV: {args.csv}")
    if args.plot:
        report.plot(points, rule, Path(args.plot),
                    f"Calls attributed, {model.visits_per_day:.0f} visits/day, {args.days:g} days simulated")
        print(f"plot: {args.plot}")
    return 0


def check_seeds(seeds: List[int], sizes: List[int], args: argparse.Namespace, model: traffic.TrafficModel,
                settings: Settings) -> int:
    """Issue 7's targets on each seed (`sweep.target_misses`): one line per seed; exits 1
    when a seed misses one. The target size (half the CallTrackingMetrics rule) is always
    among the sizes checked."""
    half = sweep.ctm_rule(model.visits_per_day) // 2
    sizes = sorted(set(sizes) | {half})
    started, missed = time.perf_counter(), 0
    for seed in seeds:
        misses = sweep.target_misses(sweep.sweep(sizes, args.days, seed, model, settings, workers=args.workers,
                                                 baseline_grace=args.baseline_grace * 60), model.visits_per_day)
        missed += bool(misses)
        print(f"seed {seed:>3}: " + ("all targets met" if not misses else "; ".join(misses)), flush=True)
    print(f"{len(seeds) - missed} of {len(seeds)} seeds meet every target "
          f"({args.days:g} days each, {time.perf_counter() - started:.0f} s)")
    return 1 if missed else 0


@run
def advise(args: argparse.Namespace) -> int:
    """Through the API, with the CLI's shared client (one `error:` line when it fails)."""
    suffix = f"/pools/{urllib.parse.quote(args.pool, safe='')}/advice"
    print(format_advice(api_of(args).get(path(account_of(args), suffix), accuracy=args.accuracy, days=args.days)))
    return 0


def format_advice(a: Dict[str, Any]) -> str:
    lines = [f"pool {a['pool_id']} of {a['account_id']}: {a['sessions']} sessions over {a['days']} days, "
             f"{a['current_size']} numbers now"]
    if a.get("note"):
        lines.append(a["note"])
    for row in a.get("sizes", []):
        lines.append(f"  {row['size']:>4} numbers: {100 * row['right_near']:5.1f}% right (≤10 min), "
                     f"{100 * row['wrong']:4.1f}% wrong overall, {100 * row['exhaustion']:4.1f}% exhausted")
    rec = a.get("recommended")
    lines.append(f"smallest pool reaching {100 * a['accuracy']:.1f}% in the replay: {rec if rec else 'none up to the limit'}")
    rel = a.get("reliability")
    if rel:
        lines.append(f"reliability at {rel['pool_size']} numbers (confidence band → share right), AUC {rel['auc']}:")
        for band in rel["bands"]:
            right = "–" if band["right"] is None else f"{100 * band['right']:.1f}%"
            lines.append(f"  {band['band']}: {right} of {band['calls']}")
    if a.get("recommendation"):
        from chalicelib.cli.pool import describe

        lines.append(describe({"pool_id": a["pool_id"], "size": a["current_size"],
                               "recommended_size": a["recommendation"]["recommended_size"],
                               "recommendation": a["recommendation"]}))
    return "\n".join(lines)


def engine_grace_minutes() -> float:
    from chalicelib.sim import engine

    return engine.NaivePolicy.GRACE / 60


def register(subparsers: Any) -> None:
    sim = subparsers.add_parser("simulate", help="attribution accuracy by pool size (traffic simulator)")
    sim.add_argument("--sizes", default=",".join(str(s) for s in sweep.DEFAULT_SIZES))
    sim.add_argument("--days", type=float, default=28.0)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--baseline-grace", type=float, default=engine_grace_minutes(), metavar="MINUTES",
                     help="the naive baseline's attribution window after its 15-minute lease (default 30)")
    sim.add_argument("--seeds", default=None, metavar="A-B",
                     help="check the accuracy targets (docs/accuracy.md) on each seed of a range instead (no table, CSV or plot)")
    sim.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    sim.add_argument("--scenario", default="default", metavar="NAME|FILE",
                     help=f"traffic preset ({', '.join(scenarios.PRESETS)}) or a JSON file "
                          "(chalicelib/sim/scenarios.py, docs/accuracy.md); --set/--setting apply on top")
    sim.add_argument("--set", action="append", metavar="NAME=VALUE", help="traffic parameter (TrafficModel)")
    sim.add_argument("--setting", action="append", metavar="NAME=VALUE", help="lease setting (Settings)")
    sim.add_argument("--csv", default=None, help="write the table as CSV here")
    sim.add_argument("--plot", default=None, help="write the plot (PNG) here")
    sim.add_argument("--publish", action="store_true",
                     help="write the committed bench/results/accuracy.csv and docs/img/accuracy.png")
    sim.set_defaults(func=simulate)
    adv = subparsers.add_parser("advise", help="smallest pool reaching an accuracy, from the account's sessions")
    add_account_option(adv)
    adv.add_argument("--pool", default="main")
    adv.add_argument("--accuracy", type=float, default=0.99)
    adv.add_argument("--days", type=float, default=14.0)
    adv.set_defaults(func=advise)
