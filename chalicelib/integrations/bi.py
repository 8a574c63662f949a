"""BI export: every completed call as one NDJSON line in S3, partitioned by day.

Key: `<prefix>/account_id=<account>/dt=<YYYY-MM-DD>/<call_id>.json` (UTC day of the call's
start), one line per object. The key depends on the call alone, so a redelivered event, or
the `Call Tagged` that follows with tags and value, overwrites the same object: each call is
exactly one row in Athena, in its latest state. Hive-style partition names let Athena
(partition projection or `MSCK REPAIR TABLE`), Glue and Spark read the layout as is.

The caller's number is dropped unless the account's `pii_policy` is `plain`; `caller_hash`
always stays (join key for repeat callers). `athena_ddl()` is the table definition
docs/bi.md shows; a test keeps it and `RECORD_SCHEMA` in step with the call contract.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws
from chalicelib.errors import NotFound
from chalicelib.integrations.errors import PermanentError, RetryableError, account_of
from chalicelib.observability import count, logger
from chalicelib.times import epoch, iso

Clock = Callable[[], float]
GetCall = Callable[[str, str], Dict[str, Any]]
SECTION = "bi"
DEFAULT_PREFIX = "calltrack/calls"
RECORD_VERSION = 1

BI_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["enabled", "bucket"],
    "properties": {
        "enabled": {"type": "boolean"},
        "bucket": {"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"},
        "prefix": {"type": "string", "pattern": "^[A-Za-z0-9!_.*'()/-]{1,200}$",
                   "description": "key prefix, without leading or trailing slash (default calltrack/calls)"},
        "kms_key_id": {"type": "string", "minLength": 1, "maxLength": 2048,
                       "description": "SSE-KMS key for the objects (default: the bucket's encryption)"},
    },
}

# The NDJSON record: column → (Athena type, JSON Schema). Order is the table's column order.
_S, _N, _B = {"type": ["string", "null"]}, {"type": ["number", "null"]}, {"type": ["boolean", "null"]}
COLUMNS: List[Tuple[str, str, Dict[str, Any]]] = [
    ("call_id", "string", {"type": "string"}),
    ("conversation_uuid", "string", _S), ("tracking_number", "string", _S), ("caller", "string", _S),
    ("caller_hash", "string", _S), ("direction", "string", _S), ("status", "string", _S),
    ("started_at", "string", _S), ("answered_at", "string", _S), ("ended_at", "string", _S),
    ("wait_seconds", "double", _N), ("talk_seconds", "double", _N), ("duration_seconds", "double", _N),
    ("within_working_hours", "boolean", _B), ("ivr_path", "array<string>", {"type": ["array", "null"]}),
    ("department", "string", _S), ("destination", "string", _S), ("agent", "string", _S),
    ("recording_url", "string", _S), ("session_id", "string", _S), ("method", "string", _S),
    ("source", "string", _S), ("medium", "string", _S), ("campaign", "string", _S), ("keyword", "string", _S),
    ("content", "string", _S), ("landing_page", "string", _S), ("referrer", "string", _S),
    ("pages_seen", "int", {"type": ["integer", "null"]}),
    ("click_ids", "map<string,string>", {"type": ["object", "null"]}),
    ("ga_client_id", "string", _S), ("ga_session_id", "string", _S), ("device", "string", _S), ("browser", "string", _S), ("os", "string", _S),
    ("country", "string", _S), ("attribution_confidence", "double", _N),
    ("classification", "struct<unique:boolean,target:boolean,repeated:boolean,first_target:boolean,"
                       "unique_target:boolean>", {"type": ["object", "null"]}),
    ("tags", "array<struct<category:string,value:string>>", {"type": ["array", "null"]}),
    ("value", "double", _N), ("currency", "string", _S), ("suspected_false_conversion", "boolean", _B),
    ("classification_final", "boolean", _B),
    ("started_epoch", "double", _N),
    ("exported_at", "string", {"type": "string"}),
    ("record_version", "int", {"const": RECORD_VERSION}),
]
RECORD_SCHEMA: Dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Calltrack BI call record (one NDJSON line)",
    "type": "object", "additionalProperties": False,
    "required": [name for name, _, _ in COLUMNS],
    "properties": {name: schema for name, _, schema in COLUMNS},
}


def record(call: Mapping[str, Any], pii_plain: bool, now: float) -> Dict[str, Any]:
    """The BI row of a call (pure). Tag values become strings: one Athena type per column."""
    out: Dict[str, Any] = {name: call.get(name) for name, _, _ in COLUMNS}
    if not pii_plain:
        out["caller"] = None
    out["tags"] = [{"category": str(t.get("category")), "value": None if t.get("value") is None else str(t["value"])}
                   for t in (call.get("tags") or [])]
    out["started_epoch"] = epoch(call.get("started_at"))
    out["exported_at"] = iso(now)
    out["record_version"] = RECORD_VERSION
    return out


def object_key(prefix: str, account_id: str, call: Mapping[str, Any]) -> str:
    started = epoch(call.get("started_at"))
    if started is None:
        raise PermanentError(f"call {call.get('call_id')} has no start time")
    day = datetime.fromtimestamp(started, tz=timezone.utc).strftime("%Y-%m-%d")
    return f"{prefix.strip('/')}/account_id={account_id}/dt={day}/{call['call_id']}.json"


def ndjson(row: Mapping[str, Any]) -> bytes:
    return (json.dumps(row, separators=(",", ":"), ensure_ascii=False, sort_keys=False) + "\n").encode()


def default_get_call(account_id: str, call_id: str) -> Dict[str, Any]:
    from chalicelib.calls import store

    return store.get_call(account_id, call_id)


def handle(event: Mapping[str, Any], get_call: Optional[GetCall] = None, s3: Any = None,
           clock: Clock = time.time) -> Optional[str]:
    """Consumer of `Call Completed` / `Call Tagged`: write (or overwrite) the call's object.
    Returns the S3 key written, None when BI export is off for the account."""
    detail = event.get("detail") or {}
    account_id, call_id = detail.get("account_id"), detail.get("call_id")
    account = account_of(account_id)
    section = account.config.get(SECTION) or {}
    if not section.get("enabled"):
        return None
    try:
        call = (get_call or default_get_call)(account_id, call_id)
    except NotFound as err:
        raise RetryableError(f"call {call_id} of {account_id} not readable yet") from err
    if call.get("status") == "in_progress":
        return None
    key = object_key(section.get("prefix") or DEFAULT_PREFIX, account_id, call)
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": section["kms_key_id"]} if section.get("kms_key_id") else {}
    body = ndjson(record(call, account.settings.pii_policy == "plain", clock()))
    try:
        (s3 or aws.client("s3")).put_object(Bucket=section["bucket"], Key=key, Body=body,
                                            ContentType="application/x-ndjson", **extra)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        count("BiExportFailed")
        if code in ("NoSuchBucket", "AccessDenied", "InvalidBucketName", "KMS.NotFoundException"):
            raise PermanentError(f"s3://{section['bucket']}/{key}: {code}") from err
        raise RetryableError(f"s3://{section['bucket']}/{key}: {code or err}") from err
    except BotoCoreError as err:
        raise RetryableError(f"s3://{section['bucket']}/{key}: {err}") from err
    count("BiCallExported")
    logger.info("bi export", extra={"account_id": account_id, "call_id": call_id, "key": key})
    return key


def athena_ddl(bucket: str, prefix: str = DEFAULT_PREFIX, table: str = "calltrack_calls",
               database: str = "calltrack", first_day: str = "2026-01-01") -> str:
    """CREATE EXTERNAL TABLE for the export, with partition projection (no crawler, no
    `MSCK REPAIR`): `account_id` is injected (queries name it), `dt` is a date range."""
    columns = ",\n".join(f"  `{name}` {athena_type}" for name, athena_type, _ in COLUMNS)
    location = f"s3://{bucket}/{prefix.strip('/')}/"
    return f"""CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table}` (
{columns}
)
PARTITIONED BY (`account_id` string, `dt` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'false', 'case.insensitive' = 'false')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '{location}'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.account_id.type' = 'injected',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '{first_day},NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '{location}account_id=${{account_id}}/dt=${{dt}}/'
);"""
