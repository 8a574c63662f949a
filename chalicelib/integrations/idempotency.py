"""Exactly-once side effects on top of at-least-once delivery.

EventBridge → SQS delivers an event at least once (and a DLQ replay delivers it again), so
each unit of work is claimed with a conditional write on `Receipt` before its side effect:

    with once(f"{consumer}#{event_id}") as fresh:
        if fresh:
            send_it()

- first time: the claim succeeds, the body runs, the receipt becomes `done`;
- already done: `fresh` is False, nothing is sent again;
- the body raises: the claim is marked failed so a redelivery can try again (the number
  of attempts is kept across redeliveries and DLQ replays: `attempt` yields it);
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
from typing import Any, Callable, Iterator, Mapping, Optional

from pynamodb.exceptions import UpdateError

from chalicelib import db
from chalicelib.integrations.errors import RetryableError
from chalicelib.integrations.models import Receipt

CLAIM_SECONDS = 120
KEEP_DAYS = 14


class InFlight(RetryableError):
    """Another delivery of the same event is being processed right now."""


def _is_conditional(err: Exception) -> bool:
    return db.condition_failed(err)


def claim(key: str, clock: Callable[[], float] = time.time, claim_seconds: float = CLAIM_SECONDS) -> Optional[int]:
    """The attempt number (1, 2, … across redeliveries and DLQ replays) if this caller now
    holds `key`; None if the work is already done."""
    now = clock()
    receipt = Receipt(key)
    try:
        receipt.update(actions=[Receipt.state.set("claimed"), Receipt.claimed_until.set(now + claim_seconds),
                                Receipt.expires.set(db.ttl(now + KEEP_DAYS * 86400)), Receipt.attempts.add(1)],
                       condition=Receipt.key.does_not_exist() | (Receipt.state == "failed")
                       | ((Receipt.state == "claimed") & (Receipt.claimed_until < now)))
        return int(receipt.attempts or 1)
    except UpdateError as err:
        if not _is_conditional(err):
            raise RetryableError(f"receipt {key}: {err}") from err
    existing = Receipt.get(key, consistent_read=True)
    if existing.state == "done":
        return None
    raise InFlight(f"{key} is being processed by another delivery")


def mark_done(key: str, clock: Callable[[], float] = time.time) -> None:
    now = clock()
    Receipt(key).update(actions=[Receipt.state.set("done"), Receipt.done_at.set(now),
                                 Receipt.expires.set(db.ttl(now + KEEP_DAYS * 86400))])


def release(key: str) -> None:
    """The work failed: the next delivery may claim it again (its attempts are kept)."""
    try:
        Receipt(key).update(actions=[Receipt.state.set("failed")], condition=Receipt.state == "claimed")
    except UpdateError as err:
        if not _is_conditional(err):
            raise


@contextmanager
def attempt(key: str, clock: Callable[[], float] = time.time) -> Iterator[Optional[int]]:
    """`once`, yielding the attempt number (None: already done)."""
    number = claim(key, clock)
    if number is None:
        yield None
        return
    try:
        yield number
    except BaseException:
        release(key)
        raise
    mark_done(key, clock)


@contextmanager
def once(key: str, clock: Callable[[], float] = time.time) -> Iterator[bool]:
    with attempt(key, clock) as number:
        yield number is not None


def remember_value(key: str, value: float, clock: Callable[[], float] = time.time) -> None:
    """Keep the value an integration holds for something (GA4: a call's value)."""
    now = clock()
    Receipt(key).update(actions=[Receipt.state.set("done"), Receipt.value.set(value), Receipt.done_at.set(now),
                                 Receipt.expires.set(db.ttl(now + KEEP_DAYS * 86400))])


def value_of(key: str) -> Optional[float]:
    try:
        item = Receipt.get(key, consistent_read=True)
    except Receipt.DoesNotExist:
        return None
    return float(item.value) if item.value is not None else None


def change_value(key: str, old: float, new: float, clock: Callable[[], float] = time.time) -> bool:
    """Set the held value from `old` to `new`; False if it is not `old` any more."""
    now = clock()
    try:
        Receipt(key).update(actions=[Receipt.value.set(new), Receipt.done_at.set(now),
                                     Receipt.expires.set(db.ttl(now + KEEP_DAYS * 86400))],
                            condition=Receipt.value == old)
        return True
    except UpdateError as err:
        if _is_conditional(err):
            return False
        raise


def content_key(event: Mapping[str, Any]) -> str:
    """What makes two deliveries the same event: its type and its detail, not the id
    EventBridge gave it (a stream batch published again after a retry gets new ones).
    A changed detail (a call reclassified) is a new event."""
    body = json.dumps(event["detail"], sort_keys=True, separators=(",", ":"), default=str)
    return f"{event['detail-type']}#{hashlib.sha256(body.encode()).hexdigest()[:40]}"
