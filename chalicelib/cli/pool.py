"""`calltrack pool`: how busy each number pool is and how many numbers it should have.

    calltrack pool --account acme                 # every pool, last 7 days
    calltrack pool --account acme --days 30 --pool main --numbers

Figures come from the pool health report: leased now, peak concurrent leases over the
window, how often visitors found the pool exhausted, and the recommended size.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Dict
from urllib.parse import quote

from chalicelib.cli.api_client import account_of, add_account_option, api_of, path, print_json, run, table

COLUMNS = ["pool_id", "size", "leased_now", "utilisation_now_pct", "peak_concurrent_leases",
           "peak_utilisation_pct", "exhaustions", "recommended_size"]


def register(sub: Any) -> None:
    parser = sub.add_parser("pool", help="pool utilisation and recommended size")
    add_account_option(parser)
    parser.add_argument("--days", type=float, default=None, help="window in days (default: the API's, 7)")
    parser.add_argument("--pool", help="one pool only")
    parser.add_argument("--numbers", action="store_true", help="also list each number and its lease")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=show_pools)


def describe(pool: Dict[str, Any]) -> str:
    """The one recommendation in words (chalicelib/dni/sizing.py), as the dashboard says it."""
    rec = pool.get("recommendation") or {}
    size, want = pool.get("size", 0), pool.get("recommended_size", 0)
    verb = f"add {want - size} numbers" if want > size else "big enough"
    why = ("the replay of its own sessions" if rec.get("basis") == "simulated"
           else "its peak of concurrent leases with cool-down, +25%")
    line = f"pool {pool['pool_id']}: {verb} (recommended {want}, from {why}"
    if rec.get("expected_accuracy") is not None:
        line += f"; expected {100 * rec['expected_accuracy']:.1f}% of calls ≤10 min after the visit right"
    line += ")"
    if rec.get("warning"):
        line += f"\n  warning: {rec['warning']}"
    if rec.get("basis") == "peak" and rec.get("simulated_need") is None:
        line += f"\n  (no recent advice: `calltrack advise --pool {pool['pool_id']}` replays its sessions)"
    return line


@run
def show_pools(args: argparse.Namespace) -> int:
    api, account = api_of(args), account_of(args)
    health = api.get(path(account, "/pool-health"), days=args.days, pool=args.pool)
    if args.json:
        print_json(health)
        return 0
    pools = health.get("pools") or []
    if not pools:
        sys.stdout.write("no pools configured\n")
        return 0
    sys.stdout.write(f"window: {health.get('window_days')} days\n")
    table(pools, COLUMNS)
    for pool in pools:
        sys.stdout.write(describe(pool) + "\n")
        if args.numbers:
            detail = api.get(path(account, f"/pools/{quote(pool['pool_id'], safe='')}"))
            sys.stdout.write(f"\n{pool['pool_id']}:\n")
            table(detail["numbers"], ["number", "enabled", "leased", "lease_until", "lease_count"])
    return 0
