"""Leases in DynamoDB: claim, resume, heartbeat — each one conditional write.

The current lease lives on the Number item (holder, leased_at, last_seen,
lease_until); claiming a number is a transaction that (1) updates the number only
if it is still exactly as we read it (lease_count and lease_until unchanged), (2)
archives the previous holder's lease to the history table (from what the pool index
holds: times, holder, page count; its attribution stays on its Session item), (3) creates the session,
and (4) optionally counts the lease against the client IP's hourly limit.
Requests: one Query of the pool + one TransactWriteItems per lease; one UpdateItem
per heartbeat or resume; at most one UpdateItem after a call is attributed (`note_call`:
the holder called, the caller remembered).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from chalicelib.db import CANCELLED_BY_CONDITION, condition_failed, ttl
from chalicelib.dni.models import Counter, Lease, Number, Session
from chalicelib.dni.pool import PoolNumber
from chalicelib.errors import CalltrackError, LeaseConflict, LeaseGone, TooManyRequests

MAX_PAGES = 50


def page_entry(at: float, url: str) -> str:
    """A page the holder saw, as kept on the number: `<epoch seconds>|<url>` (a call's
    journey shows the pages with their times: calls/story.py)."""
    return f"{int(at)}|{url}"


class RateLimited(TooManyRequests):
    """Too many new sessions from one address."""


class LeaseUnanswered(CalltrackError):
    """The lease transaction got no answer (a timeout, a dropped connection): it may or may
    not have been written. The visitor gets the default number; a number it did take is
    held by a session nobody shows until its lease runs out."""
    status = 503
    code = "unavailable"


@lru_cache(maxsize=1)
def connection() -> Connection:
    """The transaction's connection, with the models' timeouts and retries (db.meta): the
    lease must fail fast rather than outlast the snippet's wait."""
    m = Number.Meta
    return Connection(region=m.region, host=m.host, connect_timeout_seconds=m.connect_timeout_seconds,
                      read_timeout_seconds=m.read_timeout_seconds, max_retry_attempts=m.max_retry_attempts)


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
        account_id=observed.account_id, pages_seen=observed.page_count,
        ga_session_id=observed.ga_session_id, expires=history_expires,
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
                Number.pages.set([page_entry(c.now, c.session.landing_page or "")]), Number.page_count.set(1), Number.snap.set(c.snap),
                Number.lease_count.add(1),
                Number.ga_session_id.set(c.session.ga_session_id) if c.session.ga_session_id
                else Number.ga_session_id.remove(),
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
        failed = {self.kinds[i] for i, r in enumerate(reasons) if r is not None and r.code == CANCELLED_BY_CONDITION
                  and i < len(self.kinds)}
        if "rate" in failed and "number" not in failed:
            raise RateLimited("too many new sessions from this address") from exc
        # (pynamodb's cause_response_code fails on a cause without a response: a timeout)
        response = getattr(exc.cause, "response", None) or {}
        code = (response.get("Error") or {}).get("Code")
        if failed or code in ("TransactionCanceledException", "TransactionConflictException"):
            raise LeaseConflict("the number was taken by another session") from exc
        if not response:
            raise LeaseUnanswered("DynamoDB did not answer the lease") from exc
        return False


