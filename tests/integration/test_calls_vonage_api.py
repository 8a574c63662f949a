"""Outbound Vonage REST calls (create call, transfer) against a local HTTPS stub of
Vonage's API, and signed webhooks checked by the app."""
from __future__ import annotations

import hashlib
import json
import time
import uuid

import jwt
import pytest

from chalicelib.dni.models import Number
from chalicelib.geo.phone import digits
from tests.integration.calls_support import WIDGET, answer, read_call, send, vonage_stub

KEY = "calls-vonage-key"
ALWAYS_OPEN = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    with vonage_stub(tmp_path_factory.mktemp("vonage")) as s:
        yield s


def agent_event(call_id: str, attempt: int, leg_uuid: str, status: str, leg: str = "agent", **extra) -> tuple:
    body = {"from": "14155550123", "to": "14155550199", "uuid": leg_uuid, "conversation_uuid": "CON-" + leg_uuid,
            "status": status, "direction": "outbound", "timestamp": "2026-01-05T10:00:00.000Z", **extra}
    return "/vonage/events", {"call": call_id, "leg": leg, "attempt": str(attempt)}, body


def test_callback_dials_the_business_first_then_the_visitor(client, account, stub):
    acc = account(api_key=KEY + "1", extra_config={"routing": {"destination": "+14155550199",
                                                               "callback": {"retries": 1}}})
    before = len(stub.created())
    response = send(client, "/v1/callbacks", {}, {"account": acc.account_id, "phone": "+1 415 555 0177"}, WIDGET)
    assert response.status_code == 202
    call_id = response.json_body["callback_id"]
    created = stub.created()[before:]
    assert len(created) == 1
    request = created[0]
    assert request["authorization"].startswith("Bearer ")        # JWT signed with the application's key
    body = request["body"]
    assert body["to"] == [{"type": "phone", "number": "14155550199"}]
    assert body["from"] == {"type": "phone", "number": digits(acc.default_number)}
    assert body["event_url"][0].endswith(f"/vonage/events?call={call_id}&leg=agent&attempt=1")
    # Vonage rings for the callback's ring time (its own default is 60 s), and a voicemail box
    # answering the business's phone is hung up, not taken for the business.
    assert body["ringing_timer"] == 25
    assert body["advanced_machine_detection"] == {"behavior": "hangup", "mode": "detect"}
    talk, connect = body["ncco"]
    assert talk["action"] == "talk"
    assert connect["action"] == "connect" and connect["endpoint"] == [{"type": "phone", "number": "14155550177"}]
    # The visitor's voicemail is hung up too: the agent is never bridged to a machine.
    assert connect["advancedMachineDetection"] == {"behavior": "hangup", "mode": "detect"}
    assert connect["eventUrl"][0].endswith(f"leg=client&attempt=1")

    # The business does not answer: Vonage reports it (twice — a retry) → exactly one new attempt.
    first = str(uuid.uuid4())
    for _ in range(2):
        send(client, *agent_event(call_id, 1, first, "timeout"))
    assert len(stub.created()[before:]) == 2
    # The retry is not answered either: no attempts left → the final status.
    send(client, *agent_event(call_id, 2, str(uuid.uuid4()), "unanswered"))
    assert len(stub.created()[before:]) == 2
    record = read_call(client, acc.account_id, call_id, KEY + "1")
    assert record["direction"] == "callback" and record["status"] == "callback_agent_no_answer"
    assert record["caller"] == "+14155550177" and record["suspected_false_conversion"] is False


def test_a_visitor_who_never_answers_is_a_suspected_false_conversion(client, account, stub):
    acc = account(api_key=KEY + "2", extra_config={"routing": {"destination": "+14155550199",
                                                               "callback": {"retries": 0}}})
    call_id = send(client, "/v1/callbacks", {}, {"account": acc.account_id, "phone": "+14155550178"}, WIDGET).json_body[
        "callback_id"]
    agent, visitor = str(uuid.uuid4()), str(uuid.uuid4())
    send(client, *agent_event(call_id, 1, agent, "answered"))
    send(client, *agent_event(call_id, 1, visitor, "timeout", leg="client", to="14155550178"))
    send(client, *agent_event(call_id, 1, agent, "completed", duration="22"))
    record = read_call(client, acc.account_id, call_id, KEY + "2")
    assert record["status"] == "callback_client_no_answer" and record["suspected_false_conversion"] is True


