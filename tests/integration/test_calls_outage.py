"""The caller is always connected: the database stalls (a server that accepts connections and
never answers) or refuses while Vonage waits, and Vonage's fallback URL. Bodies as Vonage's
webhook reference documents them (the fallback adds `reason` and `original_request`)."""
from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from chalicelib import accounts
from chalicelib.calls import api as calls_api
from chalicelib.calls import outage, store
from chalicelib.geo.phone import digits
from tests.integration.calls_support import read_call, send
from tests.outages import database, free_closed_port, stalled
from tests.integration.test_calls_flow import KEY, tracked  # noqa: F401  (a fixture)

IVR = {"prompt": "For sales press 1, for service press 2.", "timeout_seconds": 5,
       "options": {"1": {"department": "Sales"}, "2": {"department": "Service", "destination": "+14155550188"}}}
ALWAYS_OPEN = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def pool_number(acc) -> str:
    from chalicelib.dni.models import Number

    return sorted(n.number for n in Number.pool_index.query(f"{acc.account_id}#main"))[0]


def answer_params(tracking: str, caller: str = "14155550142") -> dict:
    return {"to": digits(tracking), "from": caller, "uuid": str(uuid.uuid4()),
            "conversation_uuid": "CON-" + str(uuid.uuid4()), "region_url": "https://api-us-3.vonage.com"}


def timed_answer(client, params: dict):
    started = time.monotonic()
    response = client.http.get("/vonage/answer?" + urlencode(params))
    return response, time.monotonic() - started


def event_query(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query))


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def test_a_stalled_database_still_connects_the_caller_within_vonages_wait_and_the_call_is_recorded_later(
        client, tracked, monkeypatch):
    acc, session, clock = tracked
    monkeypatch.setattr(calls_api, "clock", time.time)
    warm, _ = timed_answer(client, answer_params(session["number"]))         # this container answered once
    assert warm.status_code == 200 and warm.json_body[-1]["action"] == "connect"

    params = answer_params(session["number"], caller="14155550143")
    with stalled():
        response, seconds = timed_answer(client, params)
    assert response.status_code == 200 and seconds < 5.0, seconds
    (connect,) = response.json_body
    assert connect["action"] == "connect" and connect["endpoint"] == [{"type": "phone", "number": "14155550199"}]
    assert connect["from"] == digits(session["number"]) and connect["eventType"] == "synchronous"
    query = event_query(connect["eventUrl"][0])
    assert query["degraded"] == "1" and query["call"] == params["conversation_uuid"]

    # The database is back: Vonage's events about the call open it, attributed as of its start.
    conv, now = params["conversation_uuid"], time.time()
    agent = {"from": digits(session["number"]), "to": "14155550199", "uuid": str(uuid.uuid4()),
             "conversation_uuid": conv, "direction": "outbound"}
    caller = {"from": params["from"], "to": params["to"], "uuid": params["uuid"], "conversation_uuid": conv,
              "direction": "inbound"}
    send(client, "/vonage/events", query, {**agent, "status": "started", "timestamp": iso(now)})
    send(client, "/vonage/events", query, {**agent, "status": "answered", "timestamp": iso(now + 4)})
    send(client, "/vonage/events", query, {**agent, "status": "completed", "timestamp": iso(now + 40),
                                           "start_time": iso(now + 4), "end_time": iso(now + 40), "duration": "36"})
    send(client, "/vonage/events", {}, {**caller, "status": "completed", "timestamp": iso(now + 40.2),
                                        "start_time": iso(now), "end_time": iso(now + 40.2), "duration": "40"})
    record = read_call(client, acc.account_id, conv, KEY)
    assert (record["status"], record["talk_seconds"], record["tracking_number"]) == ("answered", 36, session["number"])
    assert record["session_id"] == session["session_id"] and record["source"] == "google"
    # The caller's first call, 36 s of talk: classified like any call, not left unclassified.
    assert record["classification"] == {"unique": True, "target": True, "repeated": False, "first_target": True, "unique_target": True}


def test_a_cold_container_connects_to_the_configured_fallback_line_and_never_says_not_in_service(
        client, account, monkeypatch):
    acc = account(extra_config={"routing": {"destination": "+14155550199"}}, settings={"working_hours": ALWAYS_OPEN})
    outage.forget()
    accounts.invalidate()
    monkeypatch.setenv("CALLTRACK_FALLBACK_DESTINATION", "+14155550177")
    params = answer_params(pool_number(acc))
    with database(free_closed_port()):                     # refused, not stalled
        response, seconds = timed_answer(client, params)
    assert response.status_code == 200 and seconds < 5.0
    assert response.json_body[0]["endpoint"] == [{"type": "phone", "number": "14155550177"}]

    monkeypatch.delenv("CALLTRACK_FALLBACK_DESTINATION")
    with stalled():
        response, seconds = timed_answer(client, answer_params("+14155559999"))
    assert response.status_code == 200 and seconds < 5.0
    (talk,) = response.json_body
    assert talk["action"] == "talk" and "not in service" not in talk["text"]


