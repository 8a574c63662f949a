"""The whole path against the emulator: a visitor leases a number through /v1/sessions,
calls it; Vonage's answer and events make a call record attributed to that session and
classified from the caller's history (sales cycle and target length per account)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from pynamodb.connection.base import Connection

from chalicelib.calls import api as calls_api
from chalicelib.geo.phone import digits
from tests.events.loader import answered_call
from tests.integration.calls_support import answer, list_calls, read_call, send

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
DAY = 86400.0
KEY = "calls-flow-key"
ALWAYS_OPEN = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def lease(client, account_id: str, url: str) -> dict:
    response = client.http.post("/v1/sessions", headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
                                body=json.dumps({"account": account_id, "url": url, "ga_client_id": "111.222",
                                                 "ga_session_id": "1764110000"}))
    assert response.status_code == 200, response.body
    return response.json_body


def call(client, tracking: str, caller: str, at: float, talk: int) -> str:
    """An inbound call at `at`: answer, both legs' events; the agent talks `talk` seconds."""
    conv, events = ring(client, tracking, caller, at, talk)
    hang_up(client, events)
    return conv


def ring(client, tracking: str, caller: str, at: float, talk: int) -> tuple:
    """Answer the call now; return its id and the events Vonage will send about it."""
    params, events = answered_call(tracking, caller, at, talk)
    answer(client, params)
    return params["conversation_uuid"], events


def hang_up(client, events) -> None:
    for query, body in events:
        send(client, "/vonage/events", query, body)


@pytest.fixture()
def tracked(client, account, monkeypatch):
    acc = account(api_key=KEY, settings={"target_seconds": 30, "sales_cycle_days": 7,
                                             "working_hours": ALWAYS_OPEN})
    session = lease(client, acc.account_id,
                    "http://localhost/boilers?utm_source=google&utm_medium=cpc&utm_campaign=winter&utm_term=boiler+repair")
    assert session["method"] == "dynamic"
    clock = {"now": datetime.now(timezone.utc).timestamp() + 5}
    monkeypatch.setattr(calls_api, "clock", lambda: clock["now"])
    return acc, session, clock


def test_call_to_a_leased_number_carries_the_session_and_its_class(client, tracked):
    acc, session, clock = tracked
    now = clock["now"]
    first = call(client, session["number"], "+14155550100", now, talk=45)

    listed = list_calls(client, acc.account_id, KEY, since=now - 60, until=now + 60)
    assert [c["call_id"] for c in listed["calls"]] == [first] and listed["next"] is None
    record = listed["calls"][0]
    assert (record["source"], record["medium"], record["campaign"], record["keyword"]) == \
        ("google", "cpc", "winter", "boiler repair")
    assert record["session_id"] == session["session_id"] and record["method"] == "dynamic"
    assert record["ga_client_id"] == "111.222" and record["landing_page"].startswith("http://localhost/boilers")
    assert record["ga_session_id"] == "1764110000"                # joins the visitor's GA4 session
    assert record["attribution_confidence"] >= 0.75 and record["pages_seen"] == 1       # the only holder
    # The demo routing whispers "Call from google." (3 words, ~1.2 s) to the agent before the
    # caller is bridged: of the agent leg's 45 s, 44 are the conversation.
    assert (record["status"], record["talk_seconds"], record["wait_seconds"]) == ("answered", 44, 4)
    assert record["caller"] == "+14155550100" and record["tracking_number"] == session["number"]
    assert record["classification"] == {"unique": True, "target": True, "repeated": False,
                                        "first_target": True, "unique_target": True}

    # Two days later, inside the 7-day sales cycle: the same caller again, long enough → repeated.
    clock["now"] = now + 2 * DAY
    second = call(client, session["number"], "+14155550100", now + 2 * DAY, talk=60)
    assert read_call(client, acc.account_id, second, KEY)["classification"] == {
        "unique": False, "target": False, "repeated": True, "first_target": False, "unique_target": False}

    # Eight days after the first target call, the cycle is over → a target call again.
    clock["now"] = now + 8 * DAY
    third = call(client, session["number"], "+14155550100", now + 8 * DAY, talk=31)
    third_record = read_call(client, acc.account_id, third, KEY)
    assert third_record["classification"]["target"] and not third_record["classification"]["repeated"]
    # The lease and its grace window are long over, but this caller phoned the number for
    # this session before (within repeat_caller_days): the call is still the session's.
    assert third_record["session_id"] == session["session_id"]
    assert third_record["attribution_confidence"] == record["attribution_confidence"]     # the first call's
    # Someone else calling the number now matches nobody.
    clock["now"] = now + 8 * DAY + 60
    stranger = call(client, session["number"], "+14155550109", now + 8 * DAY + 60, talk=5)
    assert read_call(client, acc.account_id, stranger, KEY)["session_id"] is None

    everything = list_calls(client, acc.account_id, KEY, since=now - 60, until=now + 9 * DAY)["calls"]
    assert [c["call_id"] for c in everything] == [stranger, third, second, first]      # newest first
    targets = list_calls(client, acc.account_id, KEY, since=now - 60, until=now + 9 * DAY, classification="target")
    assert [c["call_id"] for c in targets["calls"]] == [third, first]
    page = list_calls(client, acc.account_id, KEY, since=now - 60, until=now + 9 * DAY, limit=2)
    assert len(page["calls"]) == 2 and page["next"]
    rest = list_calls(client, acc.account_id, KEY, since=now - 60, until=now + 9 * DAY, limit=2, next=page["next"])
    assert [c["call_id"] for c in rest["calls"]] == [second, first]


