"""End to end on the emulator: publish → bus → rule → SQS → consumer (the deployed Lambda
handler, run by the local worker) → a local HTTP stub; retries, DLQ, replay, duplicates."""
from __future__ import annotations

import copy
import json
import time
import uuid

import pytest

from integrations_stub import StubServer

SECRET = "whsec-0123456789abcdef"


@pytest.fixture(scope="module")
def bus(moto_endpoint, monkeypatch_module):
    from chalicelib import aws
    from chalicelib.integrations import bus as bus_mod

    monkeypatch_module.setenv("CALLTRACK_RETRY_BASE_SECONDS", "0")
    aws.reset_clients()
    urls = bus_mod.bootstrap(max_receive_count=3, visibility_timeout=0)
    purge(urls)
    return urls


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def purge(urls):
    from chalicelib import aws

    sqs = aws.client("sqs")
    for pair in urls.values():
        for url in pair.values():
            while sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture()
def stub():
    server = StubServer().start()
    yield server
    server.down()


def call_detail(account_id, **overrides):
    from chalicelib.integrations import events

    detail = copy.deepcopy(events.schema("Call Completed")["examples"][0])
    now = time.time()
    detail.update(account_id=account_id, call_id="c-" + uuid.uuid4().hex[:10],
                  started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 300)),
                  answered_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 290)),
                  ended_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 110)),
                  ga_client_id="GA1.1.987654321.1700000000")
    detail.update(overrides)
    return detail


def drain(*names):
    from chalicelib import streams
    from chalicelib.integrations import worker

    streams.catch_up()        # the tables' outbox publishes first, as the deployed stream consumers do
    return worker.drain(names, rounds=30)


def dlq_depth(consumer):
    from chalicelib.cli.dlq import depth
    from chalicelib.integrations import registry

    return depth(registry.get(consumer).dlq)


def test_call_completed_reaches_ga4_as_measurement_protocol(bus, account, stub):
    from chalicelib.integrations import events

    acc = account(extra_config={"ga4": {"measurement_id": "G-TEST1234", "api_secret": "s3cret-value",
                                        "endpoint": stub.url, "currency": "EUR"}})
    detail = call_detail(acc.account_id, value=None, classification={
        "unique": True, "target": True, "repeated": False, "first_target": True, "unique_target": True})
    events.publish("Call Completed", detail)
    drain("ga4")

    (got,) = stub.requests
    assert got.path == "/mp/collect"
    assert got.query == {"measurement_id": ["G-TEST1234"], "api_secret": ["s3cret-value"]}
    body = got.json()
    assert body["client_id"] == "987654321.1700000000"
    started = events.schema  # noqa: F841 (keeps the import used)
    assert body["timestamp_micros"] == int(time.mktime(time.strptime(detail["started_at"], "%Y-%m-%dT%H:%M:%SZ"))
                                           - time.timezone) * 1_000_000
    names = [e["name"] for e in body["events"]]
    assert names == ["phone_call", "call_unique", "call_target", "call_first_target", "call_unique_target"]
    for event in body["events"]:
        params = event["params"]
        assert params["call_status"] == "answered" and params["call_source"] == "google"
        assert params["talk_seconds"] == 180 and params["client_id_source"] == "cookie"
        assert isinstance(params["session_id"], int) and params["engagement_time_msec"] == 1
        assert "value" not in params  # no value on the call: none sent
    assert detail["caller_hash"] not in got.body.decode()