def _ivr_account(client, account, monkeypatch):
    acc = account(extra_config={"routing": {"destination": "+14155550199", "ivr": IVR}},
                  settings={"working_hours": ALWAYS_OPEN})
    monkeypatch.setattr(calls_api, "clock", time.time)
    params = answer_params(pool_number(acc))
    response = client.http.get("/vonage/answer?" + urlencode(params))
    assert response.json_body[-1]["action"] == "input"
    return acc, params


def fallback(client, original_url: str, body: dict, kind: str = "event"):
    payload = {**body, "reason": "Connection closed.", "original_request": {"url": original_url, "type": kind}}
    return client.http.post("/vonage/fallback", headers={"Content-Type": "application/json"},
                            body=json.dumps(payload))


@pytest.mark.parametrize("database_down", [False, True])
def test_the_fallback_url_routes_an_ivr_choice(client, account, monkeypatch, database_down):
    acc, params = _ivr_account(client, account, monkeypatch)
    conv = params["conversation_uuid"]
    body = {"speech": {"error": "Speech was not enabled"}, "dtmf": {"digits": "2", "timed_out": False},
            "from": params["from"], "to": params["to"], "uuid": params["uuid"], "conversation_uuid": conv,
            "timestamp": iso(time.time())}
    url = f"https://calltrack.example.com/api/vonage/ivr?call={conv}"
    if database_down:
        with stalled():
            started = time.monotonic()
            response = fallback(client, url, body)
            assert time.monotonic() - started < 5.0
    else:
        response = fallback(client, url, body)
    assert response.status_code == 200
    connect = response.json_body[-1]
    assert connect["action"] == "connect" and connect["endpoint"][0]["number"] == "14155550188"   # Service


def test_the_legacy_input_shape_still_routes(client, account, monkeypatch):
    acc, params = _ivr_account(client, account, monkeypatch)
    conv = params["conversation_uuid"]
    legacy = {"uuid": params["uuid"], "conversation_uuid": conv, "timed_out": False, "dtmf": "2",
              "timestamp": iso(time.time())}
    response = send(client, "/vonage/ivr", {"call": conv}, legacy)
    assert response.json_body[-1]["endpoint"][0]["number"] == "14155550188"
    assert store.get_call(acc.account_id, conv)["ivr_path"] == ["2"]


@pytest.mark.parametrize("database_down", [False, True])
def test_the_fallback_url_sends_an_unanswered_call_to_voicemail(client, account, monkeypatch, database_down):
    acc = account(extra_config={"routing": {"destination": "+14155550199"}}, settings={"working_hours": ALWAYS_OPEN})
    monkeypatch.setattr(calls_api, "clock", time.time)
    params = answer_params(pool_number(acc))
    assert client.http.get("/vonage/answer?" + urlencode(params)).json_body[-1]["action"] == "connect"
    conv = params["conversation_uuid"]
    timeout = {"from": params["to"], "to": "14155550199", "uuid": str(uuid.uuid4()), "conversation_uuid": conv,
               "status": "timeout", "direction": "outbound", "timestamp": iso(time.time())}
    url = f"https://calltrack.example.com/vonage/events?call={conv}&leg=agent"
    if database_down:
        with stalled():
            response = fallback(client, url, timeout)
    else:
        response = fallback(client, url, timeout)
    assert response.status_code == 200
    actions = [a["action"] for a in response.json_body]
    assert actions[0] == "talk" and actions[-1] == "record"
    assert "kind=voicemail" in response.json_body[-1]["eventUrl"][0]


def test_a_fallback_that_names_no_webhook_of_ours_is_a_clear_400(client, moto_endpoint):
    for original in (None, {"url": "https://elsewhere.example.com/hook", "type": "event"}):
        body = {"status": "timeout", "reason": "Connection closed."}
        if original:
            body["original_request"] = original
        response = client.http.post("/vonage/fallback", headers={"Content-Type": "application/json"},
                                    body=json.dumps(body))
        assert response.status_code == 400 and set(response.json_body) == {"error", "message"}


def test_a_websocket_disconnected_event_is_not_taken_for_the_agent(client, account, monkeypatch):
    acc = account(extra_config={"routing": {"destination": "+14155550199"}}, settings={"working_hours": ALWAYS_OPEN})
    monkeypatch.setattr(calls_api, "clock", time.time)
    params = answer_params(pool_number(acc))
    client.http.get("/vonage/answer?" + urlencode(params))
    conv = params["conversation_uuid"]
    send(client, "/vonage/events", {}, {"from": "442079460000", "to": "wss://example.com/socket",
                                        "uuid": str(uuid.uuid4()), "conversation_uuid": conv,
                                        "status": "disconnected", "timestamp": iso(time.time()),
                                        "headers": {"caller-id": "447700900123"}})
    from chalicelib.calls.models import Call

    assert not Call.get(conv).evs                           # nothing kept: no leg of ours


