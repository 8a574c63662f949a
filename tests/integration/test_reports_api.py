"""Reports, manual tags, recordings and pool health through the app (chalice.test.Client)
against moto: calls written as `calls.store` reads them, sessions as the DNI side
writes them. Each test has its own account."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler

from tests.local_http import serve
from typing import Any, Dict, Iterator, List
from urllib.parse import urlencode

import pytest

from chalicelib import accounts, streams
from chalicelib.calls.store import CALL_KEYS
from chalicelib.demo_traffic import write_calls, write_sessions
from chalicelib.dni.models import Account

NOW = time.time()
# A Wednesday 14:00 UTC within the last week: inside the demo's working hours.
_today = datetime.fromtimestamp(NOW, timezone.utc).replace(hour=14, minute=0, second=0, microsecond=0)
WORKDAY = _today.timestamp() - ((_today.weekday() - 2) % 7) * 86400
WORKDAY -= 7 * 86400 if WORKDAY > NOW - 3600 else 0
CATEGORIES = [{"name": "Sale", "code": "1", "default_value": 150},
              {"name": "Quote", "code": "2", "values": ["boiler", "leak"]}]


def record(account_id: str, **kw: Any) -> Dict[str, Any]:
    c = {k: None for k in CALL_KEYS}
    c.update({"account_id": account_id, "call_id": "c-" + uuid.uuid4().hex[:10], "direction": "inbound",
              "status": "answered", "started_at": WORKDAY + len(kw) * 60, "wait_seconds": 12, "talk_seconds": 60,
              "within_working_hours": True, "source": "google", "medium": "cpc", "method": "dynamic",
              "tracking_number": "+14155550131", "caller": "+12025550100", "country": "US", "tags": [],
              "classification": {"unique": False, "target": False, "repeated": False, "first_target": False,
                                 "unique_target": False}})
    c.update(kw)
    return c


def auth(key: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def acc(account):
    """A fresh account with its own API key and tag categories."""
    key = "k-" + uuid.uuid4().hex
    a = account(api_key=key, extra_config={"tag_categories": CATEGORIES})
    return a.account_id, key


def report(client, account_id: str, key: str, **params: Any):
    streams.catch_up()   # reports read roll-ups: let the stream consumer see what the test wrote
    query = urlencode({k: v for k, v in params.items()})
    return client.http.get(f"/v1/accounts/{account_id}/reports?{query}", headers=auth(key))


def drilldown(account_id: str) -> List[Dict[str, Any]]:
    """The buyer's guide's 40 'missed' calls among answered ones."""
    calls = [record(account_id, status="missed", within_working_hours=False, wait_seconds=30) for _ in range(13)]
    calls += [record(account_id, status="missed", direction="outbound", wait_seconds=30) for _ in range(13)]
    calls += [record(account_id, status="abandoned_in_greeting" if i % 2 else "missed", wait_seconds=2 + i % 8)
              for i in range(11)]
    calls += [record(account_id, status="missed", wait_seconds=40, agent="anna") for _ in range(3)]
    calls += [record(account_id) for _ in range(60)]
    return calls


def test_drilldown_story_over_http_40_missed_become_3(client, acc):
    account_id, key = acc
    write_calls(drilldown(account_id))
    steps = [{}, {"within_working_hours": "true"}, {"within_working_hours": "true", "direction": "inbound,callback"},
             {"within_working_hours": "true", "direction": "inbound,callback", "min_wait": 10}]
    seen = []
    for extra in steps:
        r = report(client, account_id, key, outcome="missed", **extra)
        assert r.status_code == 200, r.body
        seen.append(r.json_body["totals"]["calls"])
    assert seen == [40, 27, 14, 3]
    r = report(client, account_id, key, outcome="missed", within_working_hours="true", direction="inbound",
               min_wait=10, include="calls")
    assert {c["agent"] for c in r.json_body["calls"]} == {"anna"} and r.json_body["calls_total"] == 3


def test_sessions_conversion_series_breakdowns_and_csv(client, acc):
    account_id, key = acc
    sessions = [{"session_id": f"{account_id}-s{i}", "started_at": WORKDAY - 600, "source": src, "medium": "cpc",
                 "method": "dynamic", "tracking_number": "+14155550131", "country": "US", "device": "mobile"}
                for i, src in enumerate(["google"] * 4 + ["bing"] * 2)]
    write_sessions(account_id, sessions)
    write_calls([record(account_id, session_id=f"{account_id}-s0", value=100),
                 record(account_id, session_id=f"{account_id}-s1", status="busy", talk_seconds=0),
                 record(account_id, source="bing", session_id=f"{account_id}-s4")])
    r = report(client, account_id, key, group_by="source", breakdowns="status,day")
    rows = {row["key"]: row for row in r.json_body["rows"]}
    assert (rows["google"]["sessions"], rows["google"]["converted_sessions"], rows["google"]["conversion_pct"]) \
        == (4, 2, 50.0)
    assert (rows["bing"]["calls"], rows["bing"]["sessions"], rows["bing"]["conversion_pct"]) == (1, 2, 50.0)
    assert {x["key"]: x["calls"] for x in r.json_body["breakdowns"]["status"]} == {"answered": 2, "busy": 1}
    assert r.json_body["totals"]["value"] == 100.0
    r = report(client, account_id, key, group_by="day", series="source")
    days = [row for row in r.json_body["rows"] if row["calls"]]
    assert len(days) == 1 and days[0]["series"] == {"google": 2, "bing": 1}
    # Every day of the 30-day range is a row, in order; the quiet ones are zeros.
    keys = [row["key"] for row in r.json_body["rows"]]
    assert len(keys) == 30 and keys == sorted(keys) and len(set(keys)) == 30
    quiet = [row for row in r.json_body["rows"] if not row["calls"]]
    assert len(quiet) == 29 and all(row["series"] == {} and row["answered"] == 0 and row["avg_talk"] is None
                                    for row in quiet)
    r = report(client, account_id, key, group_by="hour")
    assert [row["key"] for row in r.json_body["rows"]] == [f"{h:02d}:00" for h in range(24)]
    r = report(client, account_id, key, group_by="source", format="csv")
    assert r.headers["Content-Type"].startswith("text/csv")
    lines = r.body.decode().splitlines()
    assert lines[0].split(",")[:3] == ["source", "calls", "answered"] and lines[-1].startswith("total,3,2,1")


def test_report_refuses_bad_filters_and_foreign_keys(client, acc, account):
    account_id, key = acc
    assert report(client, account_id, key, direction="up").status_code == 400
    assert report(client, account_id, key, group_by="planet").json_body["error"] == "bad_request"
    assert report(client, account_id, key, format="xml").status_code == 400
    # A misspelled filter is named, with what it was probably meant to be, not dropped.
    r = report(client, account_id, key, sourse="google")
    assert r.status_code == 400 and "'sourse' (did you mean 'source'?)" in r.json_body["message"], r.body
    r = report(client, account_id, key, source="google", frobnicate="1")
    assert r.status_code == 400 and "'frobnicate'" in r.json_body["message"]
    r = client.http.get(f"/v1/accounts/{account_id}/calls?statsu=missed", headers=auth(key))
    assert r.status_code == 400 and "(did you mean 'status'?)" in r.json_body["message"]
    foreign = "t-" + uuid.uuid4().hex[:12]
    from chalicelib import demo
    demo.seed_account(foreign, pool=[], api_key="k-foreign-" + foreign)
    assert report(client, account_id, "k-foreign-" + foreign).status_code == 403
    assert client.http.get(f"/v1/accounts/{account_id}/reports").status_code == 401


def test_manual_tags_validated_and_keypad_tags_kept(client, acc):
    account_id, key = acc
    keypad = {"category": "Quote", "value": "boiler", "by": "keypad"}
    call = record(account_id, tags=[keypad])
    write_calls([call])
    url = f"/v1/accounts/{account_id}/calls/{call['call_id']}/tags"
    headers = {**auth(key), "Content-Type": "application/json"}
    r = client.http.put(url, headers=headers, body=json.dumps({"tags": [{"category": "sale"}]}))
    assert r.status_code == 200, r.body
    assert r.json_body["tags"] == [keypad, {"category": "Sale", "value": None, "by": "manual"}]
    assert r.json_body["value"] == 150.0  # the category's nominal value
    r = client.http.put(url, headers=headers, body=json.dumps({"tags": [{"category": "Quote", "value": "LEAK"}],
                                                               "value": 75}))
    assert r.json_body["tags"] == [keypad, {"category": "Quote", "value": "leak", "by": "manual"}]
    assert r.json_body["value"] == 75.0
    rep = report(client, account_id, key, group_by="tag", tag="quote:leak").json_body
    assert rep["totals"]["calls"] == 1
    bad = client.http.put(url, headers=headers, body=json.dumps({"tags": [{"category": "Gold"}]}))
    assert bad.status_code == 400 and "Gold" in bad.json_body["message"]
    bad = client.http.put(url, headers=headers, body=json.dumps({"tags": [{"category": "Quote", "value": "roof"}]}))
    assert bad.status_code == 400 and "roof" in bad.json_body["message"]
    missing = client.http.put(f"/v1/accounts/{account_id}/calls/nope/tags", headers=headers,
                              body=json.dumps({"tags": []}))
    assert missing.status_code == 404
    too_long = client.http.put(f"/v1/accounts/{account_id}/calls/{'x' * 3000}/tags", headers=headers,
                               body=json.dumps({"tags": []}))
    assert too_long.status_code == 404


class _Recordings(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"RIFF$\x00\x00\x00WAVEfmt " + bytes(28)
        if self.path != "/rec.wav":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def recording_store() -> Iterator[str]:
    with serve(_Recordings) as url:
        yield url


def test_recording_streams_for_the_account_only(client, acc, recording_store):
    account_id, key = acc
    with_rec = record(account_id, recording_url=f"{recording_store}/rec.wav")
    gone = record(account_id, recording_url=f"{recording_store}/missing.wav")
    none = record(account_id)
    write_calls([with_rec, gone, none])
    base = f"/v1/accounts/{account_id}/calls"
    listen = {**auth(key), "Accept": "audio/mpeg, audio/wav"}  # what the dashboard sends
    r = client.http.get(f"{base}/{with_rec['call_id']}/recording", headers=listen)
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == "audio/wav" and r.body.startswith(b"RIFF")
    assert client.http.get(f"{base}/{gone['call_id']}/recording", headers=listen).status_code == 502
    assert client.http.get(f"{base}/{none['call_id']}/recording", headers=listen).status_code == 404
    assert client.http.get(f"{base}/{with_rec['call_id']}/recording").status_code == 401


def test_pool_health_from_leases_and_exhaustion_counters(client, acc):
    from chalicelib.dni.leases import pool_key
    from chalicelib.dni.models import Lease, Number
    from chalicelib.dni.usage import record_exhaustion

    account_id, key = acc
    numbers = sorted(n.number for n in Number.pool_index.query(pool_key(account_id, "main")))
    t = NOW - 3 * 86400
    # Three leases overlap at t+100..t+200; a fourth starts after the others ended.
    for number, (a, b) in zip(numbers, [(t, t + 300), (t + 100, t + 400), (t + 50, t + 200), (t + 5000, t + 5300)]):
        Lease(number, a, until=b, session_id="s", account_id=account_id).save()
    record_exhaustion(account_id, "main", NOW - 86400)
    record_exhaustion(account_id, "main", NOW - 86400)
    r = client.http.get(f"/v1/accounts/{account_id}/pool-health?days=7", headers=auth(key))
    assert r.status_code == 200, r.body
    (pool,) = r.json_body["pools"]
    assert (pool["pool_id"], pool["size"], pool["peak_concurrent_leases"], pool["exhaustions"]) == ("main", 5, 3, 2)
    assert pool["recommended_size"] >= 8  # it ran out: at least half again its size
    assert client.http.get(f"/v1/accounts/{account_id}/pool-health?days=0", headers=auth(key)).status_code == 400


def test_dashboard_files_are_served_and_nothing_else(client):
    r = client.http.get("/dashboard")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert b"dashboard/app.js" in r.body
    assert client.http.get("/dashboard/app.js").headers["Content-Type"].startswith("text/javascript")
    assert client.http.get("/dashboard/..%2Fapi.py").status_code == 404
    assert client.http.get("/dashboard/nope.js").status_code == 404


def test_tag_categories_in_the_account_config_are_what_tags_are_checked_against(client, acc):
    account_id, key = acc
    Account(account_id).update(actions=[Account.config.set({"tag_categories": [{"name": "Lead"}]})])
    accounts.invalidate(account_id)
    call = record(account_id)
    write_calls([call])
    url = f"/v1/accounts/{account_id}/calls/{call['call_id']}/tags"
    headers = {**auth(key), "Content-Type": "application/json"}
    assert client.http.put(url, headers=headers, body=json.dumps({"tags": [{"category": "Sale"}]})).status_code == 400
    assert client.http.put(url, headers=headers, body=json.dumps({"tags": [{"category": "lead"}]})).status_code == 200


def test_the_call_list_reads_only_up_to_its_limit_and_takes_the_total_from_the_report(client, acc, monkeypatch):
    from chalicelib.calls import store

    account_id, key = acc
    write_calls([record(account_id, started_at=WORKDAY + i * 60) for i in range(7)]
                + [record(account_id, started_at=WORKDAY + 600, status="missed")])
    read = []
    real = store.query_calls

    def counting(*args, **kwargs):
        for call in real(*args, **kwargs):
            read.append(call["call_id"])
            yield call

    monkeypatch.setattr(store, "query_calls", counting)
    r = report(client, account_id, key, include="calls", limit=2, status="answered")
    assert r.status_code == 200, r.body
    body = r.json_body
    assert len(body["calls"]) == 2 and body["calls_total"] == 7 == body["totals"]["calls"]
    assert len(read) <= 3          # newest first: the missed call, then two answered ones
