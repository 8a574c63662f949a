"""Exactly-once side effects on top of at-least-once delivery.

EventBridge → SQS delivers an event at least once (and a DLQ replay delivers it again), so
each unit of work is claimed with a conditional write on `Receipt` before its side effect:

    with once(f"{consumer}#{event_id}") as fresh:
        if fresh:
            send_it()

- first time: the claim succeeds, the body runs, the receipt becomes `done`;
- already done: `fresh` is False, nothing is sent again;
- the body raises: the claim is deleted so a redelivery can try again;
- another worker holds a live claim (two copies in flight): `InFlight` is raised, a
  retryable failure, so this copy comes back later and then finds the work done.

A worker that dies between the side effect and marking it done leaves a claim that expires
after `claim_seconds`; the next delivery repeats the side effect (the only duplicate window).
"""
from __future__ import annotations

import hashlib
import json
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

from pynamodb.exceptions import DeleteError, PutError

from chalicelib import db
from chalicelib.integrations.errors import RetryableError
from chalicelib.integrations.models import Receipt

CLAIM_SECONDS = 120
KEEP_DAYS = 14


class InFlight(RetryableError):
    """Another delivery of the same event is being processed right now."""


def _is_conditional(err: Exception) -> bool:
    cause = getattr(err, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def claim(key: str, clock: Callable[[], float] = time.time, claim_seconds: float = CLAIM_SECONDS) -> bool:
    """True if this caller now holds `key`; False if the work is already done."""
    now = clock()
    receipt = Receipt(key, state="claimed", claimed_until=now + claim_seconds, expires=db.ttl(now + KEEP_DAYS * 86400))
    try:
        receipt.save(condition=Receipt.key.does_not_exist()
                     | ((Receipt.state == "claimed") & (Receipt.claimed_until < now)))
        return True
    except PutError as err:
        if not _is_conditional(err):
            raise RetryableError(f"receipt {key}: {err}") from err
    existing = Receipt.get(key, consistent_read=True)
    if existing.state == "done":
        return False
    raise InFlight(f"{key} is being processed by another delivery")


def mark_done(key: str, clock: Callable[[], float] = time.time) -> None:
    now = clock()
    Receipt(key, state="done", done_at=now, expires=db.ttl(now + KEEP_DAYS * 86400)).save()


def release(key: str) -> None:
    try:
        Receipt(key).delete(condition=Receipt.state == "claimed")
    except DeleteError as err:
        if not _is_conditional(err):
            raise


@contextmanager
def once(key: str, clock: Callable[[], float] = time.time) -> Iterator[bool]:
    if not claim(key, clock):
        yield False
        return
    try:
        yield True
    except BaseException:
        release(key)
        raise
    mark_done(key, clock)


def content_key(event: Mapping[str, Any]) -> str:
    """What makes two deliveries the same event: its type and its detail, not the id
    EventBridge gave it (a stream batch published again after a retry gets new ones).
    A changed detail (a call reclassified) is a new event."""
    body = json.dumps(event["detail"], sort_keys=True, separators=(",", ":"), default=str)
    return f"{event['detail-type']}#{hashlib.sha256(body.encode()).hexdigest()[:40]}"
