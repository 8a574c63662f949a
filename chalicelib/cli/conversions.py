"""`calltrack conversions`: offline conversions for bid management.

    calltrack conversions export --account acme --platform google-ads --kind click > clicks.csv
    calltrack conversions export --account acme --platform google-ads --kind call -o calls.csv
    calltrack conversions export --account acme --platform microsoft-ads --since 2026-11-01
    calltrack conversions feed --account acme --after <cursor> --platform google_ads

`export` writes the ad platform's upload template (stdout or -o) and reports on stderr how many
rows it holds and how many call conversions are held back (younger than 12 hours, Google's
TOO_RECENT_CALL). `feed` prints the conversions recorded since the cursor and the next cursor.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from chalicelib.cli.api_client import account_of, add_account_option, api_of, path, print_json, run, table

PLATFORM_FILES = {"google-ads": "google-ads.csv", "microsoft-ads": "microsoft-ads.csv"}


def register(sub: Any) -> None:
    parser = sub.add_parser("conversions", help="offline conversion files and feed for bid management")
    actions = parser.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="the ad platform's offline conversion upload file")
    add_account_option(export)
    export.add_argument("--platform", choices=sorted(PLATFORM_FILES), default="google-ads")
    export.add_argument("--kind", choices=["click", "call"], default="click",
                        help="google-ads: click conversions (gclid) or call conversions (caller id)")
    export.add_argument("--since", help="calls started from (ISO 8601; default 30 days ago)")
    export.add_argument("--until", help="calls started until (ISO 8601; default now)")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(func=export_file)
    feed = actions.add_parser("feed", help="conversions recorded since a cursor")
    add_account_option(feed)
    feed.add_argument("--after", help="the `next` cursor of the previous run")
    feed.add_argument("--platform", choices=["google_ads", "microsoft_ads"])
    feed.add_argument("--limit", type=int, default=100)
    feed.add_argument("--json", action="store_true", help="print the API's JSON answer")
    feed.set_defaults(func=show_feed)


@run
def export_file(args: argparse.Namespace) -> int:
    api, account = api_of(args), account_of(args)
    params = {"since": args.since, "until": args.until}
    if args.platform == "google-ads":
        params["kind"] = args.kind
    answer = api.request("GET", path(account, "/exports/" + PLATFORM_FILES[args.platform]),
                         params={k: v for k, v in params.items() if v}, raw=True)
    text = answer.content.decode("utf-8")
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    held = answer.headers.get("X-Calltrack-Held-Back", "0")
    sys.stderr.write(f"{answer.headers.get('X-Calltrack-Rows', '?')} conversion(s)"
                     + (f", {held} call conversion(s) held back until 12 hours old" if held != "0" else "")
                     + (f", {answer.headers.get('X-Calltrack-Skipped')} skipped (call no longer stored)"
                        if answer.headers.get("X-Calltrack-Skipped", "0") != "0" else "") + "\n")
    return 0


@run
def show_feed(args: argparse.Namespace) -> int:
    api, account = api_of(args), account_of(args)
    page = api.get(path(account, "/feeds/conversions"), after=args.after, platform=args.platform, limit=args.limit)
    if args.json:
        print_json(page)
        return 0
    rows = [{**c, "click_id": c.get("gclid") or c.get("msclkid")} for c in page["conversions"]]
    table(rows, ["recorded_at", "platform", "kind", "conversion_name", "click_id", "value", "currency", "call_id"])
    sys.stderr.write(f"next: {page['next'] or '-'}\n")
    return 0
