"""HubSpot end to end on the emulator: a call completes → `Call Completed` on the bus → rule →
SQS → the deployed consumer handler (run by the local worker) → the HubSpot stub over HTTP."""
from __future__ import annotations

import json
import time
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
    from chalicelib import streams

    streams.catch_up()   # earlier modules' calls still in the stream would reach the queue after the purge
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
    from chalicelib import streams
    from chalicelib.integrations import worker

    streams.catch_up()        # the tables' outbox publishes first, as the deployed stream consumers do
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
    assert writes.count(("POST", "/crm/v3/objects/deals/batch/upsert")) == 1
    # A new caller: the unique caller-key property once per portal, then the contact by upsert.
    assert writes[:2] == [("POST", "/crm/v3/properties/contacts"), ("POST", "/crm/v3/objects/contacts/batch/upsert")]

    before = len(stub.requests)
    publish_completed(call)       # the same event again under a new EventBridge id (a resent parked event)
    drain()
    assert len(stub.all("deals")) == 1 and len(stub.all("contacts")) == 1
    assert len(stub.requests) == before           # recognised by its content: HubSpot not even asked


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
    stub.fail_paths[("POST", "/crm/v3/objects/deals/batch/upsert")] = [503, 503, 429]   # the contact step succeeds
    publish_completed(call)
    assert drain()["hubspot"] == [0, 3]                                    # maxReceiveCount = 3
    assert dlq.depth("calltrack-hubspot-dlq") == 1 and stub.all("deals") == []
    assert dlq.replay("hubspot") == {"sent": 1, "failed_again": 0, "skipped": 0}
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


# --- the whole product path: a visit, a call through Vonage's webhooks, every consumer ------

def _iso(ts):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _phone_call(client, tracking, caller, at, talk):
    """Vonage's answer webhook and both legs' events for an answered inbound call."""
    from chalicelib.geo.phone import digits

    conv, leg, agent = "CON-" + str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    to, frm = digits(tracking), digits(caller)
    assert client.http.get(f"/vonage/answer?to={to}&from={frm}&uuid={leg}&conversation_uuid={conv}").status_code == 200
    inbound = {"conversation_uuid": conv, "from": frm, "to": to, "uuid": leg, "direction": "inbound"}
    outbound = {"conversation_uuid": conv, "from": to, "to": "14155550199", "uuid": agent, "direction": "outbound"}
    for query, body in [
        ("", {**inbound, "status": "started", "timestamp": _iso(at)}),
        ("?call=%s&leg=agent" % conv, {**outbound, "status": "ringing", "timestamp": _iso(at + 1)}),
        ("?call=%s&leg=agent" % conv, {**outbound, "status": "answered", "timestamp": _iso(at + 4)}),
        ("?call=%s&leg=agent" % conv, {**outbound, "status": "completed", "duration": str(talk),
                                       "start_time": _iso(at + 4), "end_time": _iso(at + 4 + talk),
                                       "timestamp": _iso(at + 4 + talk)}),
        ("", {**inbound, "status": "completed", "duration": str(talk + 4), "start_time": _iso(at),
              "end_time": _iso(at + 5 + talk), "timestamp": _iso(at + 5 + talk)}),
    ]:
        answer = client.http.post("/vonage/events" + query, headers={"Content-Type": "application/json"},
                                  body=json.dumps(body))
        assert answer.status_code in (200, 204), answer.body
    return conv


def test_a_visit_and_a_phone_call_reach_hubspot_google_ads_and_s3(bus, account, stub, client, monkeypatch):
    from chalicelib import aws, streams
    from chalicelib.calls import api as calls_api
    from chalicelib.integrations import worker

    bucket = "calltrack-bi-e2e"
    aws.client("s3").create_bucket(Bucket=bucket)
    key = "e2e-" + uuid.uuid4().hex
    always = {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    acc = account(api_key=key, settings={"target_seconds": 30, "working_hours": always}, extra_config={
        "hubspot": {"enabled": True, "token": TOKEN, "base_url": stub.url, "default_owner_id": "101"},
        "google_ads": {"enabled": True},
        "bi": {"enabled": True, "bucket": bucket},
    }).account_id
    session = client.http.post("/v1/sessions", headers={"Content-Type": "text/plain", "User-Agent": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")},
        body=json.dumps({"account": acc, "ga_client_id": "111.222", "url": (
            "http://localhost/boilers?utm_source=google&utm_medium=cpc&utm_campaign=winter&gclid=Cj0-e2e")})).json_body
    now = time.time() + 5
    monkeypatch.setattr(calls_api, "clock", lambda: now)
    call_id = _phone_call(client, session["number"], "+14155550163", now, talk=45)

    streams.catch_up()                                   # the calls stream's outbox publishes the call
    totals = worker.drain(["hubspot", "bidding", "bi"], rounds=40)
    assert all(failed == 0 for _, failed in totals.values()), totals

    [contact] = stub.all("contacts")
    [deal] = stub.all("deals")
    assert contact["properties"]["phone"] == "+14155550163"
    assert (deal["properties"]["calltrack_gclid"], deal["properties"]["calltrack_utm_campaign"]) == ("Cj0-e2e", "winter")
    assert deal["properties"]["calltrack_call_id"] == call_id

    export = client.http.get(f"/v1/accounts/{acc}/exports/google-ads.csv?until={int(now) + 120}",
                             headers={"Authorization": f"Bearer {key}"}).body.decode().splitlines()
    assert export[2].startswith("Cj0-e2e,Calltrack target call,")

    listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"calltrack/calls/account_id={acc}/")
    [obj] = listed["Contents"]
    row = json.loads(aws.client("s3").get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    assert row["call_id"] == call_id and row["caller"] is None and row["click_ids"]["gclid"] == "Cj0-e2e"
    assert row["talk_seconds"] == 44 and row["classification"]["target"] is True