def test_a_corrected_call_sends_ga4_only_what_it_had_not_sent(bus, account, stub):
    from chalicelib.integrations import events

    acc = account(extra_config={"ga4": {"measurement_id": "G-TEST1235", "api_secret": "s3cret-value",
                                        "endpoint": stub.url}})
    first = call_detail(acc.account_id, value=None, classification={
        "unique": True, "target": False, "repeated": False, "first_target": False, "unique_target": False})
    events.publish("Call Completed", first)
    drain("ga4")
    # The same call announced again, reclassified (an earlier call settled late).
    events.publish("Call Completed", {**first, "talk_seconds": 61, "classification": {
        "unique": True, "target": True, "repeated": False, "first_target": True, "unique_target": True}})
    drain("ga4")
    sent = [[e["name"] for e in r.json()["events"]] for r in stub.requests if r.path == "/mp/collect"]
    assert sent == [["phone_call", "call_unique"], ["call_target", "call_first_target", "call_unique_target"]]


def test_call_completed_reaches_webhook_signed(bus, account, stub, client):
    from chalicelib.integrations import events, webhooks

    acc = account(extra_config={"webhooks": [
        {"id": "crm", "url": stub.url + "/hooks/calls", "events": ["call_completed"], "secret": SECRET},
        {"id": "long-only", "url": stub.url + "/hooks/long", "events": ["call_completed"], "secret": SECRET,
         "filters": {"min_talk_seconds": 600}},
        {"id": "missed-only", "url": stub.url + "/hooks/missed", "events": ["call_completed"], "secret": SECRET,
         "filters": {"status": ["missed"]}},
    ]}, api_key="key-" + uuid.uuid4().hex)
    detail = call_detail(acc.account_id)
    events.publish("Call Completed", detail)
    drain("webhooks")

    (got,) = stub.requests
    assert got.path == "/hooks/calls"
    assert webhooks.verify(SECRET, got.headers["x-calltrack-timestamp"], got.body,
                           got.headers["x-calltrack-signature"], time.time())
    assert not webhooks.verify("another-secret-xxxxxxxx", got.headers["x-calltrack-timestamp"], got.body,
                               got.headers["x-calltrack-signature"], time.time())
    doc = got.json()
    assert doc["event"] == "call_completed" and doc["subscription_id"] == "crm"
    assert got.headers["idempotency-key"] == f"{doc['event_id']}.crm"
    assert doc["data"] == detail and detail["schema_version"] == 2       # the version published now
    assert len(doc["data"]) >= 30


def test_target_down_retries_then_dlq_then_replay_delivers_once(bus, account, stub, client):
    from chalicelib.cli import dlq
    from chalicelib.integrations import events

    key = "key-" + uuid.uuid4().hex
    acc = account(extra_config={"webhooks": [
        {"id": "crm", "url": stub.url, "events": ["call_completed"], "secret": SECRET}]}, api_key=key)
    stub.default_status = 503
    events.publish("Call Completed", call_detail(acc.account_id))
    drain("webhooks")

    assert [r.status for r in stub.requests] == [503, 503, 503]   # maxReceiveCount = 3
    assert dlq_depth("webhooks") == 1

    stub.default_status = 204
    assert dlq.replay("webhooks")["sent"] == 1
    drain("webhooks")
    assert len(stub.ok()) == 1 and dlq_depth("webhooks") == 0

    assert dlq.replay("webhooks")["sent"] == 0
    drain("webhooks")
    assert len(stub.ok()) == 1

    log = client.http.get(f"/v1/accounts/{acc.account_id}/webhooks/crm/deliveries",
                          headers={"Authorization": f"Bearer {key}"})
    assert log.status_code == 200
    attempts = log.json_body["deliveries"]
    assert [a["status_code"] for a in attempts] == [204, 503, 503, 503]   # newest first
    assert [a["ok"] for a in attempts] == [True, False, False, False]
    assert {a["idempotency_key"] for a in attempts} == {stub.requests[0].headers["idempotency-key"]}


def test_connection_refused_is_retried(bus, account, stub):
    from chalicelib.integrations import events

    acc = account(extra_config={"webhooks": [
        {"id": "crm", "url": stub.url, "events": ["call_completed"], "secret": SECRET}]})
    stub.down()
    events.publish("Call Completed", call_detail(acc.account_id))
    totals = drain("webhooks")
    assert totals["webhooks"][1] == 3 and dlq_depth("webhooks") == 1
    from chalicelib.cli import dlq
    stub.up()
    assert dlq.replay("webhooks")["sent"] == 1
    drain("webhooks")
    assert len(stub.ok()) == 1


