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
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set
from zoneinfo import ZoneInfo

from chalicelib.errors import BadRequest
from chalicelib.reports.filters import MISSED_STATUSES, SOURCE_FIELDS, Filters, epoch

NONE = "(none)"
TIME_GROUPS = ("day", "week", "hour")
CALL_GROUPS = ("status", "tag", "agent", "direction", "department")
GROUPS = (*SOURCE_FIELDS, *CALL_GROUPS, *TIME_GROUPS)
# Dimensions a session has too: only these rows can count sessions and conversion.
SESSION_GROUPS = frozenset((*SOURCE_FIELDS, *TIME_GROUPS))
CLASS_KEYS = ("unique", "target", "first_target", "unique_target", "repeated")
METRICS = ("calls", "answered", "missed", "missed_pct", *CLASS_KEYS, "avg_wait", "avg_talk", "value",
           "sessions", "converted_sessions", "conversion_pct")


@dataclass
class Bucket:
    """Running totals of one group."""
    calls: int = 0
    answered: int = 0
    missed: int = 0
    classes: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASS_KEYS, 0))
    wait_total: float = 0.0
    wait_n: int = 0
    talk_total: float = 0.0
    talk_n: int = 0
    value: float = 0.0
    sessions: int = 0
    converted: Set[str] = field(default_factory=set)
    series: Dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add_call(self, call: Mapping[str, Any]) -> None:
        self.calls += 1
        status = call.get("status")
        if status == "answered":
            self.answered += 1
            if call.get("talk_seconds") is not None:
                self.talk_total += float(call["talk_seconds"])
                self.talk_n += 1
        elif status in MISSED_STATUSES:
            self.missed += 1
        if call.get("wait_seconds") is not None:
            self.wait_total += float(call["wait_seconds"])
            self.wait_n += 1
        cls = call.get("classification") or {}
        for key in CLASS_KEYS:
            if cls.get(key):
                self.classes[key] += 1
        self.value += float(call.get("value") or 0)
        if call.get("session_id"):
            self.converted.add(call["session_id"])

    def row(self, key: str, with_sessions: bool) -> Dict[str, Any]:
        decided = self.answered + self.missed
        row: Dict[str, Any] = {
            "key": key, "calls": self.calls, "answered": self.answered, "missed": self.missed,
            "missed_pct": _pct(self.missed, decided), **self.classes,
            "avg_wait": round(self.wait_total / self.wait_n, 1) if self.wait_n else None,
            "avg_talk": round(self.talk_total / self.talk_n, 1) if self.talk_n else None,
            "value": round(self.value, 2),
            "sessions": self.sessions if with_sessions else None,
            "converted_sessions": len(self.converted) if with_sessions else None,
            "conversion_pct": _pct(len(self.converted), self.sessions) if with_sessions else None,
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


def keys_of(item: Mapping[str, Any], group: str, tz: ZoneInfo) -> List[str]:
    """The group(s) a call or session falls in; a call with several tags counts in each."""
    if group in TIME_GROUPS:
        ts = epoch(item.get("started_at"))
        return [time_key(ts, group, tz)] if ts is not None else [NONE]
    if group == "tag":
        names = sorted({str(t.get("category")) for t in item.get("tags") or [] if t.get("category")})
        return names or [NONE]
    value = item.get(group)
    return [str(value) if value not in (None, "") else NONE]


def check_group(group: str) -> str:
    if group not in GROUPS:
        raise BadRequest(f"group_by: '{group}' is not one of {', '.join(GROUPS)}")
    return group


def aggregate(calls: Iterable[Mapping[str, Any]], sessions: Iterable[Mapping[str, Any]], filters: Filters,
              group: str = "source", tz: Optional[ZoneInfo] = None, series: Optional[str] = None) -> Dict[str, Any]:
    """`{"group_by", "rows", "totals"}`: one row per group (time groups in time order,
    others by calls, most first) and the totals over every call that passed the filters.
    `series` splits each row's calls by a second dimension (calls by source per day)."""
    tz = tz or ZoneInfo("UTC")
    check_group(group)
    if series is not None:
        check_group(series)
    buckets: Dict[str, Bucket] = defaultdict(Bucket)
    total = Bucket()
    for call in calls:
        if not filters.call_matches(call):
            continue
        total.add_call(call)
        for key in keys_of(call, group, tz):
            buckets[key].add_call(call)
            for sub in keys_of(call, series, tz) if series else ():
                buckets[key].series[sub] += 1
    with_sessions = group in SESSION_GROUPS
    for session in sessions:
        if session.get("bot") or not filters.session_matches(session):
            continue
        total.sessions += 1
        if with_sessions:
            for key in keys_of(session, group, tz):
                buckets[key].sessions += 1
    rows = [b.row(k, with_sessions) for k, b in buckets.items()]
    if group in TIME_GROUPS:
        rows.sort(key=lambda r: r["key"])
    else:
        rows.sort(key=lambda r: (-r["calls"], -(r["sessions"] or 0), r["key"]))
    return {"group_by": group, "series_by": series, "rows": rows, "totals": total.row("total", True)}
