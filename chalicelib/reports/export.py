"""CSV export of a report: one line per group, then the totals line."""
from __future__ import annotations

import csv
import io
import re
from typing import Any, Dict, List, Mapping

from chalicelib.reports.aggregate import METRICS

E164 = re.compile(r"^\+[0-9]{6,15}$")
CALL_COLUMNS = ("call_id", "started_at", "direction", "status", "tracking_number", "caller", "source", "medium",
                "campaign", "keyword", "landing_page", "method", "country", "device", "agent", "wait_seconds",
                "talk_seconds", "within_working_hours", "value", "tags")


def _cell(value: Any) -> Any:
    """Spreadsheet-safe: a cell starting with = + - @ would run as a formula (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not E164.match(value):
        return "'" + value
    return value


def report_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([report["group_by"], *METRICS])
    rows: List[Dict[str, Any]] = [*report["rows"], report["totals"]]
    for row in rows:
        writer.writerow([_cell(row["key"]), *(_cell(row.get(m)) for m in METRICS)])
    return out.getvalue()


def calls_csv(calls: List[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CALL_COLUMNS)
    for call in calls:
        tags = "; ".join(f"{t.get('category')}{':' + str(t['value']) if t.get('value') else ''}"
                         for t in call.get("tags") or [])
        writer.writerow([_cell(tags if c == "tags" else call.get(c)) for c in CALL_COLUMNS])
    return out.getvalue()
