"""Roll-ups in DynamoDB: facts from stream records, day and month cubes, and the reads
reports make (the pure parts are `rollups`).

Writing (the stream consumer, `rebuild`):
1. each session/call item's latest fact is put in `RollupFact` under its account's local
   day; a record older than the fact already stored (a duplicate, a replay, a reordered
   delivery) changes nothing, so the facts equal the raw items once the stream caught up;
2. every day touched is recomputed from its facts (one consistent Query) and written,
   then its month is summed from its days. A generation counter per day and month
   (taken with one UpdateItem *after* the facts are in) makes a writer that read older
   facts lose against one that read newer ones: `gen` conditions on every cube write.

Reading: `read_cells` (a cube's cells over whole months and loose days) and `read_rows`
(the days' wide session rows or call facts).
`READS` counts items and bytes read, as DynamoDB sizes them, for `make bench`.
"""
from __future__ import annotations

import json
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple
from zoneinfo import ZoneInfo

from pynamodb.exceptions import PutError

from chalicelib.db import condition_failed, ttl
from chalicelib.reports import rollups
from chalicelib.reports.filters import zone
from chalicelib.reports.models import Rollup, RollupFact

Clock = Callable[[], float]
CHUNK_BYTES = 300_000          # compressed payload per item (DynamoDB's item limit is 400 KB)
KEEP_DAYS = 800                # roll-ups outlive raw retention (they hold no personal data)
TOMBSTONE = "-"                # the fact of an item removed (or moved to another day)
ALL = "all"                    # every single cube of a day in one item, for summing months
MONTHLY = (*rollups.CUBES, *rollups.COMBOS)
ROWS = (rollups.WIDE, rollups.CALLS)   # payloads of rows ({"sessions": [...]}, {"calls": [...]}), not cells
TOMBSTONE_DAYS = 2             # longer than a stream keeps records (24 h)


@dataclass
class ReadStats:
    items: int = 0
    bytes: int = 0
    requests: int = 0

    def reset(self) -> None:
        self.items = self.bytes = self.requests = 0


READS = ReadStats()


def _pack(payload: Any) -> bytes:
    return zlib.compress(json.dumps(payload, separators=(",", ":"), default=str).encode(), 6)


def _unpack(blob: Optional[bytes]) -> Any:
    return json.loads(zlib.decompress(blob)) if blob else {}


