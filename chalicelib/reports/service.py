"""A report as the API answers it, from the roll-ups (`rollup_store`): single cubes for
reports without filters, combo cubes for filters on the common attribution fields (with
the days' call facts for call filters), the days' wide session rows for the rest. Never
raw sessions; raw calls only to list them (`include=calls`). See docs/reports.md."""
from __future__ import annotations

import time
from itertools import islice
from typing import Any, Callable, Dict, List, Mapping, Optional

from chalicelib.accounts import get_account
from chalicelib.calls import store
from chalicelib.errors import BadRequest
from chalicelib.reports import filters as flt
from chalicelib.reports import rollup_store, rollups
from chalicelib.reports.aggregate import SESSION_GROUPS, check_group, zero_filled

Clock = Callable[[], float]
MAX_LISTED_CALLS = 1000
REPORT_PARAMETERS = flt.FILTER_PARAMETERS | {"group_by", "series", "breakdowns", "include", "limit", "format"}


class Reader:
    """The roll-ups one report reads, each at most once (a report and its breakdowns)."""

    def __init__(self, account_id: str, filters: flt.Filters, tz: Any, now: float) -> None:
        self.account_id, self.filters, self.tz = account_id, filters, tz
        self.days = rollups.local_days(filters, tz)
        self.aligned = rollups.aligned(filters, tz, now)
        self._cells: Dict[str, Dict[str, rollups.Cells]] = {}
        self._rows: Dict[str, List[Dict[str, Any]]] = {}

    def cells(self, cube: str, by_day: bool) -> Dict[str, rollups.Cells]:
        key = f"{cube}/{'days' if by_day else 'span'}"
        if key not in self._cells:
            self._cells[key] = rollup_store.read_cells(self.account_id, cube, rollups.span(self.days, not by_day))
        return self._cells[key]

    def rows(self, cube: str) -> List[Dict[str, Any]]:
        if cube not in self._rows:
            self._rows[cube] = rollup_store.read_rows(self.account_id, cube, [d.isoformat() for d in self.days])
        return self._rows[cube]

    def calls(self) -> List[Dict[str, Any]]:
        return [c for payload in self.rows(rollups.CALLS) for c in payload.get("calls") or []]

    def report(self, group: str, series: Optional[str] = None) -> Dict[str, Any]:
        if self.aligned and rollups.simple(self.filters, group, series):
            by_day = group in ("day", "week")
            cubes = {"total": self.cells("total", by_day), rollups.cube_of(group): self.cells(
                rollups.cube_of(group), by_day)}
            if series:
                cubes[series] = self.cells(series, True)
            return rollups.from_cubes(group, series, cubes, self.tz)
        if self.aligned and rollups.combo_answers(self.filters, group, series):
            # The grouping's cube (by day for days and weeks: `combo-total` then serves both),
            # `combo-total` for the totals, a series' cube by day; with call filters, the
            # calls carry every call figure, so the grouping's cube is read for its sessions.
            calls = self.calls() if rollups.call_filtered(self.filters) else None
            wanted = {rollups.combo_cube("total"): False}
            if calls is None or group in SESSION_GROUPS:
                wanted[rollups.combo_cube(rollups.cube_of(group))] = group in ("day", "week")
            if series and calls is None:
                wanted[rollups.combo_cube(series)] = True
            cubes = {cube: self.cells(cube, by_day) for cube, by_day in wanted.items()}
            by_day = wanted[rollups.combo_cube("total")]
            if rollups.same_totals(cubes[rollups.combo_cube("total")], self.cells("total", by_day)):
                return rollups.from_combos(group, series, self.filters, cubes, self.tz, calls)
            # Roll-ups written before the combo cubes existed (or a month summed from such
            # days): the wide rows give the same answer, slower, until a rebuild.
        return rollups.from_wide([*self.rows(rollups.WIDE), *self.rows(rollups.CALLS)], self.filters, group,
                                 self.tz, series)


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
    now = clock()   # once: a range "up to now" is whole days only against the same now
    filters = flt.parse(params, now, account.settings.timezone)
    group = check_group(params.get("group_by") or "source")
    series = check_group(params["series"]) if params.get("series") else None
    listing = params.get("include") == "calls"
    limit = _limit(params) if listing else 0
    reader = Reader(account_id, filters, tz, now)
    report = reader.report(group, series)
    # Further groupings of the same data in one answer (the dashboard's several charts).
    extra = [check_group(g.strip()) for g in (params.get("breakdowns") or "").split(",") if g.strip()]
    if len(extra) > 4:
        raise BadRequest("breakdowns: at most 4 groupings")
    if extra:
        report["breakdowns"] = {g: reader.report(g)["rows"] for g in extra}
    with_sessions = report["totals"]["sessions"] is not None
    report["rows"] = zero_filled(report["rows"], group, reader.days, with_sessions)
    for g, rows in (report.get("breakdowns") or {}).items():
        report["breakdowns"][g] = zero_filled(rows, g, reader.days, with_sessions)
    report.update({"account_id": account_id, "timezone": tz.key, "currency": account.settings.currency,
                   "from": store.iso(filters.since), "to": store.iso(filters.until)})
    if listing:
        # Newest first, read only until `limit` calls matched; the total is the report's own
        # (the same filters over the same range), so no request reads every call of a year.
        matching = (c for c in store.query_calls(account_id, filters.since, filters.until)
                    if filters.call_matches(c))
        report["calls"] = list(islice(matching, limit))
        report["calls_total"] = report["totals"]["calls"]
    return report