def test_a_short_first_call_is_unique_and_a_later_long_one_the_first_target(client, tracked):
    acc, session, clock = tracked
    now = clock["now"]
    short = call(client, session["number"], "+14155550101", now, talk=10)
    clock["now"] = now + 600
    long = call(client, session["number"], "+14155550101", now + 600, talk=40)
    assert read_call(client, acc.account_id, short, KEY)["classification"] == {
        "unique": True, "target": False, "repeated": False, "first_target": False, "unique_target": False}
    assert read_call(client, acc.account_id, long, KEY)["classification"] == {
        "unique": False, "target": True, "repeated": False, "first_target": True, "unique_target": False}


def test_calls_completing_out_of_order_are_classified_as_if_in_order(client, tracked):
    acc, session, clock = tracked
    now = clock["now"]
    earlier, earlier_events = ring(client, session["number"], "+14155550104", now, talk=50)
    clock["now"] = now + DAY
    later, later_events = ring(client, session["number"], "+14155550104", now + DAY, talk=50)
    hang_up(client, later_events)                       # the later call's events arrive first
    assert read_call(client, acc.account_id, later, KEY)["classification"]["unique_target"]
    hang_up(client, earlier_events)
    assert read_call(client, acc.account_id, earlier, KEY)["classification"] == {
        "unique": True, "target": True, "repeated": False, "first_target": True, "unique_target": True}
    assert read_call(client, acc.account_id, later, KEY)["classification"] == {
        "unique": False, "target": False, "repeated": True, "first_target": False, "unique_target": False}


class CountingConnection:
    """Counts DynamoDB requests PynamoDB makes (by operation) while active."""

    def __init__(self, monkeypatch) -> None:
        self.ops = []
        original = Connection._make_api_call

        def counted(conn, operation_name, operation_kwargs):
            self.ops.append(operation_name)
            return original(conn, operation_name, operation_kwargs)

        monkeypatch.setattr(Connection, "_make_api_call", counted)


def test_the_answer_path_makes_at_most_four_dynamodb_requests(client, tracked, monkeypatch):
    from chalicelib.dni.models import Number

    acc, session, clock = tracked
    first = {"to": digits(session["number"]), "from": "14155550102", "uuid": str(uuid.uuid4()),
             "conversation_uuid": "CON-" + str(uuid.uuid4())}
    assert Number.get(session["number"]).called_by is None
    counter = CountingConnection(monkeypatch)
    ncco = answer(client, first)              # the account is in the container cache since the lease
    assert ncco[-1]["action"] == "connect" and ncco[-1]["from"] == digits(session["number"])
    # Number, lease history, the note on the number (holder called, caller remembered), the call.
    assert counter.ops == ["GetItem", "Query", "UpdateItem", "UpdateItem"]
    assert Number.get(session["number"]).called_by == session["session_id"]

    counter.ops.clear()                       # the same caller again: their session is remembered
    answer(client, {**first, "uuid": str(uuid.uuid4()), "conversation_uuid": "CON-" + str(uuid.uuid4())})
    assert counter.ops == ["GetItem", "GetItem", "UpdateItem"]        # number, session, call


def test_an_unknown_number_gets_a_short_message_not_an_error(client, moto_endpoint):
    for params in ({"to": "15005550000", "from": "14155550100", "uuid": "u", "conversation_uuid": "CON-x"},
                   {"to": "not-a-number"}, {}):
        ncco = answer(client, params)
        assert ncco == [{"action": "talk", "text": "Sorry, this number is not in service.", "language": "en-US"}]


