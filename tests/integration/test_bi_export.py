"""BI export against the emulator's S3: one NDJSON object per call, day partitions, idempotent."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from chalicelib import aws
from chalicelib.integrations import bi
from chalicelib.integrations.errors import PermanentError, RetryableError
from sample_calls import completed_call, event_of, store_call

BUCKET = "calltrack-bi-test"


@pytest.fixture(scope="module")
def bucket(moto_endpoint):
    s3 = aws.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture()
def acc(account, bucket):
    return account(extra_config={"bi": {"enabled": True, "bucket": bucket, "prefix": "exports/calls"}}).account_id


def objects(prefix):
    answer = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in answer.get("Contents", [])]


def read(key):
    return aws.client("s3").get_object(Bucket=BUCKET, Key=key)


def test_completed_call_lands_as_one_ndjson_line_in_its_day_partition(acc):
    call = store_call(completed_call(account_id=acc, call_id=f"bi-{uuid.uuid4().hex[:8]}"))
    key = bi.handle(event_of(call))
    assert key == f"exports/calls/account_id={acc}/dt=2026-11-20/{call['call_id']}.json"
    obj = read(key)
    assert obj["ContentType"] == "application/x-ndjson"
    lines = obj["Body"].read().decode().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["call_id"] == call["call_id"] and row["caller"] is None and row["source"] == "google"


def test_the_same_call_twice_or_retagged_stays_one_object_with_the_latest_state(acc):
    call = store_call(completed_call(account_id=acc, call_id="bi-twice"))
    bi.handle(event_of(call))
    bi.handle(event_of(call))
    store_call({**call, "tags": [{"category": "sale", "value": "boiler"}], "value": 900.0})
    bi.handle(event_of(call, "Call Tagged"))
    keys = objects(f"exports/calls/account_id={acc}/")
    assert keys == [f"exports/calls/account_id={acc}/dt=2026-11-20/bi-twice.json"]
    row = json.loads(read(keys[0])["Body"].read())
    assert row["value"] == 900.0 and row["tags"] == [{"category": "sale", "value": "boiler"}]


def test_accounts_without_bi_write_nothing(account, bucket):
    acc = account().account_id
    assert bi.handle(event_of(store_call(completed_call(account_id=acc, call_id="bi-off")))) is None
    assert objects(f"exports/calls/account_id={acc}/") == []


def test_a_missing_bucket_goes_to_the_dlq_and_an_unreadable_call_is_retried(account):
    acc = account(extra_config={"bi": {"enabled": True, "bucket": "no-such-bucket-xyz"}}).account_id
    with pytest.raises(PermanentError):
        bi.handle(event_of(store_call(completed_call(account_id=acc, call_id="bi-nobucket"))))
    with pytest.raises(RetryableError):
        bi.handle(event_of(completed_call(account_id=acc, call_id="never-stored")))


def test_docs_show_the_current_athena_ddl():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "bi.md").read_text()
    assert bi.athena_ddl("YOUR-BI-BUCKET") in doc
