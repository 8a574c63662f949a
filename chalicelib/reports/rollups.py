"""Roll-ups: what reports read instead of raw sessions (pure; the I/O is `rollup_store`).

Every session and call is reduced to a *fact*: the keys reports group and filter by,
nothing personal (no caller, no IP). A day's facts make that day's *cubes*:

- one cube per report dimension (`CUBES`: every attribution field, status, tag, agent,
  direction, department, hour of day) and `total`: cells keyed by the dimension's value,
  each cell a `Bucket.vector()` (sessions, calls, answered, missed, the five classes,
  wait/talk sums in ms and their counts, value in millionths, converted sessions);
- `wide`: the day's sessions counted by every attribution field at once (plus the quarter
  hour they started in) and the day's call facts, for reports the single cubes cannot
  answer (attribution filters, call filters, a series over a non-time grouping).

Months hold the sum of their days' single cubes, so a 13-month report reads 13 small
items per cube plus the days at its edges. Layout and limits: docs/reports.md.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from chalicelib.reports.aggregate import (
    CALL_GROUPS, NONE, SESSION_GROUPS, Bucket, aggregate, finish, keys_of, local_day,
)
from chalicelib.reports.filters import SOURCE_FIELDS, Filters, epoch, normalise, page_of

SESSION_DIMS = tuple(SOURCE_FIELDS)
CUBES = ("total", *SESSION_DIMS, *CALL_GROUPS, "hour")
# Attribution fields a report is most often filtered by: for each, a "pair" cube holds every
# grouping's cells split by that field's value, so one such filter needs no wide read.
PAIR_FILTERS = ("source", "medium", "campaign", "device", "country", "method")
SEP = "\x1f"
WIDE = "wide"
QUARTER_SECONDS = 900
CALL_FACT_KEYS = ("direction", "status", "within_working_hours", "wait_seconds", "talk_seconds", "value",
                  "session_id", "agent", "department", *SESSION_DIMS)
EVERYTHING = Filters(since=float("-inf"), until=float("inf"))

Fact = Dict[str, Any]
Cells = Dict[str, List[int]]


def session_view(item: Any) -> Dict[str, Any]:
    """A stored session (the DNI `Session` model) keyed as reports key it."""
    view = {k: getattr(item, k, None) for k in (*SESSION_DIMS, "started_at", "bot") if k != "tracking_number"}
    view["tracking_number"] = item.number
    return view


def session_fact(session: Mapping[str, Any]) -> Optional[Fact]:
    """A session (report keys: `tracking_number` for its number) as reports count it; None
    for what reports leave out (bots, sessions without a start)."""
    started = epoch(session.get("started_at"))
    if session.get("bot") or started is None:
        return None
    return _fact(started, session, SESSION_DIMS)


def _fact(started: float, item: Mapping[str, Any], keys: Sequence[str]) -> Fact:
    """The start and every given key the item has (landing pages without their query)."""
    fact: Fact = {"started_at": started}
    for key in keys:
        value = item.get(key)
        if value not in (None, ""):
            fact[key] = page_of(value) if key == "landing_page" else value
    return fact


def call_fact(call: Mapping[str, Any]) -> Optional[Fact]:
    """A call (`calls.store` API representation) as reports count it; None before it has a start."""
    started = epoch(call.get("started_at"))
    if started is None:
        return None
    fact = _fact(started, call, CALL_FACT_KEYS)
    classes = sorted(k for k, v in (call.get("classification") or {}).items() if v)
    if classes:
        fact["classification"] = dict.fromkeys(classes, True)
    tags = [{"category": t.get("category"), "value": t.get("value")} for t in call.get("tags") or []
            if t.get("category")]
    if tags:
        fact["tags"] = tags
    return fact


def day_of(ts: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).date().isoformat()


def day_cubes(sessions: Sequence[Fact], calls: Sequence[Fact], tz: ZoneInfo) -> Dict[str, Any]:
    """Every cube of one day's facts: {cube: cells} for `CUBES`, and WIDE."""
    cubes: Dict[str, Any] = {}
    for cube in CUBES:
        buckets: Dict[str, Bucket] = defaultdict(Bucket)
        for call in calls:
            day = local_day(call["started_at"], tz)
            for key in ([""] if cube == "total" else keys_of(call, cube, tz)):
                buckets[key].add_call(call, day)
        if cube == "total" or cube in SESSION_GROUPS:
            for session in sessions:
                for key in ([""] if cube == "total" else keys_of(session, cube, tz)):
                    buckets[key].sessions += 1
        cubes[cube] = {key: b.vector() for key, b in buckets.items()}
    for field in PAIR_FILTERS:
        cubes[pair_cube(field)] = _pair_cells(field, sessions, calls, tz)
    joint: Counter = Counter(
        (*(s.get(d) for d in SESSION_DIMS), int(s["started_at"] // QUARTER_SECONDS * QUARTER_SECONDS))
        for s in sessions)
    cubes[WIDE] = {"sessions": [[*key, n] for key, n in sorted(joint.items(), key=repr)],
                   "calls": sorted(calls, key=lambda c: c["started_at"])}
    return cubes


def pair_cube(field: str) -> str:
    return f"pair-{field}"


def _pair_cells(field: str, sessions: Sequence[Fact], calls: Sequence[Fact], tz: ZoneInfo) -> Cells:
    """Cells keyed `<grouping> SEP <field value> SEP <group key>` (grouping "total": no key)."""
    buckets: Dict[str, Bucket] = defaultdict(Bucket)
    groups = [c for c in CUBES if c != "total"]
    for call in calls:
        day = local_day(call["started_at"], tz)
        value = keys_of(call, field, tz)[0]
        buckets[f"total{SEP}{value}{SEP}"].add_call(call, day)
        for group in groups:
            for key in keys_of(call, group, tz):
                buckets[f"{group}{SEP}{value}{SEP}{key}"].add_call(call, day)
    for session in sessions:
        value = keys_of(session, field, tz)[0]
        buckets[f"total{SEP}{value}{SEP}"].sessions += 1
        for group in groups:
            if group in SESSION_GROUPS:
                for key in keys_of(session, group, tz):
                    buckets[f"{group}{SEP}{value}{SEP}{key}"].sessions += 1
    return {key: b.vector() for key, b in buckets.items()}


def pair_filter(filters: Filters, group: str, series: Optional[str]) -> Optional[str]:
    """The one attribution field a pair cube answers this report by, if any."""
    others = (filters.directions or filters.statuses or filters.outcome or filters.classes or filters.tags
              or filters.within_working_hours is not None or filters.min_wait is not None
              or filters.min_talk is not None)
    if others or series is not None or len(filters.fields) != 1 or filters.fields[0][0] not in PAIR_FILTERS:
        return None
    return filters.fields[0][0]


def from_pairs(group: str, field: str, wanted: FrozenSet[str], cells: Mapping[str, Cells]) -> Dict[str, Any]:
    """The `aggregate` answer from one pair cube, `cells[period]` as read."""
    grouping = "total" if group in ("day", "week") else group
    buckets: Dict[str, Bucket] = defaultdict(Bucket)
    total = Bucket()
    for period, period_cells in cells.items():
        for key, vector in period_cells.items():
            kind, value, sub = key.split(SEP, 2)
            if normalise(field, None if value == NONE else value) not in wanted:
                continue
            if kind == "total":
                total.merge(vector)
            if kind != grouping:
                continue
            if group in ("day", "week"):
                day = date.fromisoformat(period[1:])
                sub = day.isoformat() if group == "day" else (day - timedelta(days=day.weekday())).isoformat()
            buckets[sub].merge(vector)
    with_sessions = group in SESSION_GROUPS
    if not with_sessions:
        buckets = {k: b for k, b in buckets.items() if b.calls}
    return finish(group, None, buckets, total, with_sessions)


def add_cells(into: Cells, cells: Mapping[str, Sequence[int]]) -> None:
    for key, vector in cells.items():
        have = into.setdefault(key, [])
        if len(have) < len(vector):
            have.extend([0] * (len(vector) - len(have)))
        for i, v in enumerate(vector):
            have[i] += v


def wide_rows(payload: Mapping[str, Any]) -> Tuple[List[Fact], List[Fact]]:
    """A WIDE payload back as (session dicts weighted by `n`, call facts) for `aggregate`."""
    sessions = []
    for row in payload.get("sessions") or []:
        session = {d: v for d, v in zip(SESSION_DIMS, row) if v is not None}
        session.update(started_at=row[len(SESSION_DIMS)], n=row[-1])
        sessions.append(session)
    return sessions, list(payload.get("calls") or [])


# --- which roll-ups a report needs ---------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A report's range as roll-up periods: whole months and the days outside them."""
    days: Tuple[str, ...]          # ISO dates read from day items
    months: Tuple[str, ...]        # "YYYY-MM" read from month items


def aligned(filters: Filters, tz: ZoneInfo, now: float) -> bool:
    """Whether the range is whole local days (or runs to now): what single cubes answer."""
    def midnight(ts: float) -> bool:
        local = datetime.fromtimestamp(ts, tz)
        return local.time() == dtime(0)
    return midnight(filters.since) and (filters.until >= now or midnight(filters.until))


def local_days(filters: Filters, tz: ZoneInfo) -> List[date]:
    first = datetime.fromtimestamp(filters.since, tz).date()
    last = datetime.fromtimestamp(filters.until - 0.001, tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def span(days: Sequence[date], use_months: bool = True) -> Span:
    """Days grouped into whole months where a month is entirely inside the range."""
    if not days:
        return Span((), ())
    inside = set(days)
    months: List[str] = []
    loose: List[str] = []
    for d in days:
        month_start = d.replace(day=1)
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        whole = use_months and month_start in inside and (next_month - timedelta(days=1)) in inside
        if whole:
            if not months or months[-1] != d.strftime("%Y-%m"):
                months.append(d.strftime("%Y-%m"))
        else:
            loose.append(d.isoformat())
    return Span(tuple(loose), tuple(months))


def simple(filters: Filters, group: str, series: Optional[str]) -> bool:
    """No filter but the range, and a series only over days or weeks: single cubes answer."""
    unfiltered = not (filters.directions or filters.statuses or filters.outcome or filters.classes
                      or filters.tags or filters.fields or filters.within_working_hours is not None
                      or filters.min_wait is not None or filters.min_talk is not None)
    return unfiltered and (series is None or group in ("day", "week"))


def cube_of(group: str) -> str:
    return "total" if group in ("day", "week") else group


def from_cubes(group: str, series: Optional[str], cells: Mapping[str, Mapping[str, Cells]],
               tz: ZoneInfo) -> Dict[str, Any]:
    """The `aggregate` answer from single cubes: `cells[cube][period]` as read. Time groups
    need day periods (their keys are the days)."""
    buckets: Dict[str, Bucket] = defaultdict(Bucket)
    total = Bucket()
    for period_cells in cells.get("total", {}).values():
        total.merge(period_cells.get("", []))
    for period, period_cells in cells.get(cube_of(group), {}).items():
        for key, vector in period_cells.items():
            if group in ("day", "week"):
                day = date.fromisoformat(period[1:])
                key = day.isoformat() if group == "day" else (day - timedelta(days=day.weekday())).isoformat()
            buckets[key].merge(vector)
    if series:
        for period, period_cells in cells.get(series, {}).items():
            day = date.fromisoformat(period[1:])
            key = day.isoformat() if group == "day" else (day - timedelta(days=day.weekday())).isoformat()
            for sub, vector in period_cells.items():
                if len(vector) > 1 and vector[1]:
                    buckets[key].series[sub] += vector[1]
    with_sessions = group in SESSION_GROUPS
    if not with_sessions:
        buckets = {k: b for k, b in buckets.items() if b.calls}
    return finish(group, series, buckets, total, with_sessions)


def from_wide(payloads: Iterable[Mapping[str, Any]], filters: Filters, group: str, tz: ZoneInfo,
              series: Optional[str]) -> Dict[str, Any]:
    sessions: List[Fact] = []
    calls: List[Fact] = []
    for payload in payloads:
        s, c = wide_rows(payload)
        sessions.extend(s)
        calls.extend(c)
    return aggregate(calls, sessions, filters, group, tz, series)


def raw_report(calls: Iterable[Mapping[str, Any]], sessions: Iterable[Mapping[str, Any]], filters: Filters,
               group: str, tz: ZoneInfo, series: Optional[str] = None) -> Dict[str, Any]:
    """The same report computed from raw calls and sessions (what the roll-ups are tested against)."""
    facts_c = [f for f in (call_fact(c) for c in calls) if f]
    facts_s = [f for f in (session_fact(s) for s in sessions) if f]
    return aggregate(facts_c, facts_s, filters, group, tz, series)