def test_an_event_we_could_not_take_is_answered_503_and_its_retry_is_not_a_replay(client, account, monkeypatch):
    """Only the calls table stalls: the event is answered 503 within Vonage's wait (Vonage
    retries it) and its token is forgotten, so the retry — even with the same token — is
    taken once the table answers again."""
    from chalicelib.calls.models import Call
    from tests.integration.test_calls_vonage_api import SECRET, signed

    monkeypatch.setenv("VONAGE_SIGNATURE_SECRET", SECRET)
    body = json.dumps({"from": "14155550142", "to": "14155550131", "uuid": str(uuid.uuid4()),
                       "conversation_uuid": "CON-" + str(uuid.uuid4()), "status": "ringing",
                       "direction": "inbound", "timestamp": iso(time.time())}).encode()
    headers = signed(body)
    with stalled([Call]):
        started = time.monotonic()
        response = client.http.post("/vonage/events", headers=headers, body=body)
        assert time.monotonic() - started < 5.0
    assert response.status_code == 503 and response.json_body["error"] == "unavailable"
    assert client.http.post("/vonage/events", headers=headers, body=body).status_code == 204
    assert client.http.post("/vonage/events", headers=headers, body=body).status_code == 401   # now a replay


def test_an_answer_that_overran_and_wrote_its_plan_late_does_not_leave_the_call_waiting(client, account, monkeypatch):
    """Only the calls table stalls during the answer: the caller gets the degraded connect.
    Should the overrunning write land afterwards with the full plan (recording, whisper), the
    connect's first event replaces that plan with the one that ran, so the call does not
    wait for a recording that was never made."""
    from chalicelib import accounts as accounts_mod
    from chalicelib.calls import lifecycle, webhooks
    from chalicelib.calls.models import Call
    from chalicelib.dni.models import Number

    acc = account(extra_config={"routing": {"destination": "+14155550199", "record": {"enabled": True},
                                            "whisper": True}}, settings={"working_hours": ALWAYS_OPEN})
    monkeypatch.setattr(calls_api, "clock", time.time)
    tracking = pool_number(acc)
    params = answer_params(tracking)
    with stalled([Call]):
        response, seconds = timed_answer(client, params)
    assert seconds < 5.0 and response.json_body[0]["action"] == "connect"
    query = event_query(response.json_body[0]["eventUrl"][0])
    conv, now = params["conversation_uuid"], time.time()
    # What the overrunning answer would have written, had its write landed after all.
    late = webhooks.inbound_context(accounts_mod.get_account(acc.account_id), Number.get(tracking), tracking,
                                    "+" + params["from"], conv, params["uuid"], now)
    assert late["plan"]["record"] is True
    lifecycle.open_call(late)
    agent = {"from": params["to"], "to": "14155550199", "uuid": str(uuid.uuid4()), "conversation_uuid": conv,
             "direction": "outbound"}
    caller = {"from": params["from"], "to": params["to"], "uuid": params["uuid"], "conversation_uuid": conv,
              "direction": "inbound"}
    send(client, "/vonage/events", query, {**agent, "status": "answered", "timestamp": iso(now + 4)})
    send(client, "/vonage/events", query, {**agent, "status": "completed", "timestamp": iso(now + 40),
                                           "start_time": iso(now + 4), "end_time": iso(now + 40), "duration": "36"})
    send(client, "/vonage/events", {}, {**caller, "status": "completed", "timestamp": iso(now + 40.2),
                                        "start_time": iso(now), "end_time": iso(now + 40.2), "duration": "40"})
    item = Call.get(conv)
    assert item.ctx["plan"]["degraded"] is True and item.ctx["plan"]["record"] is False
    record = store.get_call(acc.account_id, conv)
    assert (record["status"], record["talk_seconds"]) == ("answered", 36)
    assert record["classification"] == {"unique": True, "target": True, "repeated": False, "first_target": True, "unique_target": True}


def test_a_get_fallback_for_the_answer_url_answers_the_call(client, account, monkeypatch):
    """Vonage's answer URL is a GET by default, so its fallback carries the original query
    plus `reason` and `original_request` (JSON-encoded) in the query string."""
    acc = account(extra_config={"routing": {"destination": "+14155550199"}}, settings={"working_hours": ALWAYS_OPEN})
    monkeypatch.setattr(calls_api, "clock", time.time)
    params = answer_params(pool_number(acc))
    original = json.dumps({"url": "https://calltrack.example.com/v1/vonage/answer", "type": "answer"})
    response = client.http.get("/vonage/fallback?" + urlencode({**params, "reason": "Read timed out",
                                                                "original_request": original}))
    assert response.status_code == 200
    assert response.json_body[-1]["action"] == "connect"
    assert store.get_call(acc.account_id, params["conversation_uuid"])["status"] == "in_progress"