def test_same_event_twice_is_delivered_once_per_subscription(bus, account, stub):
    from chalicelib import aws
    from chalicelib.integrations import events

    acc = account(extra_config={"webhooks": [
        {"id": "a", "url": stub.url + "/a", "events": ["call_completed"], "secret": SECRET},
        {"id": "b", "url": stub.url + "/b", "events": ["call_completed"], "secret": SECRET}]})
    events.publish("Call Completed", call_detail(acc.account_id))
    sqs = aws.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=bus["webhooks"]["queue"], MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1)["Messages"]
    sqs.change_message_visibility(QueueUrl=bus["webhooks"]["queue"], ReceiptHandle=message["ReceiptHandle"],
                                  VisibilityTimeout=0)
    sqs.send_message(QueueUrl=bus["webhooks"]["queue"], MessageBody=message["Body"])  # a redelivery
    drain("webhooks")
    assert sorted(r.path for r in stub.requests) == ["/a", "/b"]


def test_a_retry_resends_only_to_the_subscription_that_failed(bus, account, stub):
    from chalicelib.integrations import events

    good, bad = stub, StubServer().start()
    try:
        bad.answers = [500]
        acc = account(extra_config={"webhooks": [
            {"id": "good", "url": good.url, "events": ["call_completed"], "secret": SECRET},
            {"id": "flaky", "url": bad.url, "events": ["call_completed"], "secret": SECRET}]})
        events.publish("Call Completed", call_detail(acc.account_id))
        drain("webhooks")
        assert [r.status for r in good.requests] == [204]
        assert [r.status for r in bad.requests] == [500, 204]
    finally:
        bad.down()


