"""Report roll-up tables (see docs/reports.md, "Roll-ups").

`RollupFact` is the compact copy of every session and call as reports count it, one
partition per account and local day, written by the stream consumer (the latest stream
record of each item wins). `Rollup` holds what reports read: per account, cube and period
(day or month) the aggregated cells, compressed; and the generation counters that keep
concurrent recomputations of the same day from writing an older answer over a newer one.
"""
from __future__ import annotations

from pynamodb.attributes import BinaryAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.db import meta, register


@register
class RollupFact(Model):
    """One session or call as reports see it (`fact`: compact JSON)."""
    Meta = meta("rollup-facts")
    part = UnicodeAttribute(hash_key=True)        # "<account>#<YYYY-MM-DD>" (account's timezone)
    key = UnicodeAttribute(range_key=True)        # "s#<session_id>" | "c#<call_id>"
    seq = NumberAttribute(default=0)              # stream sequence number applied (0: rebuilt)
    fact = UnicodeAttribute()
    expires = TTLAttribute(null=True)


@register
class Rollup(Model):
    """One cube of one period: `cells` is zlib-compressed JSON; `gen` orders writers."""
    Meta = meta("rollups")
    key = UnicodeAttribute(hash_key=True)         # "<account>#<cube>" or "<account>#gen"
    period = UnicodeAttribute(range_key=True)     # "D2026-11-05", "M2026-11" (+ "#<chunk>" for big cubes)
    cells = BinaryAttribute(null=True, legacy_encoding=False)
    gen = NumberAttribute(default=0)
    expires = TTLAttribute(null=True)
