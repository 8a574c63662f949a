"""`calltrack accounts`: create an account (with the operator's admin token) and show one.

    calltrack --key $CALLTRACK_ADMIN_TOKEN accounts create --name "Acme" \\
        --domain acme.example --default-number +14155550100
    calltrack accounts show --account acme
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from chalicelib.cli.api_client import ADMIN_ENV, account_of, add_account_option, api_of, path, print_json, run


def register(sub: Any) -> None:
    parser = sub.add_parser("accounts", help="create and show accounts")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an account; prints its first API key once")
    create.add_argument("--name", required=True)
    create.add_argument("--domain", action="append", required=True, dest="domains", help="site domain (repeatable)")
    create.add_argument("--default-number", required=True, help="E.164 number shown when no tracking number is")
    create.add_argument("--id", dest="account_id", help="account id (default: generated)")
    create.add_argument("--timezone", help="IANA time zone, e.g. Europe/London")
    create.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    create.set_defaults(func=create_account)
    show = actions.add_parser("show", help="the account's profile and settings")
    add_account_option(show)
    show.set_defaults(func=show_account)


@run
def create_account(args: argparse.Namespace) -> int:
    body = {"name": args.name, "domains": args.domains, "default_number": args.default_number}
    if args.account_id:
        body["account_id"] = args.account_id
    if args.timezone:
        body["settings"] = {"timezone": args.timezone}
    answer = api_of(args, key_env=ADMIN_ENV).request("POST", "/v1/accounts", body)
    if args.json:
        print_json(answer)
        return 0
    account, key = answer["account"], answer["api_key"]
    sys.stdout.write(f"account  {account['account_id']}\n")
    sys.stdout.write(f"api key  {key['key']}\n")
    sys.stderr.write("Keep the API key now: it is shown only once.\n")
    return 0


@run
def show_account(args: argparse.Namespace) -> int:
    api, account = api_of(args), account_of(args)
    print_json({"account": api.get(path(account)), "settings": api.get(path(account, "/settings"))})
    return 0