def extend(number: str, session_id: str, now: float, lease_until: float,
           url: Optional[str] = None, require_live: bool = True, ga_session_id: Optional[str] = None) -> Number:
    """Heartbeat (require_live) or resume (the holder returns, even after expiry, if
    nobody took the number since): one conditional UpdateItem. Raises LeaseGone.
    `ga_session_id`: the page's current GA4 session, kept on the number for its calls."""
    item = Number(number)
    held = Number.holder == session_id
    if require_live:
        held = held & (Number.lease_until > now)
    else:                     # a resume is a new hold: not of a number the operator disabled
        held = held & (Number.enabled == True)  # noqa: E712 (a PynamoDB condition, not a comparison)
    actions = [Number.last_seen.set(now), Number.lease_until.set(lease_until)]
    if ga_session_id:
        actions.append(Number.ga_session_id.set(ga_session_id))
    if url:
        roomy = Number.pages.does_not_exist() | (size(Number.pages) < MAX_PAGES)
        try:
            # (a lease taken before page_count existed had its landing page: counted as 1)
            item.update(actions=actions + [Number.pages.set(Number.pages.append([page_entry(now, url)])),
                                           Number.page_count.set((Number.page_count | 1) + 1)],
                        condition=held & roomy)
            return item
        except UpdateError as err:
            if not condition_failed(err):
                raise
        # Either the lease is gone or the page list is full: try once without the page.
    try:
        item.update(actions=actions, condition=held)
    except UpdateError as err:
        if condition_failed(err):
            raise LeaseGone("the lease of this session has ended; start a new session") from err
        raise
    return item


@dataclass(frozen=True)
class Remembered:
    """A caller's earlier call to a number: the session it was attributed to ("" when it
    matched nobody: the repeat goes to nobody as well)."""
    session_id: str
    at: float
    confidence: float


def _callers(item: Number) -> Dict[str, str]:
    raw = item.callers
    return dict(raw.as_dict() if hasattr(raw, "as_dict") else (raw or {}))


def _parse(value: str) -> Optional[Remembered]:
    try:
        sid, at, confidence = value.rsplit("|", 2)
        return Remembered(sid, float(at), float(confidence))
    except (AttributeError, ValueError):
        return None


def remembered(item: Number, caller_hash: Optional[str], at: float, seconds: float) -> Optional[Remembered]:
    """Pure: the session this caller's earlier call to `item` went to, if within `seconds`."""
    if not caller_hash or seconds <= 0:
        return None
    found = _parse(_callers(item).get(caller_hash, ""))
    return found if found and -1.0 <= at - found.at <= seconds else None     # -1: the stored time is rounded


def note_call(item: Number, session_id: str, at: float, confidence: float,
              caller_hash: Optional[str] = None, remember_seconds: float = 0.0, retry: bool = True) -> bool:
    """After a call to pool number `item` (as read) was attributed to `session_id`: at most
    one UpdateItem, none when there is nothing new to note.

    - Marks the number called when that session is its current holder (conditional on it
      still holding the number): `pool.candidates` hands such a number on first once the
      lease ends, since that visitor has nobody left to phone.
    - Remembers the caller (by hash) on the number for `remember_seconds`, so their later
      calls to it go to the same session even after it changed hands
      (`calls.attribution`); remembered callers older than that are dropped.
    False when nothing was written. When the number changed since it was read (another
    holder, another caller remembered first) it is read again and the note retried once."""
    mark = session_id == item.holder and item.called_by != item.holder
    known = _callers(item)
    remember = bool(caller_hash and remember_seconds > 0 and not remembered(item, caller_hash, at, remember_seconds))
    if not (mark or remember):
        return False
    actions: List[Any] = []
    condition = None
    if mark:
        actions.append(Number.called_by.set(session_id))
        condition = Number.holder == session_id
    if remember:
        value = f"{session_id}|{at:.3f}|{confidence:.4f}"
        if item.callers is None:
            actions.append(Number.callers.set({caller_hash: value}))
            fresh = Number.callers.does_not_exist()
            condition = fresh if condition is None else condition & fresh
        else:
            actions.append(Number.callers[caller_hash].set(value))
            stale = [h for h, v in known.items() if h != caller_hash
                     and not ((r := _parse(v)) and at - r.at <= remember_seconds)]
            actions += [Number.callers[h].remove() for h in stale]
    try:
        Number(item.number).update(actions=actions, condition=condition)
        return True
    except UpdateError as err:
        if not condition_failed(err):
            raise
        if not retry:
            return False
        return note_call(Number.get(item.number), session_id, at, confidence, caller_hash, remember_seconds,
                         retry=False)
