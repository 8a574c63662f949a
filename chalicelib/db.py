"""PynamoDB plumbing shared by every model: table naming, the emulator endpoint,
and the registry `create_tables` walks (locally and in tests; `infra/` in AWS)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import List, Type

from pynamodb.models import Model

from chalicelib import config

MODELS: List[Type[Model]] = []


STREAM_VIEW = "NEW_AND_OLD_IMAGES"
CONDITION_FAILED = "ConditionalCheckFailedException"    # a write's condition did not hold
CANCELLED_BY_CONDITION = "ConditionalCheckFailed"        # a transaction item's cancellation reason


def condition_failed(err: BaseException) -> bool:
    """Whether a PynamoDB write error is DynamoDB refusing the write's condition (not a
    throttle or a timeout: a cause without a response has no code, and pynamodb's property
    then raises instead of answering None)."""
    try:
        return getattr(err, "cause_response_code", None) == CONDITION_FAILED
    except (AttributeError, KeyError, TypeError):
        return False


def meta(short_name: str, stream: bool = False) -> type:
    """A PynamoDB `Meta` for table `short_name`, addressed as configuration says. `stream`:
    the table has a DynamoDB Stream (new and old images) that the stream consumer reads
    (roll-ups, outbox events: docs/reports.md, docs/events.md)."""

    class Meta:
        table_name = config.table_name(short_name)
        region = config.region()
        host = config.aws_endpoint()
        billing_mode = "PAY_PER_REQUEST"
        connect_timeout_seconds = 2
        read_timeout_seconds = config.dynamodb_read_timeout()
        max_retry_attempts = 2

    if stream:
        Meta.stream_view_type = STREAM_VIEW  # type: ignore[attr-defined]
    return Meta


def register(model: Type[Model]) -> Type[Model]:
    """Class decorator: the model's table is part of the deployment."""
    MODELS.append(model)
    return model


def create_tables() -> List[str]:
    """Create every registered table that does not exist yet (idempotent); enable TTL."""
    created = []
    for model in MODELS:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            created.append(model.Meta.table_name)
    return created


def ttl(epoch_seconds: float) -> "datetime":
    """A DynamoDB TTL value (PynamoDB's TTLAttribute takes datetimes)."""
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
