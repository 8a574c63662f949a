"""Framework pieces without I/O: registry ↔ infra, webhook signing and filters, backoff."""
from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from chalicelib.integrations import bus, consumers, registry, webhooks
from chalicelib.integrations.errors import PermanentError

ROOT = Path(__file__).resolve().parents[2]


def test_infra_events_json_is_generated_from_the_registry():
    on_disk = json.loads((ROOT / "infra" / "events.json").read_text())
    assert on_disk == bus.cloudformation(), "run: python -m chalicelib.integrations.bus --write-infra"


def test_every_consumer_has_a_rule_queue_dlq_and_batch_failure_reporting():
    resources = bus.cloudformation()["Resources"]
    for consumer in registry.CONSUMERS.values():
        base, fn = bus.cfn_name(consumer.name), bus.cfn_name(consumer.lambda_name)
        queue = resources[f"{base}Queue"]["Properties"]
        assert queue["QueueName"] == consumer.queue
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [f"{base}DeadLetterQueue", "Arn"]}
        rule = resources[f"{base}Rule"]["Properties"]
        assert rule["EventPattern"]["source"] == ["calltrack"]
        assert set(rule["EventPattern"]["detail-type"]) == set(consumer.detail_types)
        source = resources[fn]["Properties"]["Events"][f"{fn}SqsEventSource"]["Properties"]
        assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert callable(consumer.load_handler())


def test_every_consumer_has_a_lambda_handler_in_the_app():
    from app import app

    for consumer in registry.CONSUMERS.values():
        assert consumer.lambda_name in app.handler_map


def test_signature_is_hmac_sha256_hex_of_timestamp_dot_body():
    raw = b'{"a":1}'
    expected = hmac.new(b"secret-secret-123", b"1700000000." + raw, hashlib.sha256).hexdigest()
    assert webhooks.sign("secret-secret-123", 1700000000, raw) == expected
    assert webhooks.verify("secret-secret-123", "1700000000", raw, expected, now=1700000100)
    assert not webhooks.verify("secret-secret-123", "1700000000", raw, expected, now=1700000000 + 301)
    assert not webhooks.verify("secret-secret-123", "1700000000", raw + b" ", expected, now=1700000000)


@pytest.mark.parametrize("filters, detail, expected", [
    ({}, {"status": "missed", "talk_seconds": 0}, True),
    ({"status": ["answered"]}, {"status": "missed"}, False),
    ({"status": ["answered"]}, {"status": "answered"}, True),
    ({"min_talk_seconds": 60}, {"talk_seconds": 59}, False),
    ({"min_talk_seconds": 60}, {"talk_seconds": None}, False),
    ({"min_talk_seconds": 60}, {"talk_seconds": 60}, True),
    ({"source": ["google"]}, {"source": "bing"}, False),
    ({"source": ["google"]}, {"source": "google"}, True),
    ({"status": ["answered"]}, {"call_id": "c1"}, True),   # moments without a status are not filtered by it
])
def test_filters(filters, detail, expected):
    sub = {"id": "s", "events": ["call_completed"], "filters": filters}
    assert webhooks.matches(sub, "call_completed", detail) is expected


def test_subscriptions_match_only_their_moments_and_can_be_disabled():
    sub = {"id": "s", "events": ["call_started"]}
    assert webhooks.matches(sub, "call_started", {}) and not webhooks.matches(sub, "call_completed", {})
    assert not webhooks.matches({**sub, "enabled": False}, "call_started", {})


def test_body_wraps_the_detail_with_event_metadata():
    event = {"id": "e1", "detail-type": "Call Completed", "time": "2026-11-26T10:00:00Z"}
    doc = json.loads(webhooks.body(event, {"id": "crm"}, {"account_id": "a", "call_id": "c"}))
    assert doc == {"id": "e1.crm", "event_id": "e1", "event": "call_completed", "detail_type": "Call Completed",
                   "occurred_at": "2026-11-26T10:00:00Z", "account_id": "a", "subscription_id": "crm",
                   "schema_version": 1, "data": {"account_id": "a", "call_id": "c"}}


def test_backoff_doubles_per_receive_and_is_capped():
    assert [consumers.retry_delay(n, base=10) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert consumers.retry_delay(30, base=10) == consumers.RETRY_MAX_SECONDS
    assert consumers.retry_delay(3, base=0) == 0


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"id": "x", "detail": {}}),
                                  json.dumps({"detail-type": "Call Completed", "detail": {}})])
def test_bodies_that_are_not_eventbridge_events_are_permanent_failures(body):
    with pytest.raises(PermanentError):
        consumers.parse_envelope(body)


def test_http_targets_must_be_https_outside_the_local_stage(monkeypatch):
    from chalicelib.integrations import outbound

    outbound.check_url("https://crm.example/hook")
    outbound.check_url("http://127.0.0.1:9/hook")          # tests' stubs, local stage
    with pytest.raises(PermanentError):
        outbound.check_url("http://crm.example/hook")
    monkeypatch.setenv("CALLTRACK_STAGE", "prod")
    with pytest.raises(PermanentError):
        outbound.check_url("http://127.0.0.1:9/hook")


def test_section_schemas_are_registered():
    from chalicelib import sections
    from chalicelib.integrations import ga4
    from chalicelib.web import validate

    assert sections.SECTIONS["ga4"] is ga4.GA4_SCHEMA and sections.SECTIONS["webhooks"] is webhooks.WEBHOOKS_SCHEMA
    validate({"measurement_id": "G-ABCD1234", "api_secret": "0123456789"}, ga4.GA4_SCHEMA)
    validate([{"id": "crm", "url": "https://crm.example/h", "events": ["call_started"], "secret": "x" * 16,
               "filters": {"status": ["answered"], "min_talk_seconds": 30, "source": ["google"]}}],
             webhooks.WEBHOOKS_SCHEMA)