def _item_bytes(item: Rollup) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values."""
    return (len("key") + len(item.key) + len("period") + len(item.period) + len("cells") + len(item.cells or b"")
            + len("gen") + 8)


# --- facts ---------------------------------------------------------------------------


@dataclass
class FactChange:
    """The latest state of one raw item in a batch of stream records."""
    account_id: str
    key: str                                  # "s#<id>" | "c#<id>"
    seq: int
    day: Optional[str]                        # where the fact lives now (None: removed/not counted)
    fact: Optional[Dict[str, Any]]
    old_day: Optional[str] = None             # where an older image counted it


def part(account_id: str, day: str) -> str:
    return f"{account_id}#{day}"


def apply(changes: Iterable[FactChange], clock: Clock = time.time) -> Set[Tuple[str, str]]:
    """Store the facts that are newer than what is stored; recompute the days they touch.
    Returns the (account, day) pairs recomputed."""
    latest: Dict[Tuple[str, str], FactChange] = {}
    for change in changes:
        have = latest.get((change.account_id, change.key))
        if have is None or change.seq > have.seq:
            latest[(change.account_id, change.key)] = change
    if not latest:
        return set()
    stored = _stored_seqs(latest.values())
    touched: Set[Tuple[str, str]] = set()
    now = clock()
    with RollupFact.batch_write() as batch:
        for change in latest.values():
            places = {d for d in (change.day, change.old_day) if d}
            if any(stored.get((part(change.account_id, d), change.key), -1) >= change.seq for d in places):
                continue                       # a duplicate or an older record: already counted
            for day in places - ({change.day} if change.fact else set()):
                # A tombstone, not a delete: an older record replayed later must not bring it back.
                batch.save(RollupFact(part(change.account_id, day), change.key, seq=change.seq, fact=TOMBSTONE,
                                      expires=ttl(now + TOMBSTONE_DAYS * 86400)))
                touched.add((change.account_id, day))
            if change.fact and change.day:
                batch.save(RollupFact(part(change.account_id, change.day), change.key, seq=change.seq,
                                      fact=json.dumps(change.fact, separators=(",", ":"), default=str),
                                      expires=ttl(now + KEEP_DAYS * 86400)))
                touched.add((change.account_id, change.day))
    recompute(touched, clock)
    return touched


def _stored_seqs(changes: Iterable[FactChange]) -> Dict[Tuple[str, str], int]:
    keys = {(part(c.account_id, d), c.key) for c in changes for d in (c.day, c.old_day) if d}
    found: Dict[Tuple[str, str], int] = {}
    for item in RollupFact.batch_get(list(keys), attributes_to_get=["part", "key", "seq"]):
        found[(item.part, item.key)] = int(item.seq or 0)
    return found


def day_facts(account_id: str, day: str) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    sessions, calls = [], []
    for item in RollupFact.query(part(account_id, day), consistent_read=True):
        if item.fact == TOMBSTONE:
            continue
        (sessions if item.key.startswith("s#") else calls).append(json.loads(item.fact))
    return sessions, calls


# --- cubes ---------------------------------------------------------------------------


def _next_gen(account_id: str, period: str) -> int:
    item = Rollup(f"{account_id}#gen", period)
    item.update(actions=[Rollup.gen.add(1)])
    return int(item.gen)


def _chunks(payload: Any, rows: bool = False) -> List[Any]:
    """A payload split so each packed part stays under CHUNK_BYTES: cells by key, `rows`
    payloads ({name: [row, …]}) by row."""
    size = len(_pack(payload))
    parts = max(1, -(-size // CHUNK_BYTES))
    if parts == 1:
        return [payload]
    if rows:
        return [{name: lines[i::parts] for name, lines in payload.items()} for i in range(parts)]
    keys = sorted(payload)
    return [{k: payload[k] for k in keys[i::parts]} for i in range(parts)]


def _write(account_id: str, period: str, payloads: Mapping[str, Any], gen: int, expires: Any) -> bool:
    """Put every cube of one period at `gen` (one conditional put each: cheaper than a
    transaction, which DynamoDB bills twice); stops with False when a writer with a newer
    generation was first, since that writer writes every cube after us."""
    newer_first = Rollup.gen.does_not_exist() | (Rollup.gen < gen)
    for cube, payload in payloads.items():
        for i, chunk in enumerate(_chunks(payload, cube in ROWS)):
            item = Rollup(f"{account_id}#{cube}", period if i == 0 else f"{period}#{i}", cells=_pack(chunk),
                          gen=gen, expires=expires)
            try:
                item.save(condition=newer_first)
            except PutError as err:
                if condition_failed(err):
                    return False
                raise
    return True


def recompute(touched: Iterable[Tuple[str, str]], clock: Clock = time.time) -> None:
    """Recompute each (account, day), then each month those days are in."""
    months: Set[Tuple[str, str]] = set()
    for account_id, day in sorted(set(touched)):
        recompute_day(account_id, day, tz_of(account_id), clock)
        months.add((account_id, day[:7]))
    for account_id, month in sorted(months):
        recompute_month(account_id, month, clock)


def recompute_day(account_id: str, day: str, tz: ZoneInfo, clock: Clock = time.time) -> None:
    gen = _next_gen(account_id, f"D{day}")
    sessions, calls = day_facts(account_id, day)
    _store(account_id, day, sessions, calls, tz, gen, clock)


def store_cubes(account_id: str, day: str, sessions: Sequence[Dict[str, Any]], calls: Sequence[Dict[str, Any]],
                tz: ZoneInfo, clock: Clock = time.time) -> None:
    """Write one day's cubes from facts held in memory (no facts stored): the benchmark's
    way to seed 13 months at 10,000 visits a day. Its month is not summed here."""
    _store(account_id, day, [{k: v for k, v in f.items() if k != "_id"} for f in sessions],
           [{k: v for k, v in f.items() if k != "_id"} for f in calls], tz, _next_gen(account_id, f"D{day}"), clock)


def _store(account_id: str, day: str, sessions: Sequence[Dict[str, Any]], calls: Sequence[Dict[str, Any]],
           tz: ZoneInfo, gen: int, clock: Clock) -> None:
    cubes = rollups.day_cubes(sessions, calls, tz)
    cubes[ALL] = {cube: cubes[cube] for cube in MONTHLY}   # what the month sums, in one read
    _write(account_id, f"D{day}", cubes, gen, ttl(clock() + KEEP_DAYS * 86400))


def recompute_month(account_id: str, month: str, clock: Clock = time.time) -> None:
    gen = _next_gen(account_id, f"M{month}")
    first = date.fromisoformat(f"{month}-01")
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    totals: Dict[str, rollups.Cells] = {cube: {} for cube in MONTHLY}
    for items in _query(account_id, ALL, f"D{first.isoformat()}", f"D{last.isoformat()}", count=False).values():
        for chunk in _merge_chunks(items):
            for cube, cells in chunk.items():
                rollups.add_cells(totals[cube], cells)
    _write(account_id, f"M{month}", totals, gen, ttl(clock() + KEEP_DAYS * 86400))


# --- reads ---------------------------------------------------------------------------


def _query(account_id: str, cube: str, low: str, high: str, count: bool = True) -> Dict[str, List[Rollup]]:
    """Items of a cube with period in [low, high] (chunks included), by period."""
    found: Dict[str, List[Rollup]] = defaultdict(list)
    result = Rollup.query(f"{account_id}#{cube}", Rollup.period.between(low, high + "#~"), consistent_read=True)
    for item in result:
        found[item.period.split("#", 1)[0]].append(item)
        if count:
            READS.items += 1
            READS.bytes += _item_bytes(item)
    if count:
        READS.requests += 1
    return found


def _merge_chunks(items: Sequence[Rollup]) -> List[Any]:
    newest = max(int(i.gen or 0) for i in items)
    return [_unpack(i.cells) for i in items if int(i.gen or 0) == newest]


def _read_days(account_id: str, cube: str, first: str, last: str, count: bool = True) -> Dict[str, rollups.Cells]:
    out: Dict[str, rollups.Cells] = {}
    for period, items in _query(account_id, cube, f"D{first}", f"D{last}", count).items():
        cells: rollups.Cells = {}
        for chunk in _merge_chunks(items):
            rollups.add_cells(cells, chunk)
        out[period] = cells
    return out


def _runs(days: Sequence[str]) -> List[Tuple[str, str]]:
    """Consecutive days as (first, last) runs: one Query each."""
    runs: List[Tuple[str, str]] = []
    for d in days:
        if runs and date.fromisoformat(runs[-1][1]) + timedelta(days=1) == date.fromisoformat(d):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def read_cells(account_id: str, cube: str, span: rollups.Span) -> Dict[str, rollups.Cells]:
    """{period: cells} of one single cube over a span (month items for whole months)."""
    out: Dict[str, rollups.Cells] = {}
    for first, last in _runs(span.days):
        out.update(_read_days(account_id, cube, first, last))
    if span.months:
        for period, items in _query(account_id, cube, f"M{span.months[0]}", f"M{span.months[-1]}").items():
            cells: rollups.Cells = {}
            for chunk in _merge_chunks(items):
                rollups.add_cells(cells, chunk)
            out[period] = cells
    return out


def read_rows(account_id: str, cube: str, days: Sequence[str]) -> List[Dict[str, Any]]:
    """The days' payloads of a ROWS cube (wide session rows or call facts)."""
    payloads: List[Dict[str, Any]] = []
    for first, last in _runs(days):
        for items in _query(account_id, cube, f"D{first}", f"D{last}").values():
            payloads.extend(_merge_chunks(items))
    return payloads