def test_callback_request_is_validated(client, account, stub):
    acc = account()
    bad = client.http.post("/v1/callbacks", headers={"Content-Type": "text/plain"},
                           body=json.dumps({"account": acc.account_id, "phone": "call me"}))
    assert bad.status_code == 400 and bad.json_body["error"] == "validation_failed"
    unknown = client.http.post("/v1/callbacks", headers={"Content-Type": "text/plain"},
                               body=json.dumps({"account": "no-such-account", "phone": "+14155550178"}))
    assert unknown.status_code == 404


def test_only_a_browser_on_the_accounts_site_may_ask_for_a_callback(client, account, stub):
    acc = account(extra_config={"routing": {"destination": "+14155550199", "callback": {"retries": 0}}})
    before = len(stub.created())
    body = json.dumps({"account": acc.account_id, "phone": "+14155550176"})
    for headers in ({**WIDGET, "Origin": "https://evil.example"},          # someone else's page
                    {"Origin": "http://localhost:8001"},                    # a script, not a browser
                    {**WIDGET, "User-Agent": "curl/8.5.0"}):
        refused = client.http.post("/v1/callbacks", headers={"Content-Type": "text/plain", **headers}, body=body)
        assert refused.status_code == 403 and refused.json_body["error"] == "forbidden", headers
    assert len(stub.created()) == before                                     # nobody was dialled
    assert send(client, "/v1/callbacks", {}, json.loads(body), WIDGET).status_code == 202


def test_agent_tags_the_call_on_the_keypad_after_the_caller_hangs_up(client, account, stub, monkeypatch):
    acc = account(api_key=KEY + "3", settings={"working_hours": ALWAYS_OPEN, "default_value": 25},
                  extra_config={"routing": {"destination": "+14155550199", "tagging": {"enabled": True}},
                                "tag_categories": [{"name": "Sale", "code": "1", "default_value": 100},
                                                   {"name": "Quote", "code": "2"}]})
    tracking = digits(next(iter(Number.pool_index.query(f"{acc.account_id}#main"))).number)
    conv, leg, agent = "CON-" + str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    answer(client, {"to": tracking, "from": "14155550179", "uuid": leg, "conversation_uuid": conv})
    inbound = {"from": "14155550179", "to": tracking, "uuid": leg, "conversation_uuid": conv,
               "direction": "inbound", "timestamp": "2026-01-05T10:00:00.000Z"}
    outbound = {"from": tracking, "to": "14155550199", "uuid": agent, "conversation_uuid": conv,
                "direction": "outbound", "timestamp": "2026-01-05T10:00:05.000Z"}
    send(client, "/vonage/events", {}, {**inbound, "status": "started"})
    send(client, "/vonage/events", {"call": conv, "leg": "agent"}, {**outbound, "status": "answered"})
    before = len(stub.transfers())
    send(client, "/vonage/events", {}, {**inbound, "status": "completed", "duration": "60",
                                        "timestamp": "2026-01-05T10:01:05.000Z"})
    transfers = stub.transfers()[before:]
    assert len(transfers) == 1 and transfers[0]["path"] == f"/v1/calls/{agent}"
    menu = transfers[0]["body"]
    assert menu["action"] == "transfer" and menu["destination"]["type"] == "ncco"
    assert [a["action"] for a in menu["destination"]["ncco"]] == ["talk", "input"]

    nxt = send(client, "/vonage/tagging", {"call": conv, "step": "category"},
               {"dtmf": {"digits": "1", "timed_out": False}, "uuid": agent, "conversation_uuid": conv}).json_body
    assert nxt[-1]["action"] == "input" and "category=1" in nxt[-1]["eventUrl"][0]
    send(client, "/vonage/tagging", {"call": conv, "step": "value", "category": "1"},
         {"dtmf": {"digits": "", "timed_out": True}, "uuid": agent, "conversation_uuid": conv})
    record = read_call(client, acc.account_id, conv, KEY + "3")
    assert record["tags"] == [{"category": "Sale", "value": None}] and record["value"] == 100.0   # category default

    send(client, "/vonage/tagging", {"call": conv, "step": "value", "category": "2"},
         {"dtmf": {"digits": "350", "timed_out": False}, "uuid": agent, "conversation_uuid": conv})
    record = read_call(client, acc.account_id, conv, KEY + "3")
    assert {"category": "Quote", "value": None} in record["tags"] and record["value"] == 350.0
    # The caller leg's completion arriving again (a retry) does not transfer the agent twice.
    send(client, "/vonage/events", {}, {**inbound, "status": "completed", "duration": "60",
                                        "timestamp": "2026-01-05T10:01:05.000Z"})
    assert len(stub.transfers()[before:]) == 1


