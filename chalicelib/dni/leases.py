"""Leases in DynamoDB: claim, resume, heartbeat — each one conditional write.

The current lease lives on the Number item (holder, leased_at, last_seen,
lease_until); claiming a number is a transaction that (1) updates the number only
if it is still exactly as we read it (lease_count and lease_until unchanged), (2)
archives the previous holder's lease to the history table, (3) creates the session,
and (4) optionally counts the lease against the client IP's hourly limit.
Requests: one Query of the pool + one TransactWriteItems per lease; one UpdateItem
per heartbeat or resume; one UpdateItem when a call is attributed to the current
holder (`mark_called`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import List, Optional, Sequence

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from chalicelib import config
from chalicelib.db import ttl
from chalicelib.dni.models import Counter, Lease, Number, Session
from chalicelib.dni.pool import PoolNumber
from chalicelib.errors import CalltrackError, LeaseConflict, LeaseGone

MAX_PAGES = 50
CONDITION_FAILED = "ConditionalCheckFailed"


class RateLimited(CalltrackError):
    status = 429
    code = "rate_limited"


@lru_cache(maxsize=1)
def connection() -> Connection:
    return Connection(region=config.region(), host=config.aws_endpoint())


def pool_key(account_id: str, pool_id: str) -> str:
    return f"{account_id}#{pool_id}"


def read_pool(account_id: str, pool_id: str) -> List[Number]:
    """Every number of the pool with its lease state (one Query)."""
    return list(Number.pool_index.query(pool_key(account_id, pool_id)))


def as_pool_number(item: Number) -> PoolNumber:
    return PoolNumber(item.number, item.holder, float(item.leased_at or 0),
                      float(item.lease_until or 0), bool(item.enabled),
                      called=bool(item.holder) and item.called_by == item.holder)


@dataclass(frozen=True)
class Claim:
    """A lease to take: the number as read, the new session, and its window."""
    observed: Number
    session: Session
    now: float
    lease_until: float
    snap: dict
    history_expires: datetime
    rate_key: Optional[str] = None
    rate_limit: int = 0


def _archive(observed: Number, history_expires: datetime) -> Lease:
    return Lease(
        observed.number, float(observed.leased_at), until=float(observed.lease_until),
        last_seen=float(observed.last_seen or observed.leased_at), session_id=observed.holder,
        account_id=observed.account_id, pages=observed.pages, snap=observed.snap,
        expires=history_expires,
    )


def claim(c: Claim) -> None:
    """Take the number for the new session, or raise LeaseConflict / RateLimited."""
    n = c.observed
    unchanged = (Number.lease_count == (n.lease_count or 0)) & (Number.lease_until == (n.lease_until or 0))
    kinds: List[str] = []
    with _translated(kinds):
        with TransactWrite(connection=connection()) as tx:
            tx.update(Number(n.number), condition=unchanged, actions=[
                Number.holder.set(c.session.session_id), Number.leased_at.set(c.now),
                Number.last_seen.set(c.now), Number.lease_until.set(c.lease_until),
                Number.pages.set([c.session.landing_page or ""]), Number.snap.set(c.snap),
                Number.lease_count.add(1),
            ])
            kinds.append("number")
            if n.holder:
                tx.save(_archive(n, c.history_expires))
                kinds.append("history")
            tx.save(c.session, condition=Session.session_id.does_not_exist())
            kinds.append("session")
            if c.rate_key:
                tx.update(Counter(c.rate_key), condition=Counter.n.does_not_exist() | (Counter.n < c.rate_limit),
                          actions=[Counter.n.add(1), Counter.expires.set(ttl(c.now + 7200))])
                kinds.append("rate")


class _translated:
    """Map a cancelled transaction to the domain error of the item that failed."""

    def __init__(self, kinds: Sequence[str]) -> None:
        self.kinds = kinds

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not isinstance(exc, TransactWriteError):
            return False
        reasons = exc.cancellation_reasons or []
        failed = {self.kinds[i] for i, r in enumerate(reasons) if r is not None and r.code == CONDITION_FAILED
                  and i < len(self.kinds)}
        if "rate" in failed and "number" not in failed:
            raise RateLimited("too many new sessions from this address") from exc
        if failed or exc.cause_response_code in ("TransactionCanceledException", "TransactionConflictException"):
            raise LeaseConflict("the number was taken by another session") from exc
        return False


def extend(number: str, session_id: str, now: float, lease_until: float,
           url: Optional[str] = None, require_live: bool = True) -> Number:
    """Heartbeat (require_live) or resume (the holder returns, even after expiry, if
    nobody took the number since): one conditional UpdateItem. Raises LeaseGone."""
    item = Number(number)
    held = Number.holder == session_id
    if require_live:
        held = held & (Number.lease_until > now)
    actions = [Number.last_seen.set(now), Number.lease_until.set(lease_until)]
    if url:
        roomy = Number.pages.does_not_exist() | (size(Number.pages) < MAX_PAGES)
        try:
            item.update(actions=actions + [Number.pages.set(Number.pages.append([url]))], condition=held & roomy)
            return item
        except UpdateError as err:
            if err.cause_response_code != "ConditionalCheckFailedException":
                raise
        # Either the lease is gone or the page list is full: try once without the page.
    try:
        item.update(actions=actions, condition=held)
    except UpdateError as err:
        if err.cause_response_code == "ConditionalCheckFailedException":
            raise LeaseGone("the lease of this session has ended; start a new session") from err
        raise
    return item


def mark_called(number: str, session_id: str) -> bool:
    """Note on the number that its current holder has called (one conditional UpdateItem,
    only while `session_id` still holds it). `pool.candidates` then hands the number on
    first once the lease ends: its visitor has nobody left to phone about. Idempotent;
    False when the number changed hands meanwhile."""
    try:
        Number(number).update(actions=[Number.called_by.set(session_id)], condition=Number.holder == session_id)
        return True
    except UpdateError as err:
        if err.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
