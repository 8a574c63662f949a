"""Offline conversions recorded for bid management: the table and its reads.

One item per (account, platform, call, conversion action). The bidding consumer upserts them
from `Call Completed` / `Call Tagged`; the export endpoint reads them by call start time
(Google Ads / Microsoft Ads CSV templates) and the bid-tool feed by `recorded_at`, which moves
forward whenever an item is created or its value changes, so a poller with a cursor sees
every new or revised conversion exactly once per revision.

No caller number is stored here: call conversions read it from `calls.store` at export time,
so the calls table's retention governs it.
"""
from __future__ import annotations

import base64
import json
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import db
from chalicelib.db import meta, register
from chalicelib.errors import BadRequest

Clock = Callable[[], float]
# Fields whose change makes a new revision (what a bid tool or an upload would send).
REVISED_BY = ("conversion_name", "kind", "click_id", "conversion_at", "value", "currency")


class FeedIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "recorded-index"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    recorded_at = NumberAttribute(range_key=True)


class CallTimeIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "call-started-index"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    call_started_at = NumberAttribute(range_key=True)


@register
class Conversion(Model):
    Meta = meta("conversions")
    account_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)               # "<platform>#<call_id>#<action slug>"
    platform = UnicodeAttribute()                        # google_ads | microsoft_ads
    kind = UnicodeAttribute()                            # click | call
    conversion_name = UnicodeAttribute()
    call_id = UnicodeAttribute()
    click_id = UnicodeAttribute(null=True)               # gclid / msclkid for click conversions
    call_started_at = NumberAttribute()                  # epoch seconds
    conversion_at = NumberAttribute()                    # epoch seconds (the call's end)
    value = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    attribution = JSONAttribute(default=dict)            # source, medium, campaign, keyword, classes…
    recorded_at = NumberAttribute()                      # last create/revision, epoch seconds (µs)
    revision = NumberAttribute(default=1)
    expires = TTLAttribute(null=True)
    feed_index = FeedIndex()
    call_time_index = CallTimeIndex()


def as_dict(item: Conversion) -> Dict[str, Any]:
    return {
        "account_id": item.account_id, "key": item.key, "platform": item.platform, "kind": item.kind,
        "conversion_name": item.conversion_name, "call_id": item.call_id, "click_id": item.click_id,
        "call_started_at": float(item.call_started_at), "conversion_at": float(item.conversion_at),
        "value": None if item.value is None else float(item.value), "currency": item.currency,
        "attribution": dict(item.attribution or {}), "recorded_at": float(item.recorded_at),
        "revision": int(item.revision),
    }


def upsert(row: Dict[str, Any], retention_days: int, clock: Clock = time.time) -> str:
    """Store one conversion; returns 'created', 'revised' or 'unchanged' (a redelivered
    event changes nothing, so the feed does not repeat it)."""
    now = clock()
    try:
        current: Optional[Conversion] = Conversion.get(row["account_id"], row["key"], consistent_read=True)
    except DoesNotExist:
        current = None
    if current is not None and all(_same(getattr(current, f), row.get(f)) for f in REVISED_BY):
        return "unchanged"
    item = Conversion(row["account_id"], row["key"], **{k: v for k, v in row.items() if k not in ("account_id", "key")})
    item.recorded_at = max(now, float(current.recorded_at) + 1e-6) if current else now
    item.revision = int(current.revision) + 1 if current else 1
    item.expires = db.ttl(now + retention_days * 86400)
    item.save()
    return "revised" if current else "created"


def forget_call(account_id: str, call_id: str, platform: str) -> int:
    """Delete the call's conversions for one platform (keys `<platform>#<call_id>#…`); how many."""
    gone = 0
    for item in Conversion.query(account_id, Conversion.key.startswith(f"{platform}#{call_id}#"),
                                 consistent_read=True):
        item.delete()
        gone += 1
    return gone


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9
    return a == b


def by_call_time(account_id: str, since: float, until: float, platform: Optional[str] = None) -> Iterator[Dict[str, Any]]:
    """Conversions of calls started in [since, until], oldest first."""
    condition = Conversion.platform == platform if platform else None
    for item in Conversion.call_time_index.query(account_id, Conversion.call_started_at.between(since, until),
                                                 filter_condition=condition):
        yield as_dict(item)


def encode_cursor(recorded_at: float, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([recorded_at, key]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Tuple[float, str]:
    try:
        recorded_at, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(recorded_at), str(key)
    except (ValueError, TypeError) as err:
        raise BadRequest("cursor is not one this feed handed out") from err


SETTLE_SECONDS = 10.0


def feed(account_id: str, after: Optional[str], limit: int, platform: Optional[str] = None,
         since: float = 0.0, clock: Clock = time.time) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """Conversions created or revised after the cursor, oldest first; and the next cursor
    (always returned when there were items, so the poller can continue from there).

    The index is read eventually consistent, so the feed stops SETTLE_SECONDS before now:
    a write not yet visible can never fall behind a cursor that already moved past it."""
    start, seen_key = decode_cursor(after) if after else (since, "")
    condition = Conversion.platform == platform if platform else None
    items: List[Dict[str, Any]] = []
    settled = clock() - SETTLE_SECONDS
    if settled < start:
        return items, after
    for item in Conversion.feed_index.query(account_id, Conversion.recorded_at.between(start, settled),
                                            filter_condition=condition):
        if after and float(item.recorded_at) == start and item.key <= seen_key:
            continue
        items.append(as_dict(item))
        if len(items) >= limit:
            break
    cursor = encode_cursor(items[-1]["recorded_at"], items[-1]["key"]) if items else after
    return items, cursor
