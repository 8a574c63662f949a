"""The whole path: a visitor leases a number, calls it (Vonage's webhooks into the app), the
call completes → events on the bus → rules → SQS → the consumers (run by the local worker)
→ GA4 and CRM stubs on 127.0.0.1 receive exactly the right payloads."""
from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone

import pytest

from chalicelib.calls import api as calls_api
from integrations_stub import StubServer
from tests.integration.test_calls_flow import ALWAYS_OPEN, call, lease

from test_integrations_bus import SECRET, bus, drain, monkeypatch_module  # noqa: F401 (fixtures)

CALLER = "+14155550177"


@pytest.fixture()
def stubs():
    ga, crm = StubServer().start(), StubServer().start()
    yield ga, crm
    ga.down()
    crm.down()


def test_a_completed_call_reaches_ga4_and_the_crm(client, account, bus, stubs, monkeypatch):  # noqa: F811
    from chalicelib.integrations import webhooks

    ga, crm = stubs
    acc = account(api_key="flow-" + str(time.time()), settings={"target_seconds": 30, "sales_cycle_days": 7,
                                                                 "working_hours": ALWAYS_OPEN},
                  extra_config={
                      "ga4": {"measurement_id": "G-FLOW1234", "api_secret": "flow-secret", "endpoint": ga.url},
                      "webhooks": [{"id": "crm", "url": crm.url, "secret": SECRET,
                                    "events": ["call_started", "call_routed", "call_completed"]}]})
    session = lease(client, acc.account_id, "http://localhost/boilers?utm_source=google&utm_medium=cpc"
                                            "&utm_campaign=winter&utm_term=boiler+repair")
    now = datetime.now(timezone.utc).timestamp() + 5
    monkeypatch.setattr(calls_api, "clock", lambda: now)
    call_id = call(client, session["number"], CALLER, now, talk=45)
    drain("ga4", "webhooks")

    (hit,) = ga.requests
    body = hit.json()
    assert hit.query["measurement_id"] == ["G-FLOW1234"]
    assert body["client_id"] == "111.222"                      # the visitor's _ga client id
    assert [e["name"] for e in body["events"]] == ["phone_call", "call_unique", "call_target",
                                                   "call_first_target", "call_unique_target"]
    params = body["events"][0]["params"]
    assert (params["call_status"], params["talk_seconds"], params["call_source"], params["call_medium"]) == \
        ("answered", 44, "google", "cpc")                         # the agent's 45 s less the whisper
    assert abs(body["timestamp_micros"] / 1e6 - now) < 10
    assert "4155550177" not in hit.body.decode()

    moments = {r.json()["event"]: r for r in crm.requests}
    assert set(moments) == {"call_started", "call_routed", "call_completed"} and len(crm.requests) == 3
    for r in crm.requests:
        assert webhooks.verify(SECRET, r.headers["x-calltrack-timestamp"], r.body,
                               r.headers["x-calltrack-signature"], time.time())
    completed = moments["call_completed"].json()["data"]
    assert completed["call_id"] == call_id and completed["session_id"] == session["session_id"]
    assert completed["caller"] is None and completed["caller_hash"] == hashlib.sha256(CALLER.encode()).hexdigest()
    assert (completed["status"], completed["talk_seconds"], completed["source"]) == ("answered", 44, "google")
    assert len(completed) >= 30
    assert moments["call_started"].json()["data"]["call_id"] == call_id


def test_a_redial_that_ends_first_never_reaches_ga4_as_a_first_call(client, account, bus, stubs, monkeypatch):  # noqa: F811
    """Call A rings first and lasts; the caller redials (B) meanwhile, and B ends first. At
    B's end its classes cannot be known (A may be the first): B is announced with
    `classification_final: false` and GA4 gets only `phone_call`. A's end makes A the first
    call and B a repeat: B is announced again, final, and GA4 gets `call_repeated` for it —
    never `call_unique`/`call_target` for the redial, matching the API."""
    from tests.integration.test_calls_flow import hang_up, ring

    ga, _ = stubs
    acc = account(api_key="redial-" + str(time.time()), settings={"target_seconds": 30, "sales_cycle_days": 7,
                                                                   "working_hours": ALWAYS_OPEN},
                  extra_config={"ga4": {"measurement_id": "G-FLOW1234", "api_secret": "flow-secret",
                                        "endpoint": ga.url}})
    session = lease(client, acc.account_id, "http://localhost/boilers?utm_source=google&utm_medium=cpc")
    now = datetime.now(timezone.utc).timestamp() + 5
    monkeypatch.setattr(calls_api, "clock", lambda: now)
    first, first_events = ring(client, session["number"], "+14155550178", now, talk=90)
    monkeypatch.setattr(calls_api, "clock", lambda: now + 20)
    redial, redial_events = ring(client, session["number"], "+14155550178", now + 20, talk=40)
    hang_up(client, redial_events)                              # the redial ends first
    drain("ga4")
    from chalicelib.calls import store

    early = store.get_call(acc.account_id, redial)
    assert early["classification_final"] is False
    sent = [[e["name"] for e in r.json()["events"]] for r in ga.requests]
    assert sent == [["phone_call"]]                             # the classes wait

    hang_up(client, first_events)
    drain("ga4")
    a, b = store.get_call(acc.account_id, first), store.get_call(acc.account_id, redial)
    assert (a["classification_final"], b["classification_final"]) == (True, True)
    assert b["classification"] == {"unique": False, "target": False, "repeated": True, "first_target": False,
                                   "unique_target": False}
    names = [name for r in ga.requests for name in (e["name"] for e in r.json()["events"])]
    assert sorted(names) == sorted(["phone_call", "call_repeated",                          # B
                                    "phone_call", "call_unique", "call_target", "call_first_target",
                                    "call_unique_target"])                                   # A


