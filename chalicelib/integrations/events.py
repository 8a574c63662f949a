"""Publishing Calltrack events to the custom EventBridge bus.

Contract (docs/events.md): `publish(detail_type, detail)` and `publish_many([(detail_type, detail), ...])`.
Every entry has source `calltrack`, goes to the bus `config.event_bus_name()`, and its detail is
validated against `schemas/<detail-type-slug>.v<N>.json`, N the version published now
(`LATEST_VERSIONS`; e.g. `Call Completed` → `call-completed.v2.json`) before anything is sent: an invalid detail raises
`errors.ValidationFailed` (a programming error, never swallowed).

PutEvents takes at most 10 entries per call; an answer may report some entries failed while
others succeeded, so only the failed entries whose code is retryable (`InternalFailure`,
`ThrottlingException`) are resent, with bounded exponential backoff. Entries that still fail (or
fail with a non-retryable code) raise `PublishFailed` naming them.

Nothing on a request path publishes: the lease and the Vonage webhooks only write
DynamoDB, and the tables' streams publish (chalicelib/streams.py, the outbox). A failed
PutEvents fails the stream batch, which Lambda retries from the stream, so a bus outage
delays events instead of losing them.
"""
from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

if TYPE_CHECKING:  # jsonschema is imported on the first validation, not at cold start
    from jsonschema import Draft202012Validator


from chalicelib import aws, config
from chalicelib.errors import CalltrackError, ValidationFailed
from chalicelib.observability import count, logger

SOURCE = "calltrack"
SCHEMA_VERSION = 1
MAX_ENTRIES_PER_CALL = 10
MAX_ENTRY_BYTES = 256 * 1024
RETRYABLE_CODES = frozenset({"InternalFailure", "ThrottlingException"})
MAX_ATTEMPTS = 4
BASE_DELAY_SECONDS = 0.05

DETAIL_TYPES = (
    "Session Started",
    "Call Started",
    "Call Routed",
    "Call Completed",
    "Call Tagged",
    "Callback Requested",
    "Callback Completed",
    "Call Recorded",
    "Call Transcribed",
    "Call Analyzed",
)
SCHEMA_DIR = Path(__file__).with_name("schemas")
# Detail types published in a newer version than 1 (the bus carries the newest; the older
# schemas stay in the repository, and webhook subscriptions can still ask for them).
LATEST_VERSIONS = {"Call Completed": 2}


def latest(detail_type: str) -> int:
    return LATEST_VERSIONS.get(detail_type, SCHEMA_VERSION)


class PublishFailed(CalltrackError):
    """Some entries could not be put on the bus after the allowed retries."""
    status = 502
    code = "publish_failed"

    def __init__(self, message: str, failed: Sequence[Dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.failed = list(failed)


def slug(detail_type: str) -> str:
    """`Call Completed` → `call-completed` (the schema file and the registry key)."""
    return re.sub(r"[^a-z0-9]+", "-", detail_type.lower()).strip("-")


def schema_path(detail_type: str, version: Optional[int] = None) -> Path:
    return SCHEMA_DIR / f"{slug(detail_type)}.v{version or latest(detail_type)}.json"


@lru_cache(maxsize=None)
def schema(detail_type: str, version: Optional[int] = None) -> Dict[str, Any]:
    """The detail type's schema: the version published now, or an older one asked for."""
    if detail_type not in DETAIL_TYPES:
        raise ValidationFailed(f"unknown detail type {detail_type!r}; known: {', '.join(DETAIL_TYPES)}")
    if version is not None and not 1 <= version <= latest(detail_type):
        raise ValidationFailed(f"{detail_type}: no schema version {version}")
    return json.loads(schema_path(detail_type, version).read_text())


@lru_cache(maxsize=None)
def _validator(detail_type: str, version: int) -> Draft202012Validator:
    doc = schema(detail_type, version)
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(doc)
    return Draft202012Validator(doc)


def validate_detail(detail_type: str, detail: Mapping[str, Any]) -> None:
    """Raise ValidationFailed naming the most relevant problem of `detail` (validated
    against the version it names, else the one published now)."""
    from jsonschema.exceptions import best_match

    version = detail.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        version = latest(detail_type)
    error = best_match(_validator(detail_type, version).iter_errors(detail))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "detail"
        raise ValidationFailed(f"{detail_type}: {where}: {error.message}")


def entry(detail_type: str, detail: Mapping[str, Any]) -> Dict[str, Any]:
    """The PutEvents entry for one validated detail (`schema_version` added when absent)."""
    if "schema_version" not in detail:
        detail = {**detail, "schema_version": latest(detail_type)}
    validate_detail(detail_type, detail)
    body = json.dumps(detail, separators=(",", ":"), default=str)
    if len(body.encode()) > MAX_ENTRY_BYTES:
        raise ValidationFailed(f"{detail_type}: detail is {len(body)} bytes; EventBridge takes at most 256 KiB")
    return {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": body,
        "EventBusName": config.event_bus_name(),
    }


def publish(detail_type: str, detail: Mapping[str, Any], events_client: Any = None) -> None:
    publish_many([(detail_type, detail)], events_client)


def publish_many(items: Iterable[Tuple[str, Mapping[str, Any]]], events_client: Any = None) -> None:
    """Validate all first (nothing is sent if one is invalid), then send in chunks of 10."""
    send([entry(detail_type, detail) for detail_type, detail in items], events_client)


def send(entries: List[Dict[str, Any]], events_client: Any = None) -> None:
    """PutEvents of validated entries in chunks of 10; raises PublishFailed with what failed."""
    client = events_client or aws.client("events")
    failed: List[Dict[str, Any]] = []
    for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
        failed.extend(_put(client, entries[start:start + MAX_ENTRIES_PER_CALL]))
    if failed:
        count("EventsPublishFailed", len(failed))
        codes = sorted({f.get("ErrorCode") or "?" for f in failed})
        raise PublishFailed(f"{len(failed)} event(s) not published ({', '.join(codes)})", failed)
    count("EventsPublished", len(entries))


def valid_entries(items: Iterable[Tuple[str, Mapping[str, Any]]]) -> List[Dict[str, Any]]:
    """The entries of the items whose detail is valid, for the streams' outbox. An invalid
    detail is a bug: on the local stage (tests, `make run`) it raises so the bug is seen;
    deployed it is logged as an error, counted (EventsInvalid) and skipped, so one bad
    record cannot hold a stream shard for its 24 h of retries."""
    out = []
    for detail_type, detail in items:
        try:
            out.append(entry(detail_type, detail))
        except ValidationFailed as err:
            if config.is_local():
                raise
            logger.error("invalid event detail not published", extra={"detail_type": detail_type,
                                                                      "error": err.message})
            count("EventsInvalid")
    return out


def _put(client: Any, entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """PutEvents with resend of the retryable failed entries only; returns what finally failed
    (each entry dict plus ErrorCode/ErrorMessage)."""
    pending, final = entries, []
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            time.sleep(BASE_DELAY_SECONDS * (2 ** (attempt - 1)))
        answer = client.put_events(Entries=pending)
        if not answer.get("FailedEntryCount"):
            return final
        retry = []
        # Result entries are in request order, one per request entry.
        for sent, result in zip(pending, answer["Entries"]):
            code = result.get("ErrorCode")
            if not code:
                continue
            if code in RETRYABLE_CODES:
                retry.append(sent)
            else:
                final.append({**sent, "ErrorCode": code, "ErrorMessage": result.get("ErrorMessage")})
        if not retry:
            return final
        pending = retry
    final.extend({**e, "ErrorCode": "RetriesExhausted"} for e in pending)
    return final
