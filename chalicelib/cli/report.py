"""`calltrack report`: a report as a table, or exported to CSV/JSON.

    calltrack report --account acme --group-by source --from 2026-11-01 --to 2026-11-30
    calltrack report --account acme --group-by campaign --filter outcome=missed \\
        --filter within_working_hours=true --format csv -o missed.csv
    calltrack report --account acme --calls --filter status=missed --format csv -o calls.csv

Filters are the report API's query parameters (see docs/admin.md). A CSV export is
streamed to the file with a progress line on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, Optional

from chalicelib.cli.api_client import CliError, Progress, account_of, add_account_option, api_of, path, print_json, run, table

COLUMNS = ["key", "calls", "answered", "missed", "missed_pct", "unique", "target", "avg_wait", "avg_talk",
           "value", "sessions", "conversion_pct"]


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="print or export a report")
    add_account_option(parser)
    parser.add_argument("--group-by", default="source", help="source, medium, campaign, status, day, … (default source)")
    parser.add_argument("--from", dest="since", help="YYYY-MM-DD or ISO 8601")
    parser.add_argument("--to", dest="until", help="YYYY-MM-DD or ISO 8601")
    parser.add_argument("--filter", action="append", default=[], metavar="NAME=VALUE",
                        help="drill-down filter, e.g. status=missed, min_wait=10 (repeatable)")
    parser.add_argument("--calls", action="store_true", help="the matching calls instead of grouped rows")
    parser.add_argument("--limit", type=int, help="with --calls: at most this many (API max 1000)")
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
    parser.add_argument("-o", "--output", help="write to this file (default: stdout)")
    parser.set_defaults(func=report)


def params_of(args: argparse.Namespace) -> Dict[str, str]:
    params: Dict[str, str] = {"group_by": args.group_by}
    for raw in args.filter:
        name, sep, value = raw.partition("=")
        if not sep or not name:
            raise CliError(f"--filter '{raw}': use NAME=VALUE")
        params[name.strip()] = value.strip()
    if args.since:
        params["from"] = args.since
    if args.until:
        params["to"] = args.until
    if args.calls:
        params["include"] = "calls"
    if args.limit:
        params["limit"] = str(args.limit)
    return params


def _write(text: str, output: Optional[str]) -> None:
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def export_csv(args: argparse.Namespace, params: Dict[str, str]) -> int:
    api, account = api_of(args), account_of(args)
    sys.stderr.write("running the report…\n")
    r = api.request("GET", path(account, "/reports"), params={**params, "format": "csv"}, raw=True)
    body = r.content.decode("utf-8")
    lines = body.splitlines(keepends=True)
    progress = Progress(f"writing {args.output or 'stdout'}", len(lines))
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        for i, row in enumerate(lines, 1):
            out.write(row)
            if i % 200 == 0 or i == len(lines):
                progress.update(i)
    finally:
        if args.output:
            out.close()
    sys.stderr.write(f"{max(len(lines) - 1, 0)} rows\n")
    return 0


@run
def report(args: argparse.Namespace) -> int:
    params = params_of(args)
    if args.format == "csv":
        return export_csv(args, params)
    doc = api_of(args).get(path(account_of(args), "/reports"), **params)
    if args.format == "json":
        if args.output:
            _write(json.dumps(doc, indent=2, sort_keys=True) + "\n", args.output)
        else:
            print_json(doc)
        return 0
    if args.calls:
        from chalicelib.cli.calls import line

        _write("".join(line(c) + "\n" for c in doc.get("calls") or []), args.output)
        return 0
    rows = [*doc.get("rows", []), doc.get("totals") or {}]
    sys.stdout.write(f"{doc.get('from')} → {doc.get('to')} ({doc.get('timezone')}), grouped by {doc.get('group_by')}\n")
    table(rows, COLUMNS)
    return 0
