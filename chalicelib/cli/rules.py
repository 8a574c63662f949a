"""`calltrack rules`: the account's conversation rules (docs/intelligence.md).

    calltrack rules show --account acme                          # the saved rules (JSON)
    calltrack rules save --account acme --file rules.json        # validated by the API
    calltrack rules dry-run --account acme --from 2026-11-01 --to 2026-11-30 [--file rules.json]
    calltrack rules learn --account acme --from 2026-06-01 --to 2026-11-30 --positive Sale --negative "Not a lead"
    calltrack rules learned --account acme                       # the learned score: P/R, top words

A dry run prints which of the range's calls the rules would tag, label and score, rule by
rule, and changes nothing; without --file it tries the saved rules (else the starter rules).
The API answers a page of calls at a time; the command follows `next` to the range's end.
"""
from __future__ import annotations

import argparse
import json
from typing import Any, List, Optional

from chalicelib.cli.api_client import CliError, account_of, add_account_option, api_of, path, print_json, run, table


def register(sub: Any) -> None:
    parser = sub.add_parser("rules", help="conversation rules: show, save, dry-run; the learned score")
    commands = parser.add_subparsers(dest="rules_command", required=True)
    show = commands.add_parser("show", help="print the saved rules")
    add_account_option(show)
    show.set_defaults(func=show_rules)
    save = commands.add_parser("save", help="replace the saved rules with a JSON file's")
    add_account_option(save)
    save.add_argument("--file", required=True, help="a JSON array of rules")
    save.set_defaults(func=save_rules)
    dry = commands.add_parser("dry-run", help="which of a range's calls the rules would tag")
    add_account_option(dry)
    dry.add_argument("--from", dest="since", required=True, help="YYYY-MM-DD")
    dry.add_argument("--to", dest="until", required=True, help="YYYY-MM-DD")
    dry.add_argument("--file", help="rules to try (default: the saved ones)")
    dry.add_argument("--json", action="store_true", help="the whole answer as JSON")
    dry.set_defaults(func=dry_run)
    learn = commands.add_parser("learn", help="fit the learned lead score on a range's manually tagged calls")
    add_account_option(learn)
    learn.add_argument("--from", dest="since", required=True, help="YYYY-MM-DD")
    learn.add_argument("--to", dest="until", required=True, help="YYYY-MM-DD")
    learn.add_argument("--positive", action="append", required=True,
                       help="a manual tag (category or category:value) of good leads; repeatable")
    learn.add_argument("--negative", action="append", default=[], help="a manual tag of calls that were not; repeatable")
    learn.set_defaults(func=learn_score)
    shown = commands.add_parser("learned", help="the learned lead score: held-out precision and recall, top words")
    add_account_option(shown)
    shown.add_argument("--json", action="store_true", help="the whole answer as JSON")
    shown.set_defaults(func=show_learned)


def _load(file: str) -> List[Any]:
    try:
        with open(file, encoding="utf-8") as f:
            rules = json.load(f)
    except (OSError, ValueError) as err:
        raise CliError(f"--file {file}: {err}") from err
    if not isinstance(rules, list):
        raise CliError(f"--file {file}: expected a JSON array of rules")
    return rules


@run
def show_rules(args: argparse.Namespace) -> int:
    print_json(api_of(args).get(path(account_of(args), "/config/call_rules"))["value"])
    return 0


@run
def save_rules(args: argparse.Namespace) -> int:
    doc = api_of(args).request("PUT", path(account_of(args), "/config/call_rules"), body={"value": _load(args.file)})
    print(f"saved {len(doc['value'] or [])} rules")
    return 0


def merge(total: Optional[dict], page: dict) -> dict:
    """One answer from a dry run's pages (the API answers a page of calls at a time)."""
    if total is None:
        return dict(page)
    for key in ("calls_read", "with_transcript", "calls_matched"):
        total[key] += page[key]
    for key in ("by_rule", "by_lead"):
        for name, n in page[key].items():
            total[key][name] = total[key].get(name, 0) + n
    total["calls"] += page["calls"]
    total["next"] = page["next"]
    return total


@run
def dry_run(args: argparse.Namespace) -> int:
    body: dict = {"from": args.since, "to": args.until}
    rules: Optional[List[Any]] = _load(args.file) if args.file else None
    if rules is not None:
        body["rules"] = rules
    api, where = api_of(args), path(account_of(args), "/call-rules/dry-run")
    doc: Optional[dict] = None
    while True:
        doc = merge(doc, api.request("POST", where, body=body))
        if not doc["next"]:
            break
        body["next"] = doc["next"]
    if args.json:
        print_json(doc)
        return 0
    print(f"{doc['calls_read']} calls read ({doc['with_transcript']} with a transcript); {doc['calls_matched']} matched")
    table([{"rule": rule, "calls": n} for rule, n in doc["by_rule"].items()], ["rule", "calls"])
    if doc["by_lead"]:
        table([{"lead": lead, "calls": n} for lead, n in doc["by_lead"].items()], ["lead", "calls"])
    return 0


def _print_learned(doc: dict) -> None:
    held = doc.get("held_out") or {}
    pct = (lambda x: "–" if x is None else f"{x * 100:.0f}%")
    print(f"learned from {doc['examples']} tagged calls ({doc['positive']} positive) of "
          f"{doc['learned_from']['from']}..{doc['learned_from']['to']}; trained on {doc['trained_on']}, "
          f"held out {held.get('calls')}: precision {pct(held.get('precision'))}, recall {pct(held.get('recall'))}")
    table([{"raises the score": u["feature"], "weight": u["weight"]} for u in doc.get("raises_the_score") or []],
          ["raises the score", "weight"])
    table([{"lowers the score": d["feature"], "weight": d["weight"]} for d in doc.get("lowers_the_score") or []],
          ["lowers the score", "weight"])


@run
def learn_score(args: argparse.Namespace) -> int:
    body = {"from": args.since, "to": args.until, "positive": args.positive, "negative": args.negative}
    _print_learned(api_of(args).request("POST", path(account_of(args), "/learned-score/train"), body=body))
    return 0


@run
def show_learned(args: argparse.Namespace) -> int:
    doc = api_of(args).get(path(account_of(args), "/learned-score"))
    if args.json:
        print_json(doc)
    else:
        _print_learned(doc)
    return 0
