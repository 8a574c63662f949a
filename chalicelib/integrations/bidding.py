"""Bid management: calls as offline conversions for Google Ads and Microsoft Advertising.

- Google Ads: a *click conversion* (Google Click ID) when the visit that led to the call had
  a `gclid`; otherwise a *call conversion* (caller id in E.164 with `+`, call start time).
- Microsoft Advertising: click conversions by `msclkid` only (it has no caller-id import).

Which calls count is configured per account and platform as conversion actions (`name` as
created in the ad platform, `when`: a call class, `answered` or `tagged`). The consumer
records one conversion per (platform, call, action) — see `conversions.py`; the export
endpoint renders the platforms' upload templates and the feed serves bid tools.

Google refuses call conversions younger than about 12 hours (`TOO_RECENT_CALL`): the export
holds them back until they are old enough. Google times are `yyyy-mm-dd hh:mm:ss+hh:mm` in the
configured time zone, which the template's `Parameters:TimeZone=` row also names; Microsoft's
file is in UTC (`Parameters:TimeZone=+0000`, its template takes an HHMM offset only).
"""
from __future__ import annotations

import csv
import hashlib
import io
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib import accounts
from chalicelib.errors import BadRequest, NotFound
from chalicelib.integrations import conversions
from chalicelib.integrations.errors import RetryableError, account_of
from chalicelib.observability import count, logger
from chalicelib.times import epoch, iso
from chalicelib.vocabulary import CLASSES

Clock = Callable[[], float]
GetCall = Callable[[str, str], Dict[str, Any]]

GOOGLE, MICROSOFT = "google_ads", "microsoft_ads"
PLATFORMS = (GOOGLE, MICROSOFT)
CLICK_ID_OF = {GOOGLE: "gclid", MICROSOFT: "msclkid"}
TOO_RECENT_CALL_SECONDS = 12 * 3600
WHEN = CLASSES + ("answered", "tagged")

GOOGLE_CLICK_COLUMNS = ["Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value",
                        "Conversion Currency"]
GOOGLE_CALL_COLUMNS = ["Caller's Phone Number", "Call Start Time", "Conversion Name", "Conversion Time",
                       "Conversion Value", "Conversion Currency"]
MICROSOFT_CLICK_COLUMNS = ["Microsoft Click ID", "Conversion Name", "Conversion Time", "Conversion Value",
                           "Conversion Currency"]

_ACTION = {
    "type": "object", "additionalProperties": False, "required": ["name", "when"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100,
                 "description": "the conversion action's name exactly as in the ad platform"},
        "when": {"enum": list(WHEN)},
        "tag_category": {"type": "string", "minLength": 1, "maxLength": 64,
                         "description": "when=tagged: only calls tagged with this category"},
        "min_talk_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "value": {"type": "number", "minimum": 0, "description": "value when the call has none"},
    },
}
_COMMON = {
    "enabled": {"type": "boolean"},
    "conversion_actions": {"type": "array", "minItems": 1, "maxItems": 20, "items": _ACTION},
    "timezone": {"type": "string", "minLength": 1, "maxLength": 64,
                 "description": "IANA zone for conversion times (default: the account's timezone)"},
    "time_format": {"enum": ["offset", "local"],
                    "description": "offset: 2026-11-20 14:04:12+01:00; local: no offset, the Parameters row decides"},
    "include_suspected_false": {"type": "boolean"},
}
GOOGLE_ADS_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["enabled"],
    "properties": {**_COMMON, "call_conversions": {
        "type": "boolean", "description": "upload calls without a gclid as call conversions (caller id)"}},
}
# Microsoft's template takes the time zone as an HHMM offset in the Parameters row: its file is
# always written in UTC, without per-row offsets, so daylight saving time cannot shift a row.
MICROSOFT_ADS_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["enabled"],
    "properties": {k: v for k, v in _COMMON.items() if k not in ("timezone", "time_format")},
}
DEFAULT_ACTIONS = [{"name": "Calltrack target call", "when": "target"}]


# --- which calls are conversions (pure) ---------------------------------------------

def qualifies(call: Mapping[str, Any], action: Mapping[str, Any], include_suspected_false: bool = False) -> bool:
    if call.get("suspected_false_conversion") and not include_suspected_false:
        return False
    if (call.get("talk_seconds") or 0) < action.get("min_talk_seconds", 0):
        return False
    when = action["when"]
    if when == "answered":
        return call.get("status") == "answered"
    if when == "tagged":
        tags = call.get("tags") or []
        wanted = action.get("tag_category")
        return any(wanted is None or t.get("category") == wanted for t in tags)
    return bool((call.get("classification") or {}).get(when))


def action_slug(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:10]


