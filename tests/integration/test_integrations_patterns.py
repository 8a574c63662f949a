"""The example rules in docs/events.md, put on the bus as partners would, route exactly the
sample calls the document says they do."""
from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
SAMPLES = {
    "A": dict(status="answered", talk_seconds=180, source="google", medium="cpc",
              classification={"unique": False, "target": True, "repeated": False, "first_target": False,
                              "unique_target": False}),
    "B": dict(status="missed", talk_seconds=0, source="bing", medium="organic",
              classification={"unique": True, "target": False, "repeated": False, "first_target": False,
                              "unique_target": False}),
    "C": dict(status="answered", talk_seconds=45, source="facebook", medium="social",
              classification={"unique": False, "target": False, "repeated": True, "first_target": False,
                              "unique_target": False}),
}


def documented_patterns():
    text = DOC.read_text()
    found = re.findall(r"<!-- pattern-test: ([A-Z ]+) -->\s*```json\n(.*?)```", text, re.S)
    return [(json.loads(body), set(expected.split())) for expected, body in found]


def test_the_document_has_tested_patterns_for_status_class_threshold_and_source():
    patterns = [json.dumps(p) for p, _ in documented_patterns()]
    assert len(patterns) >= 5
    for needle in ('"status"', '"classification"', '"numeric"', '"source": ["google"'):
        assert any(needle in p for p in patterns), needle


@pytest.mark.parametrize("index", range(6))
def test_documented_pattern_routes_the_documented_calls(index, moto_endpoint):
    from chalicelib import aws, config
    from chalicelib.integrations import events

    pattern, expected = documented_patterns()[index]
    sqs, eb = aws.client("sqs"), aws.client("events")
    try:
        eb.create_event_bus(Name=config.event_bus_name())
    except eb.exceptions.ResourceAlreadyExistsException:
        pass
    name = "partner-" + uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    eb.put_rule(Name=name, EventBusName=config.event_bus_name(), EventPattern=json.dumps(pattern))
    eb.put_targets(Rule=name, EventBusName=config.event_bus_name(), Targets=[{"Id": "q", "Arn": arn}])
    try:
        base = events.schema("Call Completed")["examples"][0]
        events.publish_many([("Call Completed", {**copy.deepcopy(base), "call_id": key, **fields})
                             for key, fields in SAMPLES.items()])
        got = set()
        for _ in range(3):
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                got.add(json.loads(m["Body"])["detail"]["call_id"])
        assert got == expected, pattern
    finally:
        eb.remove_targets(Rule=name, EventBusName=config.event_bus_name(), Ids=["q"])
        eb.delete_rule(Name=name, EventBusName=config.event_bus_name())
        sqs.delete_queue(QueueUrl=url)
