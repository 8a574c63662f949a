"""Nothing is dropped silently. A lease publishes nothing itself: its `Session Started`
leaves through the sessions stream (the outbox), which keeps the record until the bus
takes it. Call events published from webhooks are still parked in DynamoDB when the bus
refuses them, and the drain delivers them through the emulator's EventBridge → SQS."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib import aws, config, streams
from chalicelib.integrations import parked
from chalicelib.integrations.models import ParkedEvent

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture()
def session_queue(moto_endpoint):
    """A partner's rule for `Session Started` of one account, into its own SQS queue."""
    def make(account_id: str) -> str:
        sqs, eb = aws.client("sqs"), aws.client("events")
        name = "parked-" + uuid.uuid4().hex[:8]
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        eb.put_rule(Name=name, EventBusName=config.event_bus_name(), EventPattern=json.dumps(
            {"detail-type": ["Session Started"], "detail": {"account_id": [account_id]}}))
        eb.put_targets(Rule=name, EventBusName=config.event_bus_name(), Targets=[{"Id": "q", "Arn": arn}])
        return url
    return make


def received(url: str) -> list:
    messages = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
    return [json.loads(m["Body"]) for m in messages]


def lease(client, account_id: str) -> dict:
    response = client.http.post("/v1/sessions", headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
                                body=json.dumps({"account": account_id, "url": "http://localhost/?utm_source=x"}))
    assert response.status_code == 200, response.body
    return response.json_body


def mine(account_id: str) -> list:
    return [p for p in ParkedEvent.scan() if json.loads(p.detail).get("account_id") == account_id]


def test_session_started_waits_in_the_stream_while_the_bus_is_away_then_arrives_once(
        client, account, session_queue, monkeypatch):
    acc = account()
    url = session_queue(acc.account_id)
    stream = streams.poller("sessions")
    stream.poll()                                             # what earlier tests left
    monkeypatch.setattr(config, "event_bus_name", lambda: "calltrack-no-such-bus")   # the bus is away
    session = lease(client, acc.account_id)                  # the visitor still gets a number
    assert session["method"] == "dynamic"
    assert stream.poll() == 0                                 # the batch failed: it stays in the stream
    assert received(url) == [] and mine(acc.account_id) == []

    monkeypatch.undo()                                        # the bus is back
    assert stream.poll() >= 1
    [event] = received(url)
    assert event["detail-type"] == "Session Started" and event["detail"]["session_id"] == session["session_id"]
    assert stream.poll() == 0 and received(url) == []         # delivered once


def test_an_event_that_cannot_even_be_parked_is_counted_as_lost(moto_endpoint, monkeypatch):
    def broken(self, *a, **k):
        raise RuntimeError("DynamoDB unreachable")

    monkeypatch.setattr(ParkedEvent, "save", broken)
    assert parked.park([{"DetailType": "Session Started", "Detail": "{}"}], "bus down") == 0
