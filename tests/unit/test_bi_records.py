"""BI export records, keys and the Athena table definition (pure)."""
from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from chalicelib.integrations import bi
from chalicelib.integrations.errors import PermanentError
from sample_calls import completed_call

NOW = 1_764_000_000.0


def test_record_follows_the_documented_schema_and_drops_the_caller():
    row = bi.record(completed_call(tags=[{"category": "sale", "value": 3}]), pii_plain=False, now=NOW)
    Draft202012Validator(bi.RECORD_SCHEMA).validate(row)
    assert row["caller"] is None and len(row["caller_hash"]) == 64
    assert row["tags"] == [{"category": "sale", "value": "3"}]
    assert row["started_epoch"] == bi.epoch("2026-11-20T14:00:00Z")
    assert row["exported_at"] == "2025-11-24T16:00:00Z"
    assert bi.record(completed_call(), pii_plain=True, now=NOW)["caller"] == "+14155550142"


def test_every_call_field_of_the_contract_is_exported():
    contract = set(completed_call()) - {"account_id"}          # account_id is the partition
    assert contract <= {name for name, _, _ in bi.COLUMNS}


def test_one_ndjson_line_per_object():
    body = bi.ndjson(bi.record(completed_call(), False, NOW))
    assert body.endswith(b"\n") and body.count(b"\n") == 1
    assert json.loads(body)["call_id"] == "call-0001"


def test_key_is_partitioned_by_account_and_utc_day_of_the_start():
    call = completed_call(call_id="c-9", started_at="2026-11-20T23:59:59-05:00")
    assert bi.object_key("/exports/calls/", "acc-1", call) == "exports/calls/account_id=acc-1/dt=2026-11-21/c-9.json"
    with pytest.raises(PermanentError):
        bi.object_key("p", "acc-1", completed_call(started_at=None))


def test_athena_ddl_declares_every_record_column_and_projects_partitions():
    ddl = bi.athena_ddl("my-bi-bucket", "calltrack/calls")
    declared = re.findall(r"^  `(\w+)` ", ddl, flags=re.M)
    assert declared == [name for name, _, _ in bi.COLUMNS]
    assert "PARTITIONED BY (`account_id` string, `dt` string)" in ddl
    assert "LOCATION 's3://my-bi-bucket/calltrack/calls/'" in ddl
    assert "'storage.location.template' = 's3://my-bi-bucket/calltrack/calls/account_id=${account_id}/dt=${dt}/'" in ddl
    assert "org.openx.data.jsonserde.JsonSerDe" in ddl