def tz_of(account_id: str) -> ZoneInfo:
    from chalicelib.accounts import get_account
    from chalicelib.errors import UnknownAccount

    try:
        return zone(get_account(account_id).settings.timezone)
    except UnknownAccount:
        return zone("UTC")


def write_day(account_id: str, day: str, sessions: Sequence[Dict[str, Any]], calls: Sequence[Dict[str, Any]],
              tz: ZoneInfo, clock: Clock = time.time) -> None:
    """Replace one day's facts with these (rebuild), then recompute that day."""
    now = clock()
    with RollupFact.batch_write() as batch:
        for item in RollupFact.query(part(account_id, day), attributes_to_get=["part", "key"]):
            batch.delete(item)
    with RollupFact.batch_write() as batch:
        for kind, facts in (("s", sessions), ("c", calls)):
            for fact in facts:
                batch.save(RollupFact(part(account_id, day), f"{kind}#{fact.pop('_id')}", seq=0,
                                      fact=json.dumps(fact, separators=(",", ":"), default=str),
                                      expires=ttl(now + KEEP_DAYS * 86400)))
    recompute_day(account_id, day, tz, clock)


def _raw_day(account_id: str, since: float, until: float) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """One day's raw sessions and calls as facts (each with `_id`): what rebuild counts."""
    from chalicelib.calls.store import query_calls
    from chalicelib.dni.models import Session

    sessions = []
    for item in Session.account_index.query(account_id, Session.started_at.between(since, until - 0.000001)):
        fact = rollups.session_fact(rollups.session_view(item))
        if fact is not None:
            sessions.append({**fact, "_id": item.session_id})
    calls = []
    for call in query_calls(account_id, since, until - 0.000001, repair=True):
        fact = rollups.call_fact(call)
        if fact is not None:
            calls.append({**fact, "_id": call["call_id"]})
    return sessions, calls


def rebuild(account_id: str, first: date, last: date, clock: Clock = time.time,
            progress: Optional[Callable[[str, int, int], None]] = None) -> Dict[str, int]:
    """Recompute the roll-ups of [first, last] (local days) from the raw items: for existing
    installs, after a bug, after a timezone change. It also fills the settled calls'
    `agent_key` (the index an agent's call list reads) where a call stored before it lacks it. Days whose raw items expired are emptied
    (run it only over the raw retention). `progress(day, sessions, calls)` after each day."""
    from datetime import datetime, time as dtime

    tz = tz_of(account_id)
    totals = {"days": 0, "sessions": 0, "calls": 0}
    months: Set[str] = set()
    day = first
    while day <= last:
        since = datetime.combine(day, dtime(0), tzinfo=tz).timestamp()
        until = datetime.combine(day + timedelta(days=1), dtime(0), tzinfo=tz).timestamp()
        sessions, calls = _raw_day(account_id, since, until)
        write_day(account_id, day.isoformat(), sessions, calls, tz, clock)
        totals["days"] += 1
        totals["sessions"] += len(sessions)
        totals["calls"] += len(calls)
        months.add(day.isoformat()[:7])
        if progress:
            progress(day.isoformat(), len(sessions), len(calls))
        day += timedelta(days=1)
    for month in sorted(months):
        recompute_month(account_id, month, clock)
    return totals