def conversion_rows(call: Mapping[str, Any], platform: str, section: Mapping[str, Any],
                    default_value: float, default_currency: str) -> List[Dict[str, Any]]:
    """The conversions one completed call yields for one platform (pure)."""
    # Ads bring calls in (inbound, or a callback the visitor asked for); agents' own calls are not conversions.
    if not section.get("enabled") or call.get("status") == "in_progress" or call.get("direction") == "outbound":
        return []
    started = epoch(call.get("started_at"))
    if started is None:
        return []
    click_id = (call.get("click_ids") or {}).get(CLICK_ID_OF[platform])
    if click_id:
        kind = "click"
    elif platform == GOOGLE and section.get("call_conversions", True) and call.get("caller"):
        kind = "call"
    else:
        return []
    ended = epoch(call.get("ended_at")) or started + float(call.get("duration_seconds") or 0)
    # The conversion happens after the call (Google requires it after the call start).
    conversion_at = max(ended, started + 1)
    rows = []
    for action in section.get("conversion_actions") or DEFAULT_ACTIONS:
        if not qualifies(call, action, bool(section.get("include_suspected_false"))):
            continue
        value = call.get("value")
        rows.append({
            "account_id": call["account_id"], "key": f"{platform}#{call['call_id']}#{action_slug(action['name'])}",
            "platform": platform, "kind": kind, "conversion_name": action["name"], "call_id": call["call_id"],
            "click_id": click_id if kind == "click" else None, "call_started_at": started,
            "conversion_at": conversion_at,
            "value": float(value) if value is not None else float(action.get("value", default_value)),
            "currency": call.get("currency") or default_currency,
            "attribution": {k: call.get(k) for k in ("source", "medium", "campaign", "keyword", "content",
                                                     "status", "talk_seconds", "tracking_number")}
            | {"classes": [c for c in CLASSES if (call.get("classification") or {}).get(c)]},
        })
    return rows


# --- the consumer -------------------------------------------------------------------

def default_get_call(account_id: str, call_id: str) -> Dict[str, Any]:
    from chalicelib.calls import store

    return store.get_call(account_id, call_id)


def handle(event: Mapping[str, Any], get_call: Optional[GetCall] = None, clock: Clock = time.time) -> Dict[str, int]:
    """Consumer of `Call Completed` and `Call Tagged`: (re)records the call's conversions."""
    detail = event.get("detail") or {}
    account_id, call_id = detail.get("account_id"), detail.get("call_id")
    account = account_of(account_id)
    sections = {p: account.config.get(p) or {} for p in PLATFORMS}
    if not any(s.get("enabled") for s in sections.values()):
        return {}
    try:
        call = (get_call or default_get_call)(account_id, call_id)
    except NotFound as err:
        # Tagged events can only follow a stored call; a missing one may not be readable yet.
        raise RetryableError(f"call {call_id} of {account_id} not readable yet") from err
    if call.get("status") == "in_progress":
        return {}
    if call.get("spam"):
        # Spam is no conversion (calls/spam.py): one recorded before the call was found to be
        # spam leaves the exports and the feed.
        gone = sum(conversions.forget_call(account_id, call_id, p) for p, s in sections.items() if s.get("enabled"))
        count("ConversionsOfSpamForgotten", gone)
        return {"forgotten": gone} if gone else {}
    outcome: Dict[str, int] = {}
    for platform, section in sections.items():
        for row in conversion_rows(call, platform, section, account.settings.default_value, account.settings.currency):
            result = conversions.upsert(row, account.settings.retention_days, clock)
            outcome[result] = outcome.get(result, 0) + 1
            count(f"Conversion_{platform}_{result}")
    logger.info("conversions recorded", extra={"account_id": account_id, "call_id": call_id, "outcome": outcome})
    return outcome


# --- templates (pure) ---------------------------------------------------------------

def zone(name: Optional[str]) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise BadRequest(f"unknown time zone {name!r}") from err


def platform_time(seconds: float, tz: ZoneInfo, with_offset: bool = True) -> str:
    """`yyyy-mm-dd hh:mm:ss+hh:mm` in `tz` (or without the offset for `time_format: local`)."""
    moment = datetime.fromtimestamp(int(seconds), tz=timezone.utc).astimezone(tz)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if not with_offset:
        return text
    offset = moment.strftime("%z")
    return f"{text}{offset[:3]}:{offset[3:]}"


def parameters_row(tz: ZoneInfo) -> str:
    """`Parameters:TimeZone=` takes a time zone id (America/New_York) or an offset (+0000)."""
    return "Parameters:TimeZone=" + ("+0000" if tz.key == "UTC" else tz.key)


def money(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.2f}"


@dataclass
class Export:
    text: str
    rows: int
    held_back: int          # call conversions younger than TOO_RECENT_CALL_SECONDS
    skipped: int            # call conversions whose caller can no longer be read


