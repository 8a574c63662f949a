"""Drill-down filters: parsed from a report's query string, applied to call and session
dicts. Pure (no I/O); time is passed in.

A call passes when it matches every filter given. Within one filter a comma list means
"any of" (`direction=inbound,callback`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta
from typing import Any, Dict, FrozenSet, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib import vocabulary
from chalicelib.errors import BadRequest
from chalicelib.times import epoch

DIRECTIONS = frozenset({"inbound", "outbound", "callback"})
STATUSES = frozenset(vocabulary.STATUSES)
MISSED_STATUSES = vocabulary.MISSED_STATUSES
CLASSES = frozenset(vocabulary.CLASSES)
# Attribution fields a call shares with its session (report key → Session attribute).
SOURCE_FIELDS: Dict[str, str] = {
    "source": "source", "medium": "medium", "campaign": "campaign", "keyword": "keyword",
    "content": "content", "landing_page": "landing_page", "referrer": "referrer", "method": "method",
    "tracking_number": "number", "country": "country", "device": "device", "browser": "browser", "os": "os",
}
# `lead` and `score_band`: the conversation rules' label and score (SCORE_BANDS), once analysed.
CALL_ONLY_FIELDS = ("agent", "department", "lead", "score_band")
SCORE_BANDS = vocabulary.SCORE_BANDS
score_band = vocabulary.score_band
# Spam calls (calls/spam.py) leave reports unless asked for: with the rest, or alone.
SPAM_MODES = ("exclude", "include", "only")
DEFAULT_DAYS = 30
MAX_RANGE_DAYS = 400


@dataclass(frozen=True)
class Filters:
    since: float
    until: float
    directions: FrozenSet[str] = frozenset()
    statuses: FrozenSet[str] = frozenset()
    outcome: Optional[str] = None                  # answered | missed
    within_working_hours: Optional[bool] = None
    min_wait: Optional[float] = None
    min_talk: Optional[float] = None
    classes: FrozenSet[str] = frozenset()
    tags: FrozenSet[str] = frozenset()             # "category" or "category:value"
    fields: Tuple[Tuple[str, FrozenSet[str]], ...] = field(default_factory=tuple)
    spam: str = "exclude"                          # exclude | include | only (calls/spam.py)

    @property
    def session_fields(self) -> Tuple[Tuple[str, FrozenSet[str]], ...]:
        """The filters that sessions can be held to too (attribution fields)."""
        return tuple((k, v) for k, v in self.fields if k in SOURCE_FIELDS)

    def call_matches(self, call: Mapping[str, Any]) -> bool:
        t = epoch(call.get("started_at"))
        if t is None or not (self.since <= t < self.until):
            return False
        if (self.spam == "exclude" and call.get("spam")) or (self.spam == "only" and not call.get("spam")):
            return False
        if self.directions and call.get("direction") not in self.directions:
            return False
        if self.statuses and call.get("status") not in self.statuses:
            return False
        if self.outcome == "answered" and call.get("status") != "answered":
            return False
        if self.outcome == "missed" and call.get("status") not in MISSED_STATUSES:
            return False
        if self.within_working_hours is not None and call.get("within_working_hours") is not self.within_working_hours:
            return False
        if self.min_wait is not None and (call.get("wait_seconds") or 0) < self.min_wait:
            return False
        if self.min_talk is not None and (call.get("talk_seconds") or 0) < self.min_talk:
            return False
        if self.classes and not any((call.get("classification") or {}).get(c) for c in self.classes):
            return False
        if self.tags and not any(tag_matches(t, self.tags) for t in call.get("tags") or []):
            return False
        return all(_field_matches(k, call.get(k), wanted) for k, wanted in self.fields)

    def session_matches(self, session: Mapping[str, Any]) -> bool:
        t = session.get("started_at")
        if t is None or not (self.since <= float(t) < self.until):
            return False
        return all(_field_matches(k, session.get(k), wanted) for k, wanted in self.session_fields)


def tag_matches(tag: Mapping[str, Any], wanted: FrozenSet[str]) -> bool:
    category = str(tag.get("category") or "").lower()
    value = tag.get("value")
    return category in wanted or (value is not None and f"{category}:{str(value).lower()}" in wanted)


def normalise(name: str, value: Any) -> str:
    """How a field's value is compared: case-insensitive; numbers by their digits only
    (a '+' in a query string arrives as a space); missing values as '(none)'."""
    if value is None or value == "":
        return "(none)"
    if name == "landing_page":
        value = page_of(value) or value
    text = str(value).strip().lower()
    if name == "tracking_number":
        return "".join(ch for ch in text if ch.isdigit()) or text
    return text


def page_of(url: Any) -> Any:
    """A landing page as reports group it: the URL without its query and fragment (click
    ids and UTM tags make every paid visit's URL unique; the page is what marketers compare)."""
    if not isinstance(url, str):
        return url
    return url.split("#", 1)[0].split("?", 1)[0]


def _field_matches(name: str, value: Any, wanted: FrozenSet[str]) -> bool:
    return normalise(name, value) in wanted


def zone(name: Optional[str]) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _csv(params: Mapping[str, str], name: str, allowed: Optional[FrozenSet[str]] = None) -> FrozenSet[str]:
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return frozenset()
    items = frozenset(p.strip().lower() for p in raw.split(",") if p.strip())
    if allowed is not None and not items <= allowed:
        bad = ", ".join(sorted(items - allowed))
        raise BadRequest(f"{name}: unknown value(s) {bad}; use {', '.join(sorted(allowed))}")
    return items


def _bool(params: Mapping[str, str], name: str) -> Optional[bool]:
    raw = (params.get(name) or "").strip().lower()
    if raw == "":
        return None
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise BadRequest(f"{name}: use true or false")


def _number(params: Mapping[str, str], name: str) -> Optional[float]:
    raw = (params.get(name) or "").strip()
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError as err:
        raise BadRequest(f"{name}: '{raw}' is not a number") from err
    if not (0 <= value <= 86400 * 7):
        raise BadRequest(f"{name}: must be between 0 and 604800 seconds")
    return value


def _instant(raw: str, name: str, tz: ZoneInfo, end: bool) -> float:
    """A date (the whole day in the account's timezone; `to` includes it) or a datetime."""
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, dtime(0), tzinfo=tz).timestamp()
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.timestamp()
    except (ValueError, OverflowError, OSError) as err:
        raise BadRequest(f"{name}: '{raw}' is not a date (YYYY-MM-DD) or an ISO 8601 time") from err


