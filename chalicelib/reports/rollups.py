"""Roll-ups: what reports read instead of raw sessions (pure; the I/O is `rollup_store`).

Every session and call is reduced to a *fact*: the keys reports group and filter by,
nothing personal (no caller, no IP). A day's facts make that day's *cubes*:

- one cube per report dimension (`CUBES`: every attribution field, status, tag, agent,
  direction, department, hour of day) and `total`: cells keyed by the dimension's value,
  each cell a `Bucket.vector()` (sessions, calls, answered, missed, the five classes,
  wait/talk sums in ms and their counts, value in millionths, converted sessions);
- `combo-<cube>`, one per cube: the same cells split by the values of the six
  attribution fields reports are most often filtered by (`COMBO_FIELDS`: source, medium,
  campaign, device, country, method), so filters on those fields, any number of them,
  read one grouping's cells; their size grows with the distinct combinations of six
  low-cardinality fields, not with traffic;
- `calls`: the day's call facts, for call filters (status, `min_wait`, tag, class…): the
  calls are read and filtered, the sessions still come from the combo cubes;

Spam calls (calls/spam.py) are left out of every cube and kept, marked `spam`, among the
`calls` facts: a report that asks for them (`spam=include|only`) reads those.
- `wide`: the day's sessions counted by every attribution field at once (plus the quarter
  hour they started in), for what nothing else answers (a filter on keyword, landing page
  or another high-cardinality field, a series over a non-time grouping, a range not on
  local midnights).

Months hold the sum of their days' single cubes, so a 13-month report reads 13 small
items per cube plus the days at its edges. Layout and limits: docs/reports.md.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from chalicelib.reports.aggregate import (
    CALL_GROUPS, NONE, SESSION_GROUPS, Bucket, aggregate, finish, keys_of, local_day, zero_filled,
)
from chalicelib.reports.filters import SOURCE_FIELDS, Filters, epoch, normalise, page_of, score_band

SESSION_DIMS = tuple(SOURCE_FIELDS)
CUBES = ("total", *SESSION_DIMS, *CALL_GROUPS, "hour")
# Attribution fields a report is most often filtered by, all of low cardinality: the combo
# cubes split every grouping's cells by their values, so filters on them need no wide read.
COMBO_FIELDS = ("source", "medium", "campaign", "device", "country", "method")
SEP = "\x1f"
WIDE = "wide"
CALLS = "calls"
QUARTER_SECONDS = 900
CALL_FACT_KEYS = ("direction", "status", "within_working_hours", "wait_seconds", "talk_seconds", "value",
                  "session_id", "agent", "department", "lead", *SESSION_DIMS)
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
    if call.get("spam"):
        fact["spam"] = True
    band = score_band(call.get("lead_score"))
    if band:
        fact["score_band"] = band
    return fact


def day_of(ts: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).date().isoformat()


def day_cubes(sessions: Sequence[Fact], calls: Sequence[Fact], tz: ZoneInfo) -> Dict[str, Any]:
    """Every cube of one day's facts: {cube: cells} for `CUBES` and `COMBOS`, WIDE and CALLS
    (spam calls in CALLS only)."""
    every = calls
    calls = [c for c in calls if not c.get("spam")]
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
    cubes.update(_combo_cells(sessions, calls, tz))
    joint: Counter = Counter(
        (*(s.get(d) for d in SESSION_DIMS), int(s["started_at"] // QUARTER_SECONDS * QUARTER_SECONDS))
        for s in sessions)
    cubes[WIDE] = {"sessions": [[*key, n] for key, n in sorted(joint.items(), key=repr)]}
    cubes[CALLS] = {"calls": sorted(every, key=lambda c: c["started_at"])}
    return cubes


def combo_cube(cube: str) -> str:
    return f"combo-{cube}"


COMBOS = tuple(combo_cube(c) for c in CUBES)


def _combo_cells(sessions: Sequence[Fact], calls: Sequence[Fact], tz: ZoneInfo) -> Dict[str, Cells]:
    """{combo cube: cells keyed `<COMBO_FIELDS values, SEP-joined> SEP <group key>`} (total: no key)."""
    buckets: Dict[str, Dict[str, Bucket]] = {cube: defaultdict(Bucket) for cube in CUBES}
    for call in calls:
        day = local_day(call["started_at"], tz)
        combo = SEP.join(keys_of(call, f, tz)[0] for f in COMBO_FIELDS)
        for cube in CUBES:
            for key in ([""] if cube == "total" else keys_of(call, cube, tz)):
                buckets[cube][f"{combo}{SEP}{key}"].add_call(call, day)
    counted = [c for c in CUBES if c == "total" or c in SESSION_GROUPS]
    for session in sessions:
        combo = SEP.join(keys_of(session, f, tz)[0] for f in COMBO_FIELDS)
        for cube in counted:
            for key in ([""] if cube == "total" else keys_of(session, cube, tz)):
                buckets[cube][f"{combo}{SEP}{key}"].sessions += 1
    return {combo_cube(cube): {k: b.vector() for k, b in cells.items()} for cube, cells in buckets.items()}


def call_filtered(filters: Filters) -> bool:
    """Whether the report holds calls to more than their attribution (status, wait, tag, agent…)."""
    return bool(filters.directions or filters.statuses or filters.outcome or filters.classes or filters.tags
                or filters.within_working_hours is not None or filters.min_wait is not None
                or filters.min_talk is not None or any(k not in SOURCE_FIELDS for k, _ in filters.fields)
                or filters.spam != "exclude")


def combo_answers(filters: Filters, group: str, series: Optional[str]) -> bool:
    """Whether combo cubes (and, for call filters, the range's call facts) answer this
    report: every attribution filter is on a COMBO_FIELDS field, and a series is over days
    or weeks (with call filters, the calls carry any series)."""
    return (all(k in COMBO_FIELDS for k, _ in filters.session_fields)
            and (series is None or group in ("day", "week") or call_filtered(filters)))


def _period_key(period: str, group: str) -> str:
    """A day period's key in a time grouping: the day, or the Monday of its week."""
    day = date.fromisoformat(period[1:])
    return day.isoformat() if group == "day" else (day - timedelta(days=day.weekday())).isoformat()


def _combo_matcher(filters: Filters) -> Callable[[str], bool]:
    """A test of a cell's combo (its SEP-joined COMBO_FIELDS values) against the filters,
    remembered per combo (a cube holds a few hundred distinct ones)."""
    wanted = [(COMBO_FIELDS.index(k), k, v) for k, v in filters.session_fields]
    seen: Dict[str, bool] = {}

    def matches(combo: str) -> bool:
        ok = seen.get(combo)
        if ok is None:
            values = combo.split(SEP)
            ok = seen[combo] = all(normalise(k, None if values[i] == NONE else values[i]) in v
                                   for i, k, v in wanted)
        return ok
    return matches


def _combo_buckets(group: str, cells: Mapping[str, Cells], matches: Callable[[str], bool],
                   sessions_only: bool) -> Dict[str, Bucket]:
    """The group's buckets from one combo cube's `cells[period]`, leaving out cells whose
    combo fails the filters; time groups key by the (day) period. `sessions_only`: count
    sessions alone (the calls then come from the call facts)."""
    buckets: Dict[str, Bucket] = defaultdict(Bucket)
    for period, period_cells in cells.items():
        for key, vector in period_cells.items():
            combo, _, sub = key.rpartition(SEP)
            if not matches(combo):
                continue
            if group in ("day", "week"):
                sub = _period_key(period, group)
            if not sessions_only:
                buckets[sub].merge(vector)
            elif vector and vector[0]:
                buckets[sub].sessions += vector[0]
    return buckets


def same_totals(combo_total: Mapping[str, Cells], total: Mapping[str, Cells]) -> bool:
    """Whether `combo-total` holds, period by period, the sessions and calls `total` does:
    false for roll-ups written before the combo cubes existed."""
    if set(combo_total) != set(total):
        return False
    for period, cells in total.items():
        sessions = sum(v[0] for v in combo_total[period].values() if v)
        calls = sum(v[1] for v in combo_total[period].values() if len(v) > 1)
        want = (cells.get("") or []) + [0, 0]
        if (sessions, calls) != (want[0], want[1]):
            return False
    return True


def from_combos(group: str, series: Optional[str], filters: Filters, cells: Mapping[str, Mapping[str, Cells]],
                tz: ZoneInfo, calls: Optional[Sequence[Fact]] = None) -> Dict[str, Any]:
    """The `aggregate` answer from combo cubes, `cells[combo cube][period]` as read: the
    grouping's cube (by day for time groupings), `combo-total` for the totals, a series'
    cube by day. With call filters, `calls` (the range's call facts, filtered and counted
    here) give every call figure and the cubes only the sessions."""
    matches = _combo_matcher(filters)
    with_sessions = group in SESSION_GROUPS
    grouping = cells.get(combo_cube(cube_of(group)), {})
    totals = _combo_buckets("total", cells.get(combo_cube("total"), {}), matches, calls is not None)
    if calls is not None:
        by_key = _combo_buckets(group, grouping, matches, True) if with_sessions else {}
        return aggregate(calls, (), filters, group, tz, series, counted=(
            {k: b.sessions for k, b in by_key.items()}, sum(b.sessions for b in totals.values())))
    total = Bucket()
    for bucket in totals.values():
        total.merge(bucket.vector())
    buckets = _combo_buckets(group, grouping, matches, False)
    for period, period_cells in cells.get(combo_cube(series), {}).items() if series else ():
        for key, vector in period_cells.items():
            combo, _, sub = key.rpartition(SEP)
            if len(vector) > 1 and vector[1] and matches(combo):
                buckets[_period_key(period, group)].series[sub] += vector[1]
    if not with_sessions:
        buckets = {k: b for k, b in buckets.items() if b.calls}
    return finish(group, series, buckets, total, with_sessions)


def add_cells(into: Cells, cells: Mapping[str, Sequence[int]]) -> None:
    for key, vector in cells.items():
        have = into.setdefault(key, [])
        if len(have) < len(vector):
            have.extend([0] * (len(vector) - len(have)))
        for i, v in enumerate(vector):
            have[i] += v


def wide_rows(payload: Mapping[str, Any]) -> Tuple[List[Fact], List[Fact]]:
    """A WIDE or CALLS payload back as (session dicts weighted by `n`, call facts) for `aggregate`."""
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
                      or filters.min_wait is not None or filters.min_talk is not None or filters.spam != "exclude")
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
    report = aggregate(facts_c, facts_s, filters, group, tz, series)
    report["rows"] = zero_filled(report["rows"], group, local_days(filters, tz), report["totals"]["sessions"] is not None)
    return report

