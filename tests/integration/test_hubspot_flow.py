"""HubSpot end to end on the emulator: a call completes → `Call Completed` on the bus → rule →
SQS → the deployed consumer handler (run by the local worker) → the HubSpot stub over HTTP."""
from __future__ import annotations

import uuid

import pytest

from chalicelib.integrations import hubspot
from chalicelib.integrations.errors import PermanentError
from sample_calls import completed_call, event_of, store_call
from stub_hubspot import HubSpotStub, serve

TOKEN = "pat-na1-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def bus(moto_endpoint):
    from chalicelib import aws
    from chalicelib.integrations import bus as bus_mod

    mp = pytest.MonkeyPatch()
    mp.setenv("CALLTRACK_RETRY_BASE_SECONDS", "0")
    aws.reset_clients()
    urls = bus_mod.bootstrap(max_receive_count=3, visibility_timeout=0)
    sqs = aws.client("sqs")
    for url in urls["hubspot"].values():
        sqs.purge_queue(QueueUrl=url)
    yield urls
    mp.undo()


@pytest.fixture()
def stub():
    hubspot._ensured.clear()
    state = HubSpotStub(token=TOKEN)
    with serve(state) as url:
        state.url = url
        yield state


def hubspot_account(account, stub, **section):
    cfg = {"enabled": True, "token": TOKEN, "base_url": stub.url, "owners": {"alice": "101"},
           "default_owner_id": "102", **section}
    return account(extra_config={"hubspot": cfg}).account_id


def publish_completed(call):
    from chalicelib.integrations import events

    events.publish("Call Completed", event_of(call)["detail"])


def drain():
    from chalicelib.integrations import worker

    return worker.drain(["hubspot"], rounds=30)


def test_completed_call_reaches_hubspot_through_the_bus(bus, account, stub):
    acc = hubspot_account(account, stub)
    call = store_call(completed_call(account_id=acc, call_id="hs-" + uuid.uuid4().hex[:8]))
    publish_completed(call)
    assert drain()["hubspot"] == [1, 0]
    [contact] = stub.all("contacts")
    [deal] = stub.all("deals")
    assert contact["properties"]["phone"] == call["caller"]       # read from calls.store, not the event
    assert deal["properties"]["calltrack_call_id"] == call["call_id"]
    assert deal["properties"]["hubspot_owner_id"] == "101"
    assert deal["properties"]["calltrack_utm_campaign"] == "winter-boilers"
    assert stub.associated("deals", deal["id"], "contacts") == [contact["id"]]
    writes = [(r["method"], r["path"]) for r in stub.writes()]
    assert writes.count(("POST", "/crm/v3/objects/deals")) == 1 and writes[0] == ("POST", "/crm/v3/objects/contacts")

    publish_completed(call)                                         # the same call announced again
    drain()
    assert len(stub.all("deals")) == 1 and len(stub.all("contacts")) == 1


def test_missed_then_answered_opens_then_closes_the_task(bus, account, stub):
    acc = hubspot_account(account, stub)
    missed = store_call(completed_call(account_id=acc, call_id="hs-m-" + uuid.uuid4().hex[:6], status="missed",
                                       agent=None, talk_seconds=0, answered_at=None))
    publish_completed(missed)
    drain()
    [task] = stub.all("tasks")
    assert task["properties"]["hs_task_status"] == "NOT_STARTED" and task["properties"]["hubspot_owner_id"] == "102"
    answered = store_call(completed_call(account_id=acc, call_id="hs-a-" + uuid.uuid4().hex[:6],
                                         started_at="2026-11-20T17:00:00Z", ended_at="2026-11-20T17:05:00Z"))
    publish_completed(answered)
    drain()
    assert stub.all("tasks")[0]["properties"]["hs_task_status"] == "COMPLETED"
    assert len(stub.all("deals")) == 1


def test_hubspot_down_retries_then_dlq_then_replay_delivers_once(bus, account, stub):
    from chalicelib.cli import dlq

    acc = hubspot_account(account, stub)
    call = store_call(completed_call(account_id=acc, call_id="hs-down-" + uuid.uuid4().hex[:6]))
    stub.fail_paths[("POST", "/crm/v3/objects/deals")] = [503, 503, 429]   # the contact step succeeds
    publish_completed(call)
    assert drain()["hubspot"] == [0, 3]                                    # maxReceiveCount = 3
    assert dlq.depth("calltrack-hubspot-dlq") == 1 and stub.all("deals") == []
    assert dlq.replay("hubspot") == 1
    drain()
    assert len(stub.all("deals")) == 1 and len(stub.all("contacts")) == 1   # no duplicate contact either
    assert dlq.depth("calltrack-hubspot-dlq") == 0


def test_token_from_ssm_and_refusals_go_straight_to_the_dlq(account, stub, moto_endpoint):
    from chalicelib import aws

    parameter = f"/calltrack/hubspot/{uuid.uuid4().hex[:8]}"
    aws.client("ssm").put_parameter(Name=parameter, Value=TOKEN, Type="SecureString")
    acc = account(extra_config={"hubspot": {"enabled": True, "token_ssm_parameter": parameter,
                                            "base_url": stub.url}}).account_id
    call = store_call(completed_call(account_id=acc, call_id="hs-ssm-" + uuid.uuid4().hex[:6], agent=None))
    assert hubspot.handle(event_of(call)).action == "deal_created"
    wrong = account(extra_config={"hubspot": {"enabled": True, "token": "pat-na1-revoked-token",
                                              "base_url": stub.url}}).account_id
    with pytest.raises(PermanentError):                                 # 401: retrying cannot help
        hubspot.handle(event_of(store_call(completed_call(account_id=wrong, call_id="hs-401"))))