def test_a_value_set_after_the_call_reaches_ga4_as_an_update_not_a_second_conversion(
        client, account, bus, stubs, monkeypatch):  # noqa: F811
    ga, _ = stubs
    key = "value-" + str(time.time())
    acc = account(api_key=key, settings={"target_seconds": 30, "sales_cycle_days": 7, "working_hours": ALWAYS_OPEN,
                                         "currency": "EUR"},
                  extra_config={"ga4": {"measurement_id": "G-FLOW1234", "api_secret": "flow-secret",
                                        "endpoint": ga.url}, "tag_categories": [{"name": "sale"}]})
    session = lease(client, acc.account_id, "http://localhost/boilers?utm_source=google&utm_medium=cpc")
    now = datetime.now(timezone.utc).timestamp() + 5
    monkeypatch.setattr(calls_api, "clock", lambda: now)
    call_id = call(client, session["number"], "+14155550179", now, talk=45)
    drain("ga4")
    (first,) = ga.requests
    assert "value" not in first.json()["events"][0]["params"]       # no value yet, no nominal value

    def tag(value):
        response = client.http.put(f"/v1/accounts/{acc.account_id}/calls/{call_id}/tags",
                                   headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                                   body=json.dumps({"tags": [{"category": "sale"}], "value": value}))
        assert response.status_code == 200, response.body
        drain("ga4")

    tag(250)
    tag(300)
    tag(300)                                                        # no change: nothing sent
    updates = [r.json()["events"] for r in ga.requests[1:]]
    assert [[e["name"] for e in events] for events in updates] == [["call_value_update"], ["call_value_update"]]
    assert [(e[0]["params"]["value"], e[0]["params"]["call_value"], e[0]["params"]["currency"]) for e in updates] == [
        (250.0, 250.0, "EUR"), (50.0, 300.0, "EUR")]                # GA sums the updates: 300 in all
    assert all(r.json()["client_id"] == first.json()["client_id"] for r in ga.requests)


def test_spam_stays_out_of_ga4_and_the_crm_unless_a_subscription_asks(client, account, bus, stubs,
                                                                      monkeypatch):  # noqa: F811
    """A blocked caller's call reaches no GA4 and no default CRM subscription; a subscription
    that asks for spam and for version 1 gets it, as version 1."""
    from tests.integration.test_spam import hang_up, refused_call

    ga, crm = stubs
    robot = "+14155550166"
    acc = account(api_key="spam-" + str(time.time()), settings={"working_hours": ALWAYS_OPEN},
                  extra_config={
                      "ga4": {"measurement_id": "G-FLOW1234", "api_secret": "flow-secret", "endpoint": ga.url},
                      "spam": {"block_list": [robot]},
                      "webhooks": [{"id": "crm", "url": crm.url, "secret": SECRET, "events": ["call_completed"]},
                                   {"id": "crm-all", "url": crm.url, "secret": SECRET, "events": ["call_completed"],
                                    "filters": {"spam": "include"}, "schema_version": 1}]})
    session = lease(client, acc.account_id, "http://localhost/boilers?utm_source=google&utm_medium=cpc")
    now = datetime.now(timezone.utc).timestamp() - 600
    clock = {"now": now}
    monkeypatch.setattr(calls_api, "clock", lambda: clock["now"])
    blocked, (leg, ncco) = refused_call(client, session["number"], robot, now, clock)
    assert [a["action"] for a in ncco] == ["talk"]
    hang_up(client, leg, now, 2)
    clock["now"] = now + 60
    person = call(client, session["number"], CALLER, now + 60, talk=45)
    drain("ga4", "webhooks")

    assert [r.json()["events"][0]["params"]["call_status"] for r in ga.requests] == ["answered"]   # the person's
    got = sorted((r.json()["subscription_id"], r.json()["data"]["call_id"]) for r in crm.requests)
    assert got == sorted([("crm", person), ("crm-all", person), ("crm-all", blocked)])
    for r in crm.requests:
        doc = r.json()
        expected = 1 if doc["subscription_id"] == "crm-all" else 2
        assert doc["schema_version"] == doc["data"]["schema_version"] == expected
        assert ("spam" in doc["data"]) is (expected == 2)