def test_calls_are_read_only_with_the_accounts_key(client, tracked):
    acc, session, clock = tracked
    conv = call(client, session["number"], "+14155550103", clock["now"], talk=5)
    for headers, status in (({}, 401), ({"Authorization": "Bearer demo-secret-key"}, 403)):
        assert client.http.get(f"/v1/accounts/{acc.account_id}/calls/{conv}", headers=headers).status_code == status
    missing = client.http.get(f"/v1/accounts/{acc.account_id}/calls/nope", headers={"Authorization": f"Bearer {KEY}"})
    assert missing.status_code == 404 and missing.json_body["error"] == "not_found"
    bad = client.http.get(f"/v1/accounts/{acc.account_id}/calls?since=yesterday",
                          headers={"Authorization": f"Bearer {KEY}"})
    assert bad.status_code == 400


def test_a_callers_history_forgets_calls_older_than_the_retention(client, account, monkeypatch):
    from chalicelib.calls.models import CallerHistory
    from chalicelib.calls.record import caller_hash

    acc = account(api_key=KEY + "r", settings={"working_hours": ALWAYS_OPEN, "retention_days": 30})
    number = sorted(acc_numbers(acc.account_id))[0]
    now = datetime.now(timezone.utc).timestamp()
    clock = {"now": now}
    monkeypatch.setattr(calls_api, "clock", lambda: clock["now"])
    call(client, number, "+14155550105", now, talk=45)
    clock["now"] = now + 40 * DAY
    late = call(client, number, "+14155550105", now + 40 * DAY, talk=45)
    history = CallerHistory.get(f"{acc.account_id}#{caller_hash('+14155550105')}")
    assert len(history.entries) == 1 and late in next(iter(history.entries))
    assert read_call(client, acc.account_id, late, KEY + "r")["classification"]["unique"]


def acc_numbers(account_id):
    from chalicelib.dni.models import Number

    return {n.number for n in Number.pool_index.query(f"{account_id}#main")}


def test_a_calls_story_tells_the_caller_the_timeline_the_pages_and_the_other_calls(client, tracked):
    """The detail page's answer, over the real path: the visitor saw two pages, then called
    twice; each call's story names the pages with their times and the other call."""
    acc, session, clock = tracked
    now = clock["now"]
    beat = client.http.post(f"/v1/sessions/{session['session_id']}/heartbeat",
                            headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
                            body=json.dumps({"url": "http://localhost/pricing"}))
    assert beat.status_code == 200, beat.body
    first = call(client, session["number"], "+12025550147", now, talk=45)
    clock["now"] = now + 600
    second = call(client, session["number"], "+12025550147", now + 600, talk=90)
    r = client.http.get(f"/v1/accounts/{acc.account_id}/calls/{second}/story",
                        headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200, r.body
    told = r.json_body
    assert told["call"]["call_id"] == second and told["status_words"] == "answered"
    assert told["caller"] == {"number": "+12025550147", "display": "(202) 555-0147", "place": "Washington D.C.",
                              "country": "US"}
    assert [s["what"] for s in told["timeline"]][:3] == ["rang", "answered", "ended"]
    assert told["timeline"][1]["detail"].startswith("by ") and told["timeline"][2]["detail"] == "talked 89 s"
    pages = told["journey"]["pages"]
    assert [p["url"].split("?")[0] for p in pages] == ["http://localhost/boilers", "http://localhost/pricing"]
    assert all(p["at"] and p["at"] <= told["call"]["started_at"] for p in pages)
    assert told["journey"]["source"] == "google" and told["journey"]["started_at"] <= pages[0]["at"]
    assert [(h["call_id"], h["before"]) for h in told["history"]] == [(first, True)]
    # The first call's story names the later one; an unknown call is a 404; a stray parameter a 400.
    r = client.http.get(f"/v1/accounts/{acc.account_id}/calls/{first}/story", headers={"Authorization": f"Bearer {KEY}"})
    assert [(h["call_id"], h["before"]) for h in r.json_body["history"]] == [(second, False)]
    assert client.http.get(f"/v1/accounts/{acc.account_id}/calls/nope/story",
                           headers={"Authorization": f"Bearer {KEY}"}).status_code == 404
    assert client.http.get(f"/v1/accounts/{acc.account_id}/calls/{first}/story?x=1",
                           headers={"Authorization": f"Bearer {KEY}"}).status_code == 400
