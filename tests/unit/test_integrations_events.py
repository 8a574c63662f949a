"""events.publish_many: validation, chunking by 10, resend of retryable failures only."""
from __future__ import annotations

import copy
import json

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.integrations import events

CALL = events.schema("Call Completed")["examples"][0]


class FakeEvents:
    """Answers PutEvents with scripted per-entry error codes (None = accepted)."""

    def __init__(self, script=None):
        self.calls = []
        self.script = list(script or [])

    def put_events(self, Entries):
        self.calls.append(copy.deepcopy(Entries))
        codes = self.script.pop(0) if self.script else [None] * len(Entries)
        out = [{"ErrorCode": c, "ErrorMessage": "x"} if c else {"EventId": f"id-{i}"} for i, c in enumerate(codes)]
        return {"FailedEntryCount": sum(1 for c in codes if c), "Entries": out}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(events.time, "sleep", lambda s: None)


def test_every_detail_type_has_a_schema_whose_example_validates():
    for detail_type in events.DETAIL_TYPES:
        doc = events.schema(detail_type)
        events.validate_detail(detail_type, doc["examples"][0])
    assert len(events.schema("Call Completed")["properties"]) >= 30


def test_entries_carry_source_bus_and_json_detail():
    fake = FakeEvents()
    events.publish("Call Completed", CALL, fake)
    (sent,) = fake.calls[0]
    assert sent["Source"] == "calltrack" and sent["DetailType"] == "Call Completed"
    assert sent["EventBusName"] == "calltrack"
    assert json.loads(sent["Detail"]) == CALL


def test_schema_version_is_added_when_absent():
    """The version published now: 2 for Call Completed, 1 for the others."""
    fake = FakeEvents()
    detail = {k: v for k, v in CALL.items() if k != "schema_version"}
    events.publish("Call Completed", detail, fake)
    tagged = {k: v for k, v in events.schema("Call Tagged")["examples"][0].items() if k != "schema_version"}
    events.publish("Call Tagged", tagged, fake)
    assert [json.loads(c[0]["Detail"])["schema_version"] for c in fake.calls] == [2, 1]


def test_a_detail_is_validated_against_the_version_it_names():
    """Version 1 of Call Completed still validates as version 1, and is not version 2."""
    from chalicelib.calls.outbox import COMPLETED_V2_KEYS, completed_v1

    v1 = completed_v1(CALL)
    assert v1["schema_version"] == 1 and not set(COMPLETED_V2_KEYS) & set(v1)
    events.validate_detail("Call Completed", v1)
    assert set(events.schema("Call Completed", 1)["properties"]) | set(COMPLETED_V2_KEYS) == \
        set(events.schema("Call Completed")["properties"])
    with pytest.raises(ValidationFailed, match="spam"):
        events.validate_detail("Call Completed", {**v1, "schema_version": 2})
    with pytest.raises(ValidationFailed, match="no schema version 3"):
        events.schema("Call Completed", 3)


def test_invalid_detail_raises_before_anything_is_sent():
    fake = FakeEvents()
    bad = dict(CALL, status="exploded")
    with pytest.raises(ValidationFailed, match="status"):
        events.publish_many([("Call Completed", CALL), ("Call Completed", bad)], fake)
    assert fake.calls == []


def test_unknown_detail_type_is_refused():
    with pytest.raises(ValidationFailed):
        events.publish("Call Exploded", {"account_id": "a"}, FakeEvents())


def test_batches_of_at_most_ten():
    fake = FakeEvents()
    events.publish_many([("Call Completed", dict(CALL, call_id=f"c{i}")) for i in range(23)], fake)
    assert [len(c) for c in fake.calls] == [10, 10, 3]


def test_only_retryable_failed_entries_are_resent():
    fake = FakeEvents([[None, "ThrottlingException", None, "InternalFailure"], [None, None]])
    items = [("Call Completed", dict(CALL, call_id=f"c{i}")) for i in range(4)]
    events.publish_many(items, fake)
    resent = [json.loads(e["Detail"])["call_id"] for e in fake.calls[1]]
    assert resent == ["c1", "c3"]


def test_non_retryable_failure_raises_without_resending():
    fake = FakeEvents([[None, "AccessDeniedException"]])
    items = [("Call Completed", dict(CALL, call_id=f"c{i}")) for i in range(2)]
    with pytest.raises(events.PublishFailed) as err:
        events.publish_many(items, fake)
    assert len(fake.calls) == 1
    assert [f["ErrorCode"] for f in err.value.failed] == ["AccessDeniedException"]


def test_retries_are_bounded():
    fake = FakeEvents([["ThrottlingException"]] * 10)
    with pytest.raises(events.PublishFailed):
        events.publish("Call Completed", CALL, fake)
    assert len(fake.calls) == events.MAX_ATTEMPTS


def test_the_outbox_skips_an_invalid_detail_deployed_but_raises_it_locally(monkeypatch):
    bad = dict(CALL, status="exploded")
    with pytest.raises(ValidationFailed):
        events.valid_entries([("Call Completed", bad)])
    monkeypatch.setenv("CALLTRACK_STAGE", "prod")
    [kept] = events.valid_entries([("Call Completed", bad), ("Call Completed", CALL)])
    assert json.loads(kept["Detail"])["call_id"] == CALL["call_id"]


def test_call_completed_requires_every_call_key():
    detail = {k: v for k, v in CALL.items() if k != "recording_url"}
    with pytest.raises(ValidationFailed, match="recording_url"):
        events.validate_detail("Call Completed", detail)
