"""A report as the API answers it: read the account's calls (through `calls.store`) and
sessions (through `Session.account_index`) for the date range, then aggregate."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from chalicelib.accounts import get_account
from chalicelib.calls import store
from chalicelib.dni.models import Session
from chalicelib.errors import BadRequest
from chalicelib.reports import filters as flt
from chalicelib.reports.aggregate import aggregate, check_group

Clock = Callable[[], float]
SESSION_KEYS = ("session_id", "started_at", "source", "medium", "campaign", "keyword", "content", "landing_page",
                "referrer", "method", "country", "device", "browser", "os", "bot")
MAX_LISTED_CALLS = 1000


def _query_sessions(account_id: str, since: float, until: float) -> List[Dict[str, Any]]:
    out = []
    for s in Session.account_index.query(account_id, Session.started_at.between(since, until),
                                         attributes_to_get=[*SESSION_KEYS, "number", "account_id"]):
        item = {k: getattr(s, k, None) for k in SESSION_KEYS}
        item["tracking_number"] = s.number
        out.append(item)
    return out


# A session item never changes after it is written, so sessions that started before
# yesterday are kept per container for a while: drilling down re-reads the same month
# again and again, and only the last day or two is read afresh each time.
_settled: Dict[Tuple[str, float, float], Tuple[float, List[Dict[str, Any]]]] = {}
SETTLED_CACHE_SECONDS = 600
SETTLED_CACHE_ENTRIES = 32


def sessions_between(account_id: str, since: float, until: float, clock: Clock = time.time) -> List[Dict[str, Any]]:
    """The account's sessions as dicts keyed like calls (`tracking_number` for `number`);
    may include a little before `since` (callers filter by time)."""
    now = clock()
    settled_until = (now // 86400 - 1) * 86400  # the start of yesterday, UTC
    if until <= settled_until or since >= settled_until:
        return _query_sessions(account_id, since, until)
    key = (account_id, since // 3600 * 3600, settled_until)
    hit = _settled.get(key)
    if hit is None or hit[0] < now:
        if len(_settled) >= SETTLED_CACHE_ENTRIES:
            _settled.clear()
        hit = _settled[key] = (now + SETTLED_CACHE_SECONDS, _query_sessions(account_id, key[1], settled_until - 0.001))
    return hit[1] + _query_sessions(account_id, settled_until, until)


def _limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit") or "100"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LISTED_CALLS:
        raise BadRequest(f"limit: a whole number from 1 to {MAX_LISTED_CALLS}")
    return int(raw)


def run_report(account_id: str, params: Optional[Mapping[str, str]], clock: Clock = time.time) -> Dict[str, Any]:
    """The report the query string asks for: `group_by`, `series`, filters, the rows of
    further `breakdowns` and, with `include=calls`, the matching calls themselves
    (newest first, up to `limit`)."""
    params = params or {}
    account = get_account(account_id, clock)
    tz = flt.zone(account.settings.timezone)
    filters = flt.parse(params, clock(), account.settings.timezone)
    group = check_group(params.get("group_by") or "source")
    series = check_group(params["series"]) if params.get("series") else None
    listing = params.get("include") == "calls"
    limit = _limit(params) if listing else 0
    calls: List[Dict[str, Any]] = list(store.query_calls(account_id, filters.since, filters.until))
    sessions = sessions_between(account_id, filters.since, filters.until, clock)
    report = aggregate(calls, sessions, filters, group, tz, series)
    # Further groupings of the same data in one answer (the dashboard's several charts).
    extra = [check_group(g.strip()) for g in (params.get("breakdowns") or "").split(",") if g.strip()]
    if len(extra) > 4:
        raise BadRequest("breakdowns: at most 4 groupings")
    if extra:
        report["breakdowns"] = {g: aggregate(calls, sessions, filters, g, tz)["rows"] for g in extra}
    report.update({"account_id": account_id, "timezone": tz.key, "currency": account.settings.currency,
                   "from": store.iso(filters.since), "to": store.iso(filters.until)})
    if listing:
        matched = [c for c in calls if filters.call_matches(c)]
        report["calls"] = matched[:limit]
        report["calls_total"] = len(matched)
    return report
