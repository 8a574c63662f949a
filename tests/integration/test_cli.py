"""`calltrack` subcommands run in-process (main()) against the app over HTTP
(`api_server`): what an operator types, what they see."""
from __future__ import annotations

import csv
import io
import time
import uuid

import pytest
import requests

from chalicelib.cli import main

ADMIN = "local-admin-token"


def unique_number() -> str:
    return f"+1628{uuid.uuid4().int % 10 ** 7:07d}"


@pytest.fixture()
def seeded(account):
    key = "cli-" + uuid.uuid4().hex
    acc = account(api_key=key, pool=[unique_number() for _ in range(5)])
    return acc.account_id, key


def cli(api_server, key, *argv):
    from chalicelib import streams

    streams.catch_up()   # reports read roll-ups: the stream consumer sees what the test wrote first
    return main(["--api", api_server, "--key", key, *argv])


def put_call(account_id, minutes_ago, status="answered", source="google", medium="organic", talk=40, caller=None):
    """A finished call as the calls domain stores it (its API record in `rec`)."""
    from chalicelib.calls.models import Call
    from chalicelib.calls.store import CALL_KEYS

    call_id = f"conv-{uuid.uuid4()}"
    started = time.time() - minutes_ago * 60
    rec = {k: None for k in CALL_KEYS}
    rec.update({"call_id": call_id, "account_id": account_id, "status": status, "direction": "inbound",
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "source": source,
                "medium": medium, "caller": caller or f"+1202555{uuid.uuid4().int % 10000:04d}",
                "tracking_number": "+14155550131", "wait_seconds": 5, "talk_seconds": talk if status == "answered" else 0,
                "within_working_hours": True, "tags": [], "method": "dynamic",
                "classification": {"unique": True, "target": talk >= 30, "repeated": False,
                                   "first_target": talk >= 30, "unique_target": talk >= 30}})
    Call(call_id, account_id=account_id, started_at=started, direction="inbound", status=status, source=source,
         rec=rec, tags=[]).save()
    return call_id


def test_accounts_create_prints_a_key_that_works(api_server, capsys):
    number = unique_number()
    code = cli(api_server, ADMIN, "accounts", "create", "--name", "Cli Plumbing", "--domain", "cli.example",
               "--default-number", number, "--timezone", "Europe/London")
    out, err = capsys.readouterr()
    assert code == 0, err
    fields = dict(line.split(None, 1) for line in out.strip().splitlines())
    account_id, key = fields["account"], fields["api"].split()[-1]
    assert "shown only once" in err
    assert cli(api_server, key, "accounts", "show", "--account", account_id) == 0
    shown = capsys.readouterr().out
    assert '"timezone": "Europe/London"' in shown and number in shown


def test_accounts_create_with_a_wrong_token_fails_in_words(api_server, capsys):
    code = cli(api_server, "not-the-token", "accounts", "create", "--name", "X", "--domain", "x.example",
               "--default-number", "+14155550100")
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.startswith("error:") and "401" in err


