"""`calltrack calls tail`: follow an account's calls as they happen; `calltrack calls spam`:
a person's verdict on one call (docs/intelligence.md).

    calltrack calls tail --account acme                # last hour, then follow (Ctrl-C stops)
    calltrack calls tail --account acme --lookback 1440 --polls 1   # last day, once
    calltrack calls spam CALL_ID --account acme --block   # spam; refuse the caller from now on
    calltrack calls spam CALL_ID --account acme --not     # not spam (overrides every reason)

Polls the calls API every --interval seconds and prints a line for each new call and
each call whose status changed (a ringing call that was answered, then completed).
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, TextIO
from urllib.parse import quote

from chalicelib.cli.api_client import Api, account_of, add_account_option, api_of, path, run

MAX_PAGES = 20
# In-progress calls keep changing for a while after they start: re-read this far back.
UPDATE_WINDOW_SECONDS = 3600


def register(sub: Any) -> None:
    parser = sub.add_parser("calls", help="follow calls live")
    actions = parser.add_subparsers(dest="action", required=True)
    tail = actions.add_parser("tail", help="print calls as they come and change")
    add_account_option(tail)
    tail.add_argument("--lookback", type=float, default=60, help="minutes of past calls shown first (default 60)")
    tail.add_argument("--interval", type=float, default=3, help="seconds between polls (default 3)")
    tail.add_argument("--polls", type=int, default=None, help="stop after this many polls (default: follow forever)")
    tail.set_defaults(func=tail_calls)
    mark = actions.add_parser("spam", help="mark a call spam (or, with --not, not spam)")
    add_account_option(mark)
    mark.add_argument("call_id")
    verdict = mark.add_mutually_exclusive_group()
    verdict.add_argument("--not", dest="not_spam", action="store_true", help="the call is not spam")
    verdict.add_argument("--block", action="store_true", help="also put the caller on the block list")
    mark.set_defaults(func=mark_spam)


def fetch(api: Api, account: str, since: float) -> Iterator[Dict[str, Any]]:
    """Every call started since `since` (following the API's pagination)."""
    cursor: Optional[str] = None
    for _ in range(MAX_PAGES):
        page = api.get(path(account, "/calls"), since=f"{since:.3f}", limit=200, next=cursor)
        yield from page.get("calls") or []
        cursor = page.get("next")
        if not cursor:
            return


def line(call: Dict[str, Any]) -> str:
    started = (call.get("started_at") or "")[:19].replace("T", " ")
    src = " / ".join(x for x in (call.get("source"), call.get("medium")) if x) or "-"
    classes = [k for k, v in (call.get("classification") or {}).items() if v]
    wait, talk = call.get("wait_seconds"), call.get("talk_seconds")
    timing = f"wait {wait if wait is not None else '-'}s talk {talk if talk is not None else '-'}s"
    return (f"{started}  {call.get('status') or '?':<22} {call.get('caller') or 'unknown':>16} → "
            f"{call.get('tracking_number') or '?':<16} {src:<24} {timing}"
            + (f"  [{', '.join(classes)}]" if classes else "")
            + (f"  SPAM ({', '.join(call.get('spam_reasons') or [])})" if call.get("spam") else "")
            + f"  {call.get('call_id')}")


def follow(api: Api, account: str, lookback_s: float, interval: float, polls: Optional[int],
           out: Optional[TextIO] = None, clock: Callable[[], float] = time.time,
           sleep: Callable[[float], None] = time.sleep) -> int:
    out = out or sys.stdout
    started = clock()
    seen: Dict[str, Any] = {}
    n = 0
    while polls is None or n < polls:
        if n:
            sleep(interval)
        since = max(started - lookback_s, clock() - max(lookback_s, UPDATE_WINDOW_SECONDS))
        fresh: List[Dict[str, Any]] = []
        for call in fetch(api, account, since):
            state = (call.get("status"), call.get("talk_seconds"), tuple(sorted(map(str, call.get("tags") or []))))
            if seen.get(call["call_id"]) != state:
                seen[call["call_id"]] = state
                fresh.append(call)
        for call in sorted(fresh, key=lambda c: c.get("started_at") or ""):
            out.write(line(call) + "\n")
        out.flush()
        n += 1
    return len(seen)


@run
def mark_spam(args: argparse.Namespace) -> int:
    body = {"spam": not args.not_spam, **({"block_caller": True} if args.block else {})}
    call = api_of(args).request("PUT", path(account_of(args), f"/calls/{quote(args.call_id, safe='')}/spam"),
                                body=body)
    sys.stdout.write(line(call) + "\n")
    return 0


@run
def tail_calls(args: argparse.Namespace) -> int:
    api, account = api_of(args), account_of(args)
    sys.stderr.write(f"following calls of {account} (Ctrl-C to stop)\n" if args.polls is None else "")
    try:
        follow(api, account, args.lookback * 60, args.interval, args.polls)
    except KeyboardInterrupt:
        pass
    return 0