def render(header: Sequence[str], rows: Iterable[Sequence[str]], tz: ZoneInfo) -> Tuple[str, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(parameters_row(tz) + "\r\n")
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return buffer.getvalue(), n


def click_rows(items: Iterable[Mapping[str, Any]], tz: ZoneInfo, with_offset: bool) -> Iterator[List[str]]:
    for c in items:
        if c["kind"] == "click":
            yield [c["click_id"], c["conversion_name"], platform_time(c["conversion_at"], tz, with_offset),
                   money(c["value"]), c["currency"] or ""]


def google_ads_csv(items: Sequence[Mapping[str, Any]], tz: ZoneInfo, kind: str, now: float,
                   caller_of: Callable[[str, str], Optional[str]], with_offset: bool = True) -> Export:
    """Google Ads' upload template: click conversions (gclid) or call conversions (caller id)."""
    if kind == "click":
        text, n = render(GOOGLE_CLICK_COLUMNS, click_rows(items, tz, with_offset), tz)
        return Export(text, n, 0, 0)
    held = skipped = 0
    rows = []
    for c in items:
        if c["kind"] != "call":
            continue
        if c["call_started_at"] > now - TOO_RECENT_CALL_SECONDS:
            held += 1
            continue
        caller = caller_of(c["account_id"], c["call_id"])
        if not caller:
            skipped += 1
            continue
        rows.append([caller, platform_time(c["call_started_at"], tz, with_offset), c["conversion_name"],
                     platform_time(c["conversion_at"], tz, with_offset), money(c["value"]), c["currency"] or ""])
    text, n = render(GOOGLE_CALL_COLUMNS, rows, tz)
    return Export(text, n, held, skipped)


def microsoft_ads_csv(items: Sequence[Mapping[str, Any]]) -> Export:
    """Microsoft Advertising's offline conversion template: UTC, `Parameters:TimeZone=+0000`."""
    utc = zone("UTC")
    text, n = render(MICROSOFT_CLICK_COLUMNS, click_rows(items, utc, with_offset=False), utc)
    return Export(text, n, 0, 0)


# --- reads behind the export endpoint and the feed ----------------------------------

MAX_WINDOW_SECONDS = 90 * 86400     # click ids older than 90 days cannot be imported anyway


def window(since: Optional[str], until: Optional[str], now: float, default_days: int = 30) -> Tuple[float, float]:
    def parse(text: str, what: str) -> float:
        at = float(text) if text.replace(".", "", 1).isdigit() else epoch(text)   # no offset: UTC
        if at is None:
            raise BadRequest(f"{what} must be an ISO 8601 time or epoch seconds")
        return at

    end = parse(until, "until") if until else now
    start = parse(since, "since") if since else end - default_days * 86400
    if start > end:
        raise BadRequest("since must not be after until")
    if end - start > MAX_WINDOW_SECONDS:
        raise BadRequest("the window may span at most 90 days")
    return start, end


def section_of(account: accounts.AccountView, platform: str) -> Mapping[str, Any]:
    return account.config.get(platform) or {}


def export(account_id: str, platform: str, kind: str, since: Optional[str], until: Optional[str],
           get_call: Optional[GetCall] = None, clock: Clock = time.time) -> Export:
    account = accounts.get_account(account_id)
    section = section_of(account, platform)
    tz = zone(section.get("timezone") or account.settings.timezone)
    with_offset = section.get("time_format", "offset") == "offset"
    now = clock()
    start, end = window(since, until, now)
    items = list(conversions.by_call_time(account_id, start, end, platform))
    if platform == MICROSOFT:
        return microsoft_ads_csv(items)
    reader = get_call or default_get_call

    def caller_of(acc: str, call_id: str) -> Optional[str]:
        try:
            return reader(acc, call_id).get("caller")
        except NotFound:
            return None

    return google_ads_csv(items, tz, kind, now, caller_of, with_offset)


def feed_item(c: Mapping[str, Any], caller: Optional[str] = None) -> Dict[str, Any]:
    """One conversion as bid tools read it (ISO times; caller only for `pii_policy: plain`)."""
    item = {
        "id": f"{c['key']}#r{c['revision']}", "platform": c["platform"], "kind": c["kind"],
        "conversion_name": c["conversion_name"], "call_id": c["call_id"],
        CLICK_ID_OF[c["platform"]]: c["click_id"], "call_started_at": iso(c["call_started_at"]),
        "conversion_time": iso(c["conversion_at"]), "value": c["value"], "currency": c["currency"],
        "revision": c["revision"], "recorded_at": iso(c["recorded_at"]), **c["attribution"],
    }
    if caller is not None:
        item["caller"] = caller
    return item


def conversion_feed(account_id: str, after: Optional[str], limit: int, platform: Optional[str],
                    get_call: Optional[GetCall] = None, clock: Clock = time.time) -> Dict[str, Any]:
    if platform is not None and platform not in PLATFORMS:
        raise BadRequest(f"platform must be one of {', '.join(PLATFORMS)}")
    account = accounts.get_account(account_id)
    items, cursor = conversions.feed(account_id, after, limit, platform, clock=clock)
    plain = account.settings.pii_policy == "plain"
    out = []
    for c in items:
        caller = None
        if plain and c["kind"] == "call":
            try:
                caller = (get_call or default_get_call)(account_id, c["call_id"]).get("caller")
            except NotFound:
                caller = None
        out.append(feed_item(c, caller))
    return {"conversions": out, "next": cursor, "count": len(out)}
