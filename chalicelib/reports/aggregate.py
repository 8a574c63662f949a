"""Report rows: calls and sessions grouped by one dimension, with the metrics marketers
and call-centre leads read. Pure: lists of dicts in, rows out.

Calls are the `calls.store` API representation; sessions are dicts with the same
attribution keys (`tracking_number` for the session's number, `started_at` in epoch
seconds). Time buckets are in the account's timezone.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple
from zoneinfo import ZoneInfo

from chalicelib.errors import BadRequest
from chalicelib.reports.filters import MISSED_STATUSES, SOURCE_FIELDS, Filters, epoch, page_of

NONE = "(none)"
TIME_GROUPS = ("day", "week", "hour")
CALL_GROUPS = ("status", "tag", "agent", "direction", "department", "lead", "score_band")
GROUPS = (*SOURCE_FIELDS, *CALL_GROUPS, *TIME_GROUPS)
# Dimensions a session has too: only these rows can count sessions and conversion.
SESSION_GROUPS = frozenset((*SOURCE_FIELDS, *TIME_GROUPS))
# The classes (chalicelib/vocabulary.py) in the order roll-up vectors store them: stored
# cells depend on it, so it is spelled out rather than taken from the vocabulary's order.
CLASS_KEYS = ("unique", "target", "first_target", "unique_target", "repeated")
METRICS = ("calls", "answered", "missed", "missed_pct", *CLASS_KEYS, "avg_wait", "avg_talk", "value",
           "sessions", "converted_sessions", "conversion_pct")


# A bucket as roll-ups store it: these totals, in this order, integers only (durations in
# milliseconds, value in millionths) so a sum never depends on the order it was added in.
VECTOR = ("sessions", "calls", "answered", "missed", *CLASS_KEYS, "wait_ms", "wait_n", "talk_ms", "talk_n",
          "value_micros", "converted")


def _ms(seconds: Any) -> int:
    return round(float(seconds) * 1000)


@dataclass
class Bucket:
    """Running totals of one group. `converted` holds (local day, session id) pairs: a
    session converts on each day it produced a call (so day totals add up to any range);
    `converted_n` counts pairs already merged in from roll-up cells."""
    calls: int = 0
    answered: int = 0
    missed: int = 0
    classes: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASS_KEYS, 0))
    wait_ms: int = 0
    wait_n: int = 0
    talk_ms: int = 0
    talk_n: int = 0
    value_micros: int = 0
    sessions: int = 0
    converted: Set[Tuple[str, str]] = field(default_factory=set)
    converted_n: int = 0
    series: Dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add_call(self, call: Mapping[str, Any], day: str = "") -> None:
        self.calls += 1
        status = call.get("status")
        if status == "answered":
            self.answered += 1
            if call.get("talk_seconds") is not None:
                self.talk_ms += _ms(call["talk_seconds"])
                self.talk_n += 1
        elif status in MISSED_STATUSES:
            self.missed += 1
        if call.get("wait_seconds") is not None:
            self.wait_ms += _ms(call["wait_seconds"])
            self.wait_n += 1
        cls = call.get("classification") or {}
        for key in CLASS_KEYS:
            if cls.get(key):
                self.classes[key] += 1
        self.value_micros += round(float(call.get("value") or 0) * 1_000_000)
        if call.get("session_id"):
            self.converted.add((day, call["session_id"]))

    @property
    def converted_count(self) -> int:
        return len(self.converted) + self.converted_n

    def vector(self) -> List[int]:
        """The totals as VECTOR, trailing zeros dropped (most cells count sessions only)."""
        values = [self.sessions, self.calls, self.answered, self.missed, *(self.classes[k] for k in CLASS_KEYS),
                  self.wait_ms, self.wait_n, self.talk_ms, self.talk_n, self.value_micros, self.converted_count]
        while values and not values[-1]:
            values.pop()
        return values

    def merge(self, vector: Sequence[int]) -> None:
        """Add a roll-up cell (a `vector()`)."""
        v = list(vector) + [0] * (len(VECTOR) - len(vector))
        self.sessions += v[0]
        self.calls += v[1]
        self.answered += v[2]
        self.missed += v[3]
        for i, key in enumerate(CLASS_KEYS):
            self.classes[key] += v[4 + i]
        self.wait_ms, self.wait_n = self.wait_ms + v[9], self.wait_n + v[10]
        self.talk_ms, self.talk_n = self.talk_ms + v[11], self.talk_n + v[12]
        self.value_micros += v[13]
        self.converted_n += v[14]

    def row(self, key: str, with_sessions: bool) -> Dict[str, Any]:
        decided = self.answered + self.missed
        converted = self.converted_count
        row: Dict[str, Any] = {
            "key": key, "calls": self.calls, "answered": self.answered, "missed": self.missed,
            "missed_pct": _pct(self.missed, decided), **self.classes,
            "avg_wait": round(self.wait_ms / self.wait_n / 1000, 1) if self.wait_n else None,
            "avg_talk": round(self.talk_ms / self.talk_n / 1000, 1) if self.talk_n else None,
            "value": round(self.value_micros / 1_000_000, 2),
            "sessions": self.sessions if with_sessions else None,
            "converted_sessions": converted if with_sessions else None,
            "conversion_pct": _pct(converted, self.sessions) if with_sessions else None,
        }
        if self.series:
            row["series"] = dict(sorted(self.series.items(), key=lambda kv: (-kv[1], kv[0])))
        return row


def _pct(part: int, whole: int) -> Optional[float]:
    return round(100.0 * part / whole, 1) if whole else None


def time_key(ts: float, group: str, tz: ZoneInfo) -> str:
    local = datetime.fromtimestamp(ts, tz)
    if group == "day":
        return local.date().isoformat()
    if group == "week":  # the Monday the week starts on
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    return f"{local.hour:02d}:00"  # hour of the day


def local_day(value: Any, tz: ZoneInfo) -> str:
    ts = epoch(value)
    return datetime.fromtimestamp(ts, tz).date().isoformat() if ts is not None else ""


def keys_of(item: Mapping[str, Any], group: str, tz: ZoneInfo) -> List[str]:
    """The group(s) a call or session falls in; a call with several tags counts in each."""
    if group in TIME_GROUPS:
        ts = epoch(item.get("started_at"))
        return [time_key(ts, group, tz)] if ts is not None else [NONE]
    if group == "tag":
        names = sorted({str(t.get("category")) for t in item.get("tags") or [] if t.get("category")})
        return names or [NONE]
    value = item.get(group)
    if group == "landing_page":
        value = page_of(value)
    return [str(value) if value not in (None, "") else NONE]


def check_group(group: str) -> str:
    if group not in GROUPS:
        raise BadRequest(f"group_by: '{group}' is not one of {', '.join(GROUPS)}")
    return group


def aggregate(calls: Iterable[Mapping[str, Any]], sessions: Iterable[Mapping[str, Any]], filters: Filters,
              group: str = "source", tz: Optional[ZoneInfo] = None, series: Optional[str] = None,
              counted: Optional[Tuple[Mapping[str, int], int]] = None) -> Dict[str, Any]:
    """`{"group_by", "rows", "totals"}`: one row per group (time groups in time order,
    others by calls, most first) and the totals over every call that passed the filters.
    `series` splits each row's calls by a second dimension (calls by source per day).
    `counted`: the sessions already counted (per group key, and in all) instead of `sessions`."""
    tz = tz or ZoneInfo("UTC")
    check_group(group)
    if series is not None:
        check_group(series)
    buckets: Dict[str, Bucket] = defaultdict(Bucket)
    total = Bucket()
    for call in calls:
        if not filters.call_matches(call):
            continue
        day = local_day(call.get("started_at"), tz)
        total.add_call(call, day)
        for key in keys_of(call, group, tz):
            buckets[key].add_call(call, day)
            for sub in keys_of(call, series, tz) if series else ():
                buckets[key].series[sub] += 1
    with_sessions = group in SESSION_GROUPS
    if counted is not None:
        total.sessions += counted[1]
        for key, n in counted[0].items() if with_sessions else ():
            buckets[key].sessions += n
    for session in sessions:
        if session.get("bot") or not filters.session_matches(session):
            continue
        weight = int(session.get("n") or 1)   # roll-up cells stand for n sessions alike
        total.sessions += weight
        if with_sessions:
            for key in keys_of(session, group, tz):
                buckets[key].sessions += weight
    return finish(group, series, buckets, total, with_sessions)


def finish(group: str, series: Optional[str], buckets: Mapping[str, Bucket], total: Bucket,
           with_sessions: bool) -> Dict[str, Any]:
    """The report answer from filled buckets (raw aggregation and roll-ups alike)."""
    rows = [b.row(k, with_sessions) for k, b in buckets.items()]
    if group in TIME_GROUPS:
        rows.sort(key=lambda r: r["key"])
    else:
        rows.sort(key=lambda r: (-r["calls"], -(r["sessions"] or 0), r["key"]))
    return {"group_by": group, "series_by": series, "rows": rows, "totals": total.row("total", True)}


def time_keys(group: str, days: List[Any]) -> List[str]:
    """Every bucket of a time grouping over the range: its days, the Mondays of its weeks,
    or the 24 hours of the day."""
    if group == "day":
        return [d.isoformat() for d in days]
    if group == "week":
        return sorted({(d - timedelta(days=d.weekday())).isoformat() for d in days})
    return [f"{h:02d}:00" for h in range(24)]


def zero_filled(rows: List[Dict[str, Any]], group: str, days: List[Any], with_sessions: bool) -> List[Dict[str, Any]]:
    """A time grouping's rows with a zero row for each bucket nothing happened in, so a
    chart's axis has no gaps (a quiet Sunday is a 0, not a missing day)."""
    if group not in TIME_GROUPS:
        return rows
    have = {r["key"]: r for r in rows}
    with_series = any("series" in r for r in rows)
    out = []
    for key in time_keys(group, days):
        row = have.pop(key, None)
        if row is None:
            row = Bucket().row(key, with_sessions)
            if with_series:
                row["series"] = {}
        out.append(row)
    return sorted(out + list(have.values()), key=lambda r: r["key"])