def default_since(until: float, tz: ZoneInfo) -> float:
    """The start of the default range: midnight (account's timezone) DEFAULT_DAYS days back,
    counting the day `until` falls in, so the range is whole days that roll-ups answer."""
    last = datetime.fromtimestamp(until - 0.001, tz).date()
    return datetime.combine(last - timedelta(days=DEFAULT_DAYS - 1), dtime(0), tzinfo=tz).timestamp()


FILTER_PARAMETERS = frozenset({"from", "to", "direction", "status", "outcome", "within_working_hours", "min_wait",
                               "min_talk", "class", "tag", "spam", *SOURCE_FIELDS, *CALL_ONLY_FIELDS})


def parse(params: Optional[Mapping[str, str]], now: float, tz_name: str = "UTC") -> Filters:
    """Filters from a query string; a person-readable BadRequest for anything wrong."""
    params = params or {}
    tz = zone(tz_name)
    until = _instant(params["to"], "to", tz, end=True) if params.get("to") else now
    since = _instant(params["from"], "from", tz, end=False) if params.get("from") else default_since(until, tz)
    if since >= until:
        raise BadRequest("from: must be before to")
    if until - since > MAX_RANGE_DAYS * 86400:
        raise BadRequest(f"the date range may span at most {MAX_RANGE_DAYS} days")
    outcome = (params.get("outcome") or "").strip().lower() or None
    if outcome not in (None, "answered", "missed"):
        raise BadRequest("outcome: use answered or missed")
    spam = (params.get("spam") or "").strip().lower() or "exclude"
    if spam not in SPAM_MODES:
        raise BadRequest(f"spam: use {', '.join(SPAM_MODES)}")
    fields = tuple((k, frozenset(normalise(k, v) for v in _csv(params, k)))
                   for k in (*SOURCE_FIELDS, *CALL_ONLY_FIELDS) if _csv(params, k))
    return Filters(
        since=since, until=until, directions=_csv(params, "direction", DIRECTIONS),
        statuses=_csv(params, "status", STATUSES), outcome=outcome,
        within_working_hours=_bool(params, "within_working_hours"),
        min_wait=_number(params, "min_wait"), min_talk=_number(params, "min_talk"),
        classes=_csv(params, "class", CLASSES), tags=_csv(params, "tag"), fields=fields, spam=spam,
    )
