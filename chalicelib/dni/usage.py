"""Pool usage the operators watch: how often a pool ran out, per day.

Written on the lease path only when a pool is exhausted (never in the common case), read
by the pool-health report and the sizing advisor.
"""
from __future__ import annotations

from datetime import datetime, timezone

from pynamodb.exceptions import PynamoDBException

from chalicelib.db import ttl
from chalicelib.dni.models import Counter
from chalicelib.observability import count, logger

KEEP_DAYS = 400


def exhaustion_key(account_id: str, pool_id: str, day: str) -> str:
    return f"exhausted#{account_id}#{pool_id}#{day}"


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).date().isoformat()


def record_exhaustion(account_id: str, pool_id: str, now: float, keep_days: int = KEEP_DAYS) -> None:
    """Count one visitor refused a pool number. A failed count is logged, never raised:
    the visitor's answer matters more."""
    try:
        Counter(exhaustion_key(account_id, pool_id, day_of(now))).update(
            actions=[Counter.n.add(1), Counter.expires.set(ttl(now + keep_days * 86400))])
    except PynamoDBException as err:
        logger.warning("pool exhaustion not counted", extra={"account": account_id, "pool": pool_id,
                                                             "error": str(err)})
        count("ExhaustionCountFailed")


def exhaustions(account_id: str, pool_id: str, since: float, until: float) -> int:
    days = {day_of(t) for t in range(int(since), int(until) + 1, 86400)} | {day_of(until)}
    keys = [exhaustion_key(account_id, pool_id, d) for d in sorted(days)]
    return int(sum(c.n or 0 for c in Counter.batch_get(keys)))
