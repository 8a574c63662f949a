"""`calltrack numbers`: add numbers to a pool (or one static number), list, remove.

    calltrack numbers add --account acme --pool main +14155550101 +14155550102
    calltrack numbers add --account acme --pool main --file numbers.txt   # one per line
    calltrack numbers add --account acme --static --source billboard +14155550170
    calltrack numbers list --account acme
    calltrack numbers remove --account acme +14155550101
    calltrack numbers search --account acme --country US --pattern 415     # Vonage's offer
    calltrack numbers buy --account acme --country US --pool main +14155550188

Pools are filled in batches (the API takes up to 100 numbers a request); progress is
shown on stderr. A number that is already in the pool is kept as it is (its lease too).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Iterable, List
from urllib.parse import quote

from chalicelib.cli.api_client import (
    CliError, Progress, account_of, add_account_option, api_of, path, print_json, run, table,
)

BATCH = 100


def register(sub: Any) -> None:
    parser = sub.add_parser("numbers", help="add, list and remove tracking numbers")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add numbers to a pool, or one static number")
    add_account_option(add)
    add.add_argument("numbers", nargs="*", help="E.164 numbers")
    add.add_argument("--file", help="read numbers from a file, one per line ('-' for stdin)")
    add.add_argument("--pool", default="main", help="pool id (default: main)")
    add.add_argument("--country", help="ISO country code of the numbers")
    add.add_argument("--static", action="store_true", help="a static number standing for one source")
    add.add_argument("--source", help="static numbers: the source it stands for")
    add.add_argument("--batch", type=int, default=BATCH, help=argparse.SUPPRESS)
    add.set_defaults(func=add_numbers)
    listing = actions.add_parser("list", help="every number of the account")
    add_account_option(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_numbers)
    remove = actions.add_parser("remove", help="remove numbers (a number leased right now is refused)")
    add_account_option(remove)
    remove.add_argument("numbers", nargs="+")
    remove.set_defaults(func=remove_numbers)
    search = actions.add_parser("search", help="numbers Vonage sells (needs CALLTRACK_NUMBER_PURCHASES on the API)")
    add_account_option(search)
    search.add_argument("--country", required=True, help="ISO country code, e.g. US")
    search.add_argument("--pattern", help="digits the number contains")
    search.add_argument("--type", choices=["landline", "mobile-lvn", "landline-toll-free"])
    search.add_argument("--size", type=int, default=10)
    search.set_defaults(func=search_numbers)
    buy = actions.add_parser("buy", help="buy numbers from Vonage, link them, add them to a pool")
    add_account_option(buy)
    buy.add_argument("numbers", nargs="+")
    buy.add_argument("--country", required=True)
    buy.add_argument("--pool", default="main")
    buy.set_defaults(func=buy_numbers)


def read_numbers(args: argparse.Namespace) -> List[str]:
    wanted: List[str] = list(args.numbers)
    if args.file:
        handle = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with handle:
            wanted += [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    unique = list(dict.fromkeys(wanted))
    if not unique:
        raise CliError("no numbers given")
    return unique


def batches(items: List[str], size: int) -> Iterable[List[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@run
def add_numbers(args: argparse.Namespace) -> int:
    api, account = api_of(args), account_of(args)
    wanted = read_numbers(args)
    if args.static:
        if not args.source or len(wanted) != 1:
            raise CliError("--static adds one number and needs --source")
        body = {"number": wanted[0], "kind": "static", "source": args.source}
        if args.country:
            body["country"] = args.country
        answer = api.request("POST", path(account, "/numbers"), body)
        sys.stdout.write(f"{answer['number']}  static  {answer['source']}\n")
        return 0
    progress = Progress(f"adding to pool {args.pool}", len(wanted))
    added = kept = 0
    pool: dict = {}
    size = max(1, min(args.batch, BATCH))
    for n, chunk in enumerate(batches(wanted, size)):
        body = {"numbers": chunk, **({"country": args.country} if args.country else {})}
        answer = api.request("POST", path(account, f"/pools/{quote(args.pool, safe='')}/numbers"), body)
        added, kept, pool = added + len(answer["added"]), kept + len(answer["existing"]), answer["pool"]
        progress.update(min(len(wanted), (n + 1) * size))
    sys.stdout.write(f"pool {args.pool}: {added} added, {kept} already there; {pool.get('size')} numbers, "
                     f"{pool.get('busy')} leased now\n")
    return 0


@run
def list_numbers(args: argparse.Namespace) -> int:
    numbers = api_of(args).get(path(account_of(args), "/numbers"))["numbers"]
    if args.json:
        print_json(numbers)
    else:
        table(numbers, ["number", "kind", "pool_id", "source", "country", "enabled", "leased", "lease_until"])
    return 0


@run
def remove_numbers(args: argparse.Namespace) -> int:
    api, account = api_of(args), account_of(args)
    failed = 0
    for number in args.numbers:
        try:
            api.request("DELETE", path(account, f"/numbers/{quote(number, safe='')}"))
            sys.stdout.write(f"{number}  removed\n")
        except CliError as err:
            failed += 1
            sys.stderr.write(f"{number}  not removed: {err}\n")
    return 1 if failed else 0


@run
def search_numbers(args: argparse.Namespace) -> int:
    query = {"country": args.country, "pattern": args.pattern, "type": args.type, "size": str(args.size)}
    found = api_of(args).get(path(account_of(args), "/vonage/numbers"), **query)["numbers"]
    table(found, ["number", "country", "type", "monthly_cost_eur", "features"])
    return 0


@run
def buy_numbers(args: argparse.Namespace) -> int:
    api, account = api_of(args), account_of(args)
    progress = Progress("buying", len(args.numbers))
    for i, number in enumerate(args.numbers, 1):
        api.request("POST", path(account, "/vonage/numbers"), {"number": number, "country": args.country,
                                                               "pool_id": args.pool})
        progress.update(i)
    sys.stdout.write(f"bought {len(args.numbers)} numbers into pool {args.pool}\n")
    return 0