def test_unreachable_api_is_one_line_not_a_traceback(capsys):
    code = main(["--api", "http://127.0.0.1:9", "--key", "k", "pool", "--account", "x"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach the API" in err and "Traceback" not in err


def test_numbers_add_in_batches_with_progress_and_is_idempotent(api_server, seeded, tmp_path, capsys):
    account_id, key = seeded
    base = uuid.uuid4().int % 9000
    numbers = [f"+1646{base:04d}{i:03d}" for i in range(120)]
    listing = tmp_path / "numbers.txt"
    listing.write_text("# new pool\n" + "\n".join(numbers) + "\n")
    code = cli(api_server, key, "numbers", "add", "--account", account_id, "--pool", "sales",
               "--file", str(listing), "--batch", "50")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "120/120" in err and "50/120" in err and "100/120" in err       # three batches, progress shown
    assert "120 added, 0 already there; 120 numbers" in out
    pool = requests.get(f"{api_server}/v1/accounts/{account_id}/pools/sales",
                        headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    assert sorted(n["number"] for n in pool["numbers"]) == numbers
    assert cli(api_server, key, "numbers", "add", "--account", account_id, "--pool", "sales", *numbers[:3]) == 0
    assert "0 added, 3 already there" in capsys.readouterr().out


def test_numbers_static_list_and_remove(api_server, seeded, capsys):
    account_id, key = seeded
    radio = unique_number()
    assert cli(api_server, key, "numbers", "add", "--account", account_id, "--static", "--source", "radio", radio) == 0
    assert cli(api_server, key, "numbers", "list", "--account", account_id) == 0
    out = capsys.readouterr().out
    assert radio in out and "radio" in out and out.count("pool") >= 5
    assert cli(api_server, key, "numbers", "remove", "--account", account_id, radio) == 0
    assert f"{radio}  removed" in capsys.readouterr().out
    assert cli(api_server, key, "numbers", "list", "--account", account_id) == 0
    assert radio not in capsys.readouterr().out


def test_pool_shows_utilisation_of_leased_numbers(api_server, seeded, capsys):
    account_id, key = seeded
    for _ in range(2):
        r = requests.post(f"{api_server}/v1/sessions", json={"account": account_id, "url": "http://localhost/"},
                          headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"},
                          timeout=10)
        assert r.json()["method"] == "dynamic"
    assert cli(api_server, key, "pool", "--account", account_id, "--numbers") == 0
    out = capsys.readouterr().out
    header, main_row = out.splitlines()[1], next(line for line in out.splitlines() if line.startswith("main "))
    cells = dict(zip(header.split(), main_row.split()))
    assert cells["size"] == "5" and cells["leased_now"] == "2" and cells["utilisation_now_pct"] == "40.0"
    assert out.count("True") >= 2   # the per-number listing marks the two leased numbers


def test_calls_tail_prints_new_calls_then_changes(api_server, seeded, capsys):
    from chalicelib.cli import calls as tail
    from chalicelib.cli.api_client import Api
    from chalicelib.calls.models import Call

    account_id, key = seeded
    old = put_call(account_id, minutes_ago=30, status="missed", source="bing", medium="cpc", talk=0)
    ancient = put_call(account_id, minutes_ago=600)
    assert cli(api_server, key, "calls", "tail", "--account", account_id, "--polls", "1") == 0
    out = capsys.readouterr().out
    assert old in out and "missed" in out and "bing / cpc" in out and ancient not in out

    live = {}

    def sleep_and_ring(_seconds):
        if "id" not in live:
            live["id"] = put_call(account_id, minutes_ago=0, status="in_progress", talk=0)
        else:
            item = Call.get(live["id"])
            item.rec = {**item.rec, "status": "answered", "talk_seconds": 95}
            item.status = "answered"
            item.save()

    buf = io.StringIO()
    tail.follow(Api(api_server, key), account_id, 3600, 0, polls=3, out=buf, sleep=sleep_and_ring)
    lines = buf.getvalue().splitlines()
    assert [line.split()[2] for line in lines if live["id"] in line] == ["in_progress", "answered"]
    assert sum(old in line for line in lines) == 1           # an unchanged call is printed once


def test_report_exports_csv_with_filters(api_server, seeded, tmp_path, capsys):
    account_id, key = seeded
    for minutes, status, source in [(10, "answered", "google"), (20, "missed", "google"), (30, "missed", "facebook"),
                                    (40, "answered", "facebook"), (50, "missed", "google")]:
        put_call(account_id, minutes, status=status, source=source, medium="cpc")
    target = tmp_path / "missed.csv"
    code = cli(api_server, key, "report", "--account", account_id, "--group-by", "source",
               "--filter", "outcome=missed", "--format", "csv", "-o", str(target))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "5 rows" not in err and "rows" in err and "running the report" in err
    rows = {r["source"]: r for r in csv.DictReader(io.StringIO(target.read_text()))}
    assert rows["google"]["calls"] == "2" and rows["facebook"]["calls"] == "1"
    assert cli(api_server, key, "report", "--account", account_id, "--group-by", "status") == 0
    out = capsys.readouterr().out
    assert any(line.split()[:2] == ["missed", "3"] for line in out.splitlines())
    assert cli(api_server, key, "report", "--account", account_id, "--filter", "nonsense") == 1
    assert "NAME=VALUE" in capsys.readouterr().err
    assert cli(api_server, key, "report", "--account", account_id, "--filter", "sourse=google") == 1
    assert "(did you mean 'source'?)" in capsys.readouterr().err


def test_numbers_search_says_when_buying_is_switched_off(api_server, seeded, capsys):
    account_id, key = seeded
    code = cli(api_server, key, "numbers", "search", "--account", account_id, "--country", "US")
    err = capsys.readouterr().err
    assert code == 1 and "404" in err and "CALLTRACK_NUMBER_PURCHASES" in err


def test_rules_save_show_and_dry_run(api_server, seeded, tmp_path, capsys):
    """`calltrack rules`: save validated rules, show them, and dry-run them over a range."""
    import json as _json

    account_id, key = seeded
    put_call(account_id, 30, talk=90)
    put_call(account_id, 20, status="missed", talk=0)
    rules = [{"id": "long-talk", "when": {"fact": "talk_seconds", "op": ">=", "value": 60}, "then": {"score": 20}},
             {"id": "missed", "when": {"fact": "status", "op": "=", "value": "missed"},
              "then": {"lead": "not_lead", "tags": ["missed"]}}]
    file = tmp_path / "rules.json"
    file.write_text(_json.dumps(rules))
    assert cli(api_server, key, "rules", "save", "--account", account_id, "--file", str(file)) == 0
    assert "saved 2 rules" in capsys.readouterr().out
    assert cli(api_server, key, "rules", "show", "--account", account_id) == 0
    assert [r["id"] for r in _json.loads(capsys.readouterr().out)] == ["long-talk", "missed"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    assert cli(api_server, key, "rules", "dry-run", "--account", account_id, "--from", yesterday, "--to", today,
               "--json") == 0
    got = _json.loads(capsys.readouterr().out)
    assert (got["calls_read"], got["calls_matched"], got["by_rule"], got["by_lead"]) == (
        2, 2, {"long-talk": 1, "missed": 1}, {"not_lead": 1})
    bad = tmp_path / "bad.json"
    bad.write_text(_json.dumps([{"id": "x", "when": {"regex": "(a+)+"}, "then": {"score": 1}}]))
    assert cli(api_server, key, "rules", "save", "--account", account_id, "--file", str(bad)) != 0
    assert "validation_failed" in capsys.readouterr().err