def test_rule_patterns_route_by_detail_type(bus, account, stub):
    """Call Tagged goes to the consumers that take it (webhooks, GA4 value updates, Ads, BI),
    not to those that take Call Completed only (HubSpot, analytics)."""
    from chalicelib import aws
    from chalicelib.integrations import events

    acc = account(extra_config={"webhooks": [
        {"id": "tags", "url": stub.url, "events": ["call_tagged"], "secret": SECRET}]})
    drain("ga4", "hubspot", "analytics")  # earlier tests' Call Completed events
    events.publish("Call Tagged", {"account_id": acc.account_id, "call_id": "c1",
                                   "tags": [{"category": "lead", "value": "hot"}], "value": 10, "currency": "EUR"})
    sqs = aws.client("sqs")
    for consumer in ("hubspot", "analytics"):
        attrs = sqs.get_queue_attributes(QueueUrl=bus[consumer]["queue"], AttributeNames=["ApproximateNumberOfMessages"])
        assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0", consumer
    attrs = sqs.get_queue_attributes(QueueUrl=bus["ga4"]["queue"], AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"
    drain("ga4")
    drain("webhooks")
    (got,) = stub.requests
    assert got.json()["event"] == "call_tagged" and got.json()["data"]["tags"] == [{"category": "lead", "value": "hot"}]


def test_lambda_handler_reports_partial_batch_failures(bus, account, stub, client):
    """The deployed handler: a bad body goes to the DLQ at once, a failing target is reported."""
    from chalicelib.cli import dlq
    from chalicelib.integrations import events, registry

    acc = account(extra_config={"webhooks": [
        {"id": "crm", "url": stub.url, "events": ["call_completed"], "secret": SECRET}]})
    stub.answers = [502]
    envelope = {"id": str(uuid.uuid4()), "detail-type": "Call Completed", "source": "calltrack",
                "time": "2026-11-26T10:00:00Z", "detail": {**call_detail(acc.account_id), "schema_version": 1}}
    record = lambda mid, body: {"messageId": mid, "receiptHandle": "rh-" + mid, "body": body,  # noqa: E731
                                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:"
                                + registry.get("webhooks").queue, "awsRegion": "us-east-1"}
    before = dlq_depth("webhooks")
    result = client.lambda_.invoke("consume_webhooks", {"Records": [
        record("m-bad", "not json"), record("m-fail", json.dumps(envelope))]}).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-fail"}]}
    assert dlq_depth("webhooks") == before + 1
    assert dlq.replay("webhooks")["sent"] >= 1
    drain("webhooks")


def test_call_started_screen_pop_gets_the_caller_only_when_opted_in(bus, account, stub):
    from chalicelib.calls.models import Call
    from chalicelib.integrations import events

    acc = account(extra_config={"webhooks": [
        {"id": "pop", "url": stub.url + "/pop", "events": ["call_started"], "secret": SECRET, "include_caller": True},
        {"id": "plain", "url": stub.url + "/plain", "events": ["call_started"], "secret": SECRET}]})
    call_id = "c-" + uuid.uuid4().hex[:10]
    Call(call_id, account_id=acc.account_id, started_at=time.time(),
         rec={"caller": "+442079460123", "status": "in_progress"}).save()
    events.publish("Call Started", {"account_id": acc.account_id, "call_id": call_id, "caller": None,
                                    "caller_hash": "b" * 64, "started_at": "2026-11-26T10:00:00Z",
                                    "source": "google"})
    drain("webhooks")
    by_path = {r.path: r.json()["data"] for r in stub.requests}
    assert by_path["/pop"]["caller"] == "+442079460123"
    assert by_path["/plain"]["caller"] is None


def test_configured_through_the_admin_api_with_the_secret_in_ssm(bus, account, stub, client):
    from chalicelib import aws
    from chalicelib.integrations import events

    key = "key-" + uuid.uuid4().hex
    acc = account(api_key=key)
    name = f"/calltrack/{acc.account_id}/ga4"
    aws.client("ssm").put_parameter(Name=name, Value="from-ssm-secret", Type="SecureString", Overwrite=True)
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bad = client.http.put(f"/v1/accounts/{acc.account_id}/config/ga4", headers=auth,
                          body=json.dumps({"value": {"measurement_id": "UA-123", "api_secret": "x"}}))
    assert bad.status_code == 400 and bad.json_body["error"] == "validation_failed"
    good = client.http.put(f"/v1/accounts/{acc.account_id}/config/ga4", headers=auth, body=json.dumps(
        {"value": {"measurement_id": "G-SSM12345", "api_secret_parameter": name, "endpoint": stub.url}}))
    assert good.status_code == 200, good.body
    bad_hook = client.http.put(f"/v1/accounts/{acc.account_id}/config/webhooks", headers=auth, body=json.dumps(
        {"value": [{"id": "crm", "url": stub.url, "events": ["call_exploded"], "secret": SECRET}]}))
    assert bad_hook.status_code == 400

    events.publish("Call Completed", call_detail(acc.account_id))
    drain("ga4")
    (got,) = stub.requests
    assert got.query["api_secret"] == ["from-ssm-secret"]


def test_delivery_log_route_refuses_unknown_subscriptions_bad_limits_and_other_tenants(account, client):
    key, other_key = "key-" + uuid.uuid4().hex, "key-" + uuid.uuid4().hex
    acc = account(api_key=key, extra_config={"webhooks": [
        {"id": "crm", "url": "https://crm.example/h", "events": ["call_completed"], "secret": SECRET}]})
    path = f"/v1/accounts/{acc.account_id}/webhooks"
    auth = {"Authorization": f"Bearer {key}"}
    assert client.http.get(f"{path}/crm/deliveries", headers=auth).json_body == {"subscription_id": "crm",
                                                                                 "deliveries": [], "next": None}
    assert client.http.get(f"{path}/crm/deliveries?limt=5", headers=auth).status_code == 400     # misspelt
    assert client.http.get(f"{path}/crm/deliveries?outcome=maybe", headers=auth).status_code == 400
    assert client.http.get(f"{path}/crm/deliveries?next=garbage", headers=auth).status_code == 400
    assert client.http.get(f"{path}/nope/deliveries", headers=auth).status_code == 404
    assert client.http.get(f"{path}/crm/deliveries?limit=0", headers=auth).status_code == 400
    assert client.http.get(f"{path}/crm/deliveries?limit=abc", headers=auth).status_code == 400
    assert client.http.get(f"{path}/crm/deliveries").status_code == 401
    assert client.http.get(f"{path}/crm/deliveries",
                           headers={"Authorization": f"Bearer {other_key}"}).status_code in (401, 403)


def test_a_subscription_served_once_is_not_served_again_when_the_event_returns_under_a_new_id(account, stub):
    from chalicelib.integrations import webhooks
    from chalicelib.integrations.errors import RetryableError

    acc = account(extra_config={"webhooks": [
        {"id": "good", "url": stub.url + "/good", "events": ["call_completed"], "secret": SECRET},
        {"id": "flaky", "url": stub.url + "/flaky", "events": ["call_completed"], "secret": SECRET},
    ]})
    detail = {**call_detail(acc.account_id), "schema_version": 1}
    stub.answers = [204, 500]                                   # good takes it, flaky fails
    with pytest.raises(RetryableError):
        webhooks.handle({"id": "E1", "detail-type": "Call Completed", "detail": detail, "time": "2026-11-26T10:00:00Z"})
    # The same event again, as a parked event resent after an ambiguous PutEvents failure.
    webhooks.handle({"id": "E2", "detail-type": "Call Completed", "detail": detail, "time": "2026-11-26T10:00:00Z"})
    assert [r.path for r in stub.ok()] == ["/good", "/flaky"]


class DrainingSqs:
    """The real SQS client, with the consumer running right after each message the replay
    sends: what fails again comes back to the DLQ while the replay is still running."""

    def __init__(self, consumer):
        from chalicelib import aws

        self.sqs, self.consumer = aws.client("sqs"), consumer

    def __getattr__(self, name):
        return getattr(self.sqs, name)

    def send_message(self, **kwargs):
        answer = self.sqs.send_message(**kwargs)
        drain(self.consumer)
        return answer


def test_a_dlq_replay_sends_each_event_once_even_when_it_fails_again_during_the_run(bus, account, stub, client):
    from chalicelib.cli import dlq
    from chalicelib.integrations import events

    key = "key-" + uuid.uuid4().hex
    acc = account(api_key=key, extra_config={"webhooks": [
        {"id": "crm", "url": stub.url, "events": ["call_completed"], "secret": SECRET}]})
    purge({"webhooks": {"dlq": bus["webhooks"]["dlq"]}})  # only this test's messages in the DLQ
    stub.default_status = 404                            # misconfigured target: straight to the DLQ
    for _ in range(3):
        events.publish("Call Completed", call_detail(acc.account_id))
    drain("webhooks")
    assert len(stub.requests) == 3 and dlq_depth("webhooks") == 3

    report = dlq.replay("webhooks", sqs=DrainingSqs("webhooks"))
    assert report == {"sent": 3, "failed_again": 3, "skipped": 0}
    assert len(stub.requests) == 6                       # each event once more, not again and again
    assert dlq_depth("webhooks") == 3                    # what failed again waits for the next run

    log = client.http.get(f"/v1/accounts/{acc.account_id}/webhooks/crm/deliveries?limit=2",
                          headers={"Authorization": f"Bearer {key}"}).json_body
    assert len(log["deliveries"]) == 2 and log["next"]
    rest = client.http.get(f"/v1/accounts/{acc.account_id}/webhooks/crm/deliveries?limit=100&next={log['next']}",
                           headers={"Authorization": f"Bearer {key}"}).json_body
    attempts = log["deliveries"] + rest["deliveries"]
    assert len(attempts) == 6 and rest["next"] is None
    assert sorted(a["attempt"] for a in attempts) == [1, 1, 1, 2, 2, 2]     # numbering goes on across the replay
    assert all(a["error"] == "HTTP 404 Not Found" for a in attempts)         # the status, not the target's body
    failed = client.http.get(f"/v1/accounts/{acc.account_id}/webhooks/crm/deliveries?outcome=ok",
                             headers={"Authorization": f"Bearer {key}"}).json_body
    assert failed["deliveries"] == []


def test_dlq_list_works_against_the_local_stack_with_no_aws_setup(bus, moto_endpoint):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["CALLTRACK_STAGE"] = "local"
    command = [sys.executable, "-c", "import sys; from chalicelib.cli import main; sys.exit(main())", "dlq", "list"]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "webhooks" in run.stdout and "calltrack-webhooks-dlq" in run.stdout
    env["CALLTRACK_AWS_ENDPOINT"] = "http://127.0.0.1:9"          # nothing listens: one clear line
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1 and "make run" in run.stderr


def test_a_missing_ssm_parameter_goes_to_the_dlq_at_once_and_the_api_says_why(bus, account, stub, client):
    from chalicelib.integrations import events, parameters

    parameters.reset()
    key = "key-" + uuid.uuid4().hex
    hook = {"id": "crm", "url": stub.url, "events": ["call_completed"], "secret_parameter": "/calltrack/nope/" + key}
    acc = account(api_key=key, extra_config={"webhooks": [hook]})
    before = dlq_depth("webhooks")
    events.publish("Call Completed", call_detail(acc.account_id))
    totals = drain("webhooks")
    assert stub.requests == [] and dlq_depth("webhooks") == before + 1
    assert totals["webhooks"] == [1, 0]                  # taken once, to the DLQ: no retries that cannot help
    auth = {"Authorization": f"Bearer {key}"}
    (state,) = client.http.get(f"/v1/accounts/{acc.account_id}/integrations", headers=auth).json_body["integrations"]
    assert (state["integration"], state["last_error_kind"], state["healthy"]) == ("webhooks", "permanent", False)
    assert "misconfigured" in state["last_error"] and "ParameterNotFound" in state["last_error"]

    from chalicelib import aws

    aws.client("ssm").put_parameter(Name=hook["secret_parameter"], Value=SECRET, Type="SecureString")
    events.publish("Call Completed", call_detail(acc.account_id))
    drain("webhooks")
    (state,) = client.http.get(f"/v1/accounts/{acc.account_id}/integrations", headers=auth).json_body["integrations"]
    assert state["healthy"] and state["last_success_at"] and len(stub.ok()) == 1
    assert client.http.get(f"/v1/accounts/{acc.account_id}/integrations?verbose=1", headers=auth).status_code == 400


def test_ga4_validation_mode_shows_what_the_validation_server_says(account, client):
    from tests.ga4_standin import GA4Debug
    from tests.local_http import serve

    GA4Debug.seen.clear()
    key = "key-" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with serve(GA4Debug) as url:
        acc = account(api_key=key, extra_config={"ga4": {"measurement_id": "G-VALID123", "api_secret": "s3cret-value",
                                                         "endpoint": url}})
        path = f"/v1/accounts/{acc.account_id}/integrations/ga4/validate"
        answer = client.http.post(path, headers=auth, body="{}")
        assert answer.status_code == 200, answer.body
        result = answer.json_body
        assert result["validation_messages"] == [] and result["local_check"] is None, result
        assert result["valid"] is True, result
        assert result["events"][0] == "phone_call" and result["endpoint"].endswith("/debug/mp/collect")
        assert "s3cret-value" not in answer.body.decode()           # the secret is never shown
        assert [s["path"] for s in GA4Debug.seen] == ["/debug/mp/collect"]   # nothing to the recording endpoint
        assert client.http.post(path, headers=auth, body=json.dumps({"call_id": "nope"})).status_code == 404
        assert client.http.post(path, headers=auth, body=json.dumps({"cal_id": "x"})).status_code == 400
    other = account(api_key=key + "b")
    refused = client.http.post(f"/v1/accounts/{other.account_id}/integrations/ga4/validate",
                               headers={**auth, "Authorization": f"Bearer {key}b"}, body="{}")
    assert refused.status_code == 409 and set(refused.json_body) == {"error", "message"}


def test_ga4_validation_messages_reach_the_api_answer(account, client):
    from tests.ga4_standin import GA4Debug, messages_for
    from tests.local_http import serve

    assert [m["validationCode"] for m in messages_for({}, {"events": [{"name": "session_start"}]})] == [
        "VALUE_REQUIRED", "VALUE_REQUIRED", "VALUE_REQUIRED", "NAME_INVALID"]

    class Strict(GA4Debug):          # a property whose validation server objects to the payload
        def do_POST(self):  # noqa: N802
            answer = json.dumps({"validationMessages": [{"fieldPath": "events.params.tags", "validationCode":
                                                         "VALUE_INVALID", "description": "Value is invalid."}]}).encode()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    key = "key-" + uuid.uuid4().hex
    with serve(Strict) as url:
        acc = account(api_key=key, extra_config={"ga4": {"measurement_id": "G-VALID123", "api_secret": "s3cret-value",
                                                         "endpoint": url}})
        result = client.http.post(f"/v1/accounts/{acc.account_id}/integrations/ga4/validate", body="{}",
                                  headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                                  ).json_body
    assert result["valid"] is False and result["validation_messages"][0]["fieldPath"] == "events.params.tags"


def test_a_call_the_rules_qualify_reaches_ga4_as_qualified_lead_once(bus, account, stub):
    """`Call Analyzed` with lead `qualified` → one `qualified_lead` GA4 event with the score
    and the rules' ids; a repeated event or a re-analysis sends nothing more, a call the
    rules did not qualify sends nothing, and no transcript text ever goes."""
    from chalicelib.integrations import events
    from sample_calls import completed_call, iso_ago, store_call

    acc = account(extra_config={"ga4": {"measurement_id": "G-TEST1240", "api_secret": "s3cret-value",
                                        "endpoint": stub.url}})
    now = time.time()

    def analysed(lead, score):
        call = store_call(completed_call(account_id=acc.account_id, call_id="q-" + uuid.uuid4().hex[:10],
                                         started_at=iso_ago(now, 600), answered_at=iso_ago(now, 590),
                                         ended_at=iso_ago(now, 300)))
        example = events.schema("Call Analyzed")["examples"][0]
        return {**example, "account_id": acc.account_id, "call_id": call["call_id"], "lead": lead, "score": score,
                "rules_fired": [{"rule": "asked-price", "name": "Asked the price", "score": 20},
                                {"rule": "qualified", "name": "Qualified", "score": 40}]}

    qualified, not_lead = analysed("qualified", 72), analysed("not_lead", 5)
    events.publish("Call Analyzed", qualified)
    events.publish("Call Analyzed", qualified)                      # delivered twice
    events.publish("Call Analyzed", {**qualified, "score": 80})     # analysed again (a new transcript)
    events.publish("Call Analyzed", not_lead)
    drain("ga4")
    sent = [r.json() for r in stub.requests if r.path == "/mp/collect"]
    assert [[e["name"] for e in body["events"]] for body in sent] == [["qualified_lead"]]
    params = sent[0]["events"][0]["params"]
    assert params["lead_score"] == 72 and params["lead_rules"] == "asked-price,qualified"
    assert params["call_source"] == "google" and sent[0]["client_id"] == "123.456"
    assert "boiler" not in json.dumps(params["lead_rules"])
