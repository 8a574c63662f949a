"""Every event leaves through the tables' streams (the outbox): the lease and the Vonage
webhooks only write DynamoDB. While the bus is away nothing is lost and the requests are
not slowed: the records wait in the stream, and reach the bus once it is back, through
the emulator's EventBridge → SQS."""
from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from chalicelib import aws, config, streams
from chalicelib.calls import api as calls_api
from chalicelib.dni.models import Number
from chalicelib.geo.phone import digits
from tests.events.loader import load
from tests.integration.calls_support import WIDGET, answer, replay, send, vonage_stub

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
KEY = "outbox-key-" + uuid.uuid4().hex[:6]


@pytest.fixture()
def queue_of(moto_endpoint):
    """A partner's rule for some event types of one account, into its own SQS queue."""
    def make(account_id: str, *detail_types: str) -> str:
        sqs, eb = aws.client("sqs"), aws.client("events")
        name = "outbox-" + uuid.uuid4().hex[:8]
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        eb.put_rule(Name=name, EventBusName=config.event_bus_name(), EventPattern=json.dumps(
            {"detail-type": list(detail_types), "detail": {"account_id": [account_id]}}))
        eb.put_targets(Rule=name, EventBusName=config.event_bus_name(), Targets=[{"Id": "q", "Arn": arn}])
        return url
    return make


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    with vonage_stub(tmp_path_factory.mktemp("vonage-outbox")) as s:
        yield s


def received(url: str) -> list:
    sqs, out = aws.client("sqs"), []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
        if not batch:
            return out
        for m in batch:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def lease(client, account_id: str) -> dict:
    response = client.http.post("/v1/sessions", headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
                                body=json.dumps({"account": account_id, "url": "http://localhost/?utm_source=x"}))
    assert response.status_code == 200, response.body
    return response.json_body


def test_session_started_waits_in_the_stream_while_the_bus_is_away_then_arrives_once(
        client, account, queue_of, monkeypatch):
    acc = account()
    url = queue_of(acc.account_id, "Session Started")
    stream = streams.poller("sessions")
    stream.poll()                                             # what earlier tests left
    monkeypatch.setattr(config, "event_bus_name", lambda: "calltrack-no-such-bus")   # the bus is away
    session = lease(client, acc.account_id)                  # the visitor still gets a number
    assert session["method"] == "dynamic"
    assert stream.poll() == 0                                 # the batch failed: it stays in the stream
    assert received(url) == []

    monkeypatch.undo()                                        # the bus is back
    assert stream.poll() >= 1
    [event] = received(url)
    assert event["detail-type"] == "Session Started" and event["detail"]["session_id"] == session["session_id"]
    assert stream.poll() == 0 and received(url) == []         # delivered once


def test_a_call_during_a_bus_outage_is_answered_and_announced_once_the_bus_is_back(
        client, account, queue_of, monkeypatch):
    sc = load("answered")
    acc = account(extra_config={"routing": sc["routing"]}, settings=sc["settings"])
    tracking = digits(sorted(n.number for n in Number.pool_index.query(f"{acc.account_id}#main"))[0])
    sc = load("answered", TO=tracking, FROM="14155550141", DEST="14155550199")
    url = queue_of(acc.account_id, "Call Started", "Call Routed", "Call Completed")
    stream = streams.poller("calls")
    stream.poll()
    monkeypatch.setattr(calls_api, "clock", lambda: sc["clock"])
    monkeypatch.setattr(config, "event_bus_name", lambda: "calltrack-no-such-bus")
    assert answer(client, sc["answer"])                       # the caller is connected
    replay(client, sc["webhooks"] + sc["webhooks"])           # every webhook answers 2xx, retries too
    # The failing batch is bisected: records that announce nothing go through, the first
    # that announces something waits in the stream with everything behind it.
    during = stream.poll()
    assert received(url) == []

    monkeypatch.setattr(config, "event_bus_name", lambda: "calltrack")
    assert during + stream.poll() >= len(sc["webhooks"])
    events = received(url)
    assert Counter(e["detail-type"] for e in events) == {"Call Started": 1, "Call Routed": 1, "Call Completed": 1}
    order = [e["detail-type"] for e in sorted(events, key=lambda e: e["time"])]
    assert order[0] == "Call Started"
    completed = next(e["detail"] for e in events if e["detail-type"] == "Call Completed")
    assert completed["status"] == "answered" and completed["caller"] is None      # pii_policy hash
    routed = next(e["detail"] for e in events if e["detail-type"] == "Call Routed")
    assert routed["routed_at"] and routed["destination"]
    assert stream.poll() == 0 and received(url) == []


def test_tagging_announces_call_tagged_once_per_request(client, account, queue_of):
    from chalicelib.demo_traffic import write_calls
    from tests.integration.test_reports_api import CATEGORIES, record

    acc = account(api_key=KEY + "t", extra_config={"tag_categories": CATEGORIES})
    call = record(acc.account_id)
    write_calls([call])
    url = queue_of(acc.account_id, "Call Tagged", "Call Completed")
    path = f"/v1/accounts/{acc.account_id}/calls/{call['call_id']}/tags"
    headers = {"Authorization": f"Bearer {KEY}t", "Content-Type": "application/json"}
    for body in ({"tags": [{"category": "sale"}]}, {"tags": [{"category": "sale"}], "value": 75}):
        assert client.http.put(path, headers=headers, body=json.dumps(body)).status_code == 200
    streams.catch_up(("calls",))
    events = received(url)
    assert [e["detail-type"] for e in events] == ["Call Tagged", "Call Tagged"]   # a stored call: no completion
    values = sorted((e["detail"]["value"], e["detail"]["tagged_by"]) for e in events)
    assert values == [(75.0, "api"), (150.0, "api")]
    assert all(e["detail"]["tagged_at"] for e in events)


def test_a_callback_announces_its_request_and_its_completion(client, account, queue_of, stub):
    acc = account(extra_config={"routing": {"destination": "+14155550199", "callback": {"retries": 0}}})
    url = queue_of(acc.account_id, "Callback Requested", "Callback Completed", "Call Completed", "Call Started")
    call_id = send(client, "/v1/callbacks", {}, {"account": acc.account_id, "phone": "+14155550179"},
                   WIDGET).json_body["callback_id"]
    streams.catch_up(("calls",))
    [requested] = received(url)
    assert requested["detail-type"] == "Callback Requested" and requested["detail"]["callback_id"] == call_id
    leg = str(uuid.uuid4())
    body = {"from": "14155550123", "to": "14155550199", "uuid": leg, "conversation_uuid": "CON-" + leg,
            "direction": "outbound", "timestamp": "2026-01-05T10:00:00.000Z"}
    for status in ("ringing", "timeout", "timeout"):           # Vonage retries the last one
        send(client, "/vonage/events", {"call": call_id, "leg": "agent", "attempt": "1"}, {**body, "status": status})
    streams.catch_up(("calls",))
    events = received(url)
    kinds = Counter(e["detail-type"] for e in events)
    assert kinds == {"Call Started": 1, "Call Completed": 1, "Callback Completed": 1}
    done = next(e["detail"] for e in events if e["detail-type"] == "Callback Completed")
    assert done["status"] == "callback_agent_no_answer" and done["attempts"] == 1
