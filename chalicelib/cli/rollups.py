"""`calltrack rollups`: rebuild report roll-ups from the raw sessions and calls.

    calltrack rollups rebuild --account demo                       # the last 90 days
    calltrack rollups rebuild --account demo --from 2026-01-01 --to 2026-11-30

The stream consumer keeps roll-ups current by itself; rebuild is for an install that had
data before the streams existed, after a bug, or after the account's timezone changed. It
reads raw items day by day (the account's timezone), replaces each day's facts and cubes,
then sums the months, printing progress. Days older than the raw retention would come
out empty: rebuild only what raw data still covers. Talks to DynamoDB (the emulator on
the local stage) with the environment's credentials, like `calltrack dlq`.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime, timedelta
from typing import Any

DEFAULT_DAYS = 90


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from err


def _rebuild(args: argparse.Namespace) -> int:
    from chalicelib import config

    if config.is_local():          # `make run`'s emulator takes any credentials
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from chalicelib.accounts import get_account
    from chalicelib.errors import UnknownAccount
    from chalicelib.reports import rollup_store

    try:
        get_account(args.account)
    except UnknownAccount:
        print(f"rollups: no account '{args.account}'", file=sys.stderr)
        return 1
    tz = rollup_store.tz_of(args.account)
    last = args.to or datetime.now(tz).date()
    first = args.from_ or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        print("rollups: --from must not be after --to", file=sys.stderr)
        return 1
    total = (last - first).days + 1
    done = [0]

    def progress(day: str, sessions: int, calls: int) -> None:
        done[0] += 1
        print(f"  {day}  {sessions:7d} sessions {calls:6d} calls   [{done[0]}/{total}]", file=sys.stderr)

    print(f"rebuilding roll-ups of {args.account} from {first} to {last} ({tz.key})", file=sys.stderr)
    result = rollup_store.rebuild(args.account, first, last, progress=progress)
    print(f"rebuilt {result['days']} day(s): {result['sessions']} sessions, {result['calls']} calls")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("rollups", help="rebuild report roll-ups from raw sessions and calls")
    sub = parser.add_subparsers(dest="rollups_command", required=True)
    rebuild = sub.add_parser("rebuild", help="recompute the roll-ups of a date range from raw items")
    rebuild.add_argument("--account", required=True)
    rebuild.add_argument("--from", dest="from_", type=_day, help=f"first day (default: {DEFAULT_DAYS} days back)")
    rebuild.add_argument("--to", type=_day, help="last day (default: today, account's timezone)")
    rebuild.set_defaults(func=_rebuild)