SECRET = "calls-test-signature-secret-0123456789"


def signed(body: bytes, secret: str = SECRET, iat: float = None) -> dict:
    claims = {"iat": int(iat if iat is not None else time.time()), "jti": str(uuid.uuid4()),
              "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
              "payload_hash": hashlib.sha256(body).hexdigest()}
    return {"Authorization": "Bearer " + jwt.encode(claims, secret, algorithm="HS256"),
            "Content-Type": "application/json"}


def test_with_a_signature_secret_only_signed_fresh_untampered_webhooks_pass(client, moto_endpoint, monkeypatch):
    monkeypatch.setenv("VONAGE_SIGNATURE_SECRET", SECRET)
    body = json.dumps({"status": "ringing", "uuid": "u-1", "conversation_uuid": "CON-sig-" + uuid.uuid4().hex,
                       "direction": "inbound", "timestamp": "2026-01-05T10:00:00.000Z"}).encode()
    assert client.http.post("/vonage/events", headers={"Content-Type": "application/json"}, body=body).status_code == 401
    tampered = body.replace(b"ringing", b"answered")
    assert client.http.post("/vonage/events", headers=signed(body), body=tampered).status_code == 401
    stale = client.http.post("/vonage/events", headers=signed(body, iat=time.time() - 3600), body=body)
    assert stale.status_code == 401 and stale.json_body["error"] == "invalid_signature"
    wrong = client.http.post("/vonage/events", headers=signed(body, secret="x" * 40), body=body)
    assert wrong.status_code == 401
    assert client.http.post("/vonage/events", headers=signed(body), body=body).status_code == 204
    get = client.http.get("/vonage/answer?to=15005550000&from=1&uuid=u&conversation_uuid=CON-1",
                          headers={"Authorization": signed(b"")["Authorization"]})
    assert get.status_code == 200
    assert client.http.get("/vonage/answer?to=15005550000").status_code == 401


def test_a_signed_webhook_replayed_with_its_token_is_refused(client, moto_endpoint, monkeypatch):
    """Vonage signs every request with a fresh `jti`; the same token a second time is a replay,
    even inside the freshness window and with the untouched body."""
    monkeypatch.setenv("VONAGE_SIGNATURE_SECRET", SECRET)
    body = json.dumps({"status": "ringing", "uuid": "u-2", "conversation_uuid": "CON-replay-" + uuid.uuid4().hex,
                       "direction": "inbound", "timestamp": "2026-01-05T10:00:00.000Z"}).encode()
    headers = signed(body)
    assert client.http.post("/vonage/events", headers=headers, body=body).status_code == 204
    again = client.http.post("/vonage/events", headers=headers, body=body)
    assert again.status_code == 401 and "replay" in again.json_body["message"]
    assert client.http.post("/vonage/events", headers=signed(body), body=body).status_code == 204   # a new token
    answer = "/vonage/answer?to=15005550000&from=1&uuid=u&conversation_uuid=CON-2"
    token = {"Authorization": signed(b"")["Authorization"]}
    assert client.http.get(answer, headers=token).status_code == 200
    assert client.http.get(answer, headers=token).status_code == 401
