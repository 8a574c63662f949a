"""A realistic month of demo traffic, so the dashboard has something true to show at
first start: website sessions from several sources (with the pool leases they held),
and the calls they produced with every outcome the product knows.

Deterministic per day (a day's items have fixed ids and content), so running it again
rewrites the same items and only adds the days that are new: idempotent. Batch writes
keep it to a few seconds against the emulator. `make run` calls `seed_month()`.
"""
from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from chalicelib import accounts, demo
from chalicelib.calls.models import Call
from chalicelib.calls.store import CALL_KEYS, agent_key, iso
from chalicelib.db import ttl
from chalicelib.dni.leases import pool_key
from chalicelib.dni.models import Account, Counter, Lease, Number, Session
from chalicelib.dni.usage import exhaustion_key

Clock = Callable[[], float]
DAYS = 30
LEASE_TTL = 300
COOLDOWN = 600
DEMO_TAG_CATEGORIES = [
    {"name": "Sale", "code": "1", "default_value": 180},
    {"name": "Quote", "code": "2", "values": ["boiler", "bathroom", "leak", "drain"], "default_value": 40},
    {"name": "Support", "code": "3"},
    {"name": "Spam", "code": "9"},
]
AGENTS = ("+14155550181", "+14155550182", "+14155550183")   # the numbers the agents answer on


@dataclass(frozen=True)
class Source:
    source: str
    medium: str
    weight: float                     # share of sessions
    call_rate: float                  # calls per session
    campaigns: Tuple[Optional[str], ...] = (None,)
    keywords: Tuple[Optional[str], ...] = (None,)
    static_number: Optional[str] = None  # tracked by a static number instead of the pool


SOURCES = (
    Source("google", "cpc", 0.34, 0.17, ("Emergency plumber", "Boiler repair"),
           ("emergency plumber", "plumber near me", "boiler repair cost", "leaking pipe")),
    Source("google", "organic", 0.22, 0.12, static_number=demo.GOOGLE_ORGANIC_NUMBER),
    Source("facebook", "paid_social", 0.14, 0.06, ("Winter boiler check",)),
    Source("bing", "cpc", 0.08, 0.15, ("Emergency plumber",), ("emergency plumber", "24h plumber")),
    Source("(direct)", "(none)", 0.14, 0.13),
    Source("yelp.com", "referral", 0.08, 0.16),
)
LANDING = ("/", "/emergency", "/boilers", "/bathrooms", "/contact")
DEVICES = (("mobile", "Chrome", "Android", 0.45), ("mobile", "Safari", "iOS", 0.25),
           ("desktop", "Chrome", "Windows", 0.22), ("desktop", "Safari", "macOS", 0.08))


def _weighted(rng: random.Random, items: Iterable[Any], weight: Callable[[Any], float]) -> Any:
    items = list(items)
    return rng.choices(items, weights=[weight(i) for i in items])[0]


def _visit_time(rng: random.Random, day: datetime) -> float:
    """Visits peak in the working day and in the evening."""
    hour = _weighted(rng, range(24), lambda h: 6 if 9 <= h < 18 else 1 if 18 <= h < 22 else 0.6 if 7 <= h < 9 else 0.1)
    return (day + timedelta(hours=hour, seconds=rng.randrange(3600))).timestamp()


def _working(ts: float) -> bool:
    local = datetime.fromtimestamp(ts, timezone.utc)  # the demo account works in UTC, Mon–Fri 09–18
    return local.weekday() < 5 and 9 <= local.hour < 18


def _outcome(rng: random.Random, working: bool) -> str:
    if not working:
        # Out of hours the on-call plumber picks up some emergencies; the rest go to voicemail.
        return _weighted(rng, [("answered", 4), ("voicemail", 4), ("missed", 2), ("abandoned_in_greeting", 1)],
                         lambda x: x[1])[0]
    return _weighted(rng, [("answered", 78), ("missed", 6), ("busy", 3), ("voicemail", 4), ("abandoned_in_greeting", 6),
                           ("ivr_abandoned", 4), ("ivr_no_input", 3), ("failed", 1), ("rejected", 1)],
                     lambda x: x[1])[0]


class Day:
    """One day of traffic, generated from its own seeded random stream."""

    def __init__(self, account_id: str, day: datetime, pool: List[str]) -> None:
        self.account_id = account_id
        self.day = day
        self.key = day.date().isoformat()
        self.rng = random.Random(f"{account_id}:{self.key}")
        self.pool = pool
        self.sessions: List[Dict[str, Any]] = []
        self.calls: List[Dict[str, Any]] = []

    def generate(self, callers: List[str]) -> "Day":
        weekend = self.day.weekday() >= 5
        visits = self.rng.randint(15, 25) if weekend else self.rng.randint(45, 70)
        for i in range(visits):
            self._session(i, callers)
        self._offline_calls(callers)
        self._outbound_calls(callers, 0 if weekend else self.rng.randint(0, 3))
        return self

    def _session(self, i: int, callers: List[str]) -> None:
        rng = self.rng
        src = _weighted(rng, SOURCES, lambda s: s.weight)
        device, browser, os_name, _ = _weighted(rng, DEVICES, lambda d: d[3])
        started = _visit_time(rng, self.day)
        s = {"session_id": f"demo-{self.key}-s{i:03d}", "started_at": started, "source": src.source,
             "medium": src.medium, "campaign": rng.choice(src.campaigns), "keyword": rng.choice(src.keywords),
             "landing_page": rng.choice(LANDING), "device": device, "browser": browser, "os": os_name,
             "country": "US", "method": "static" if src.static_number else "dynamic",
             "tracking_number": src.static_number, "stay": rng.randint(40, 900)}
        # Paid clicks carry the ad platform's click id, so the Ads exports have rows to show.
        click = {("google", "cpc"): "gclid", ("bing", "cpc"): "msclkid"}.get((src.source, src.medium))
        s["click_ids"] = {click: f"demo-{click}-{hashlib.sha256(s['session_id'].encode()).hexdigest()[:20]}"} \
            if click else {}
        self.sessions.append(s)
        if rng.random() < src.call_rate:
            at = started + rng.randint(30, max(31, s["stay"]))
            self.calls.append(self._call(f"demo-{self.key}-c{i:03d}", at, rng.choice(callers), s))

    def _offline_calls(self, callers: List[str]) -> None:
        """The billboard's static number and the German geo number ring without a session."""
        for k in range(self.rng.randint(0, 3)):
            number, source, country = _weighted(self.rng, [(demo.BILLBOARD_NUMBER, "billboard", "US", 4),
                                                           (demo.GERMAN_NUMBER, "geo DE", "DE", 1)], lambda x: x[3])[:3]
            attribution = {"source": source, "medium": "offline", "method": "static", "tracking_number": number,
                           "country": country}
            at = _visit_time(self.rng, self.day)
            self.calls.append(self._call(f"demo-{self.key}-o{k}", at, self.rng.choice(callers), attribution))

    def _outbound_calls(self, callers: List[str], n: int) -> None:
        for k in range(n):
            at = _visit_time(self.rng, self.day)
            call = self._call(f"demo-{self.key}-x{k}", at, self.rng.choice(callers),
                              {"method": "none", "tracking_number": demo.DEFAULT_NUMBER, "country": "US"})
            status = "answered" if self.rng.random() < 0.5 else "missed"
            call.update(direction="outbound", status=status, source=None, medium=None,
                        talk_seconds=self.rng.randint(30, 240) if status == "answered" else 0)
            self.calls.append(call)

    def _call(self, call_id: str, at: float, caller: str, attribution: Mapping[str, Any]) -> Dict[str, Any]:
        rng = self.rng
        status = _outcome(rng, _working(at))
        answered = status == "answered"
        wait = rng.randint(2, 9) if status == "abandoned_in_greeting" else rng.randint(4, 25) if answered \
            else rng.randint(15, 45)
        talk = int(min(1800, rng.lognormvariate(4.4, 0.9))) if answered else 0
        call = {k: None for k in CALL_KEYS}
        call.update({k: attribution.get(k) for k in ("method", "source", "medium", "campaign",
                                                     "keyword", "landing_page", "device", "browser", "os", "country",
                                                     "tracking_number")})
        call.update({
            # A static number stands for its source, not a visit: only pool calls know the session.
            "session_id": attribution.get("session_id") if attribution.get("method") == "dynamic" else None,
            "account_id": self.account_id, "call_id": call_id, "conversation_uuid": call_id, "caller": caller,
            "caller_hash": hashlib.sha256(caller.encode()).hexdigest(), "direction": "inbound", "status": status,
            "started_at": at, "answered_at": at + wait if answered else None, "ended_at": at + wait + talk,
            "wait_seconds": wait, "talk_seconds": talk, "duration_seconds": wait + talk,
            "within_working_hours": _working(at), "ivr_path": ["1"] if rng.random() < 0.6 else [],
            "destination": demo.BUSINESS_LINE, "agent": rng.choice(AGENTS) if answered else None,
            "pages_seen": rng.randint(1, 6) if attribution.get("session_id") else None,
            "click_ids": dict(attribution.get("click_ids") or {}),
            "attribution_confidence": 1.0 if attribution.get("session_id") else None, "tags": [], "value": None,
            "currency": "USD", "suspected_false_conversion": False,
        })
        return call


def _classify(calls: List[Dict[str, Any]], target: int = 30, cycle_days: int = 7) -> None:
    """The product's classification rules over the generated month (docs/architecture.md)."""
    seen: Dict[str, bool] = {}
    last_target: Dict[str, float] = {}
    reached: Dict[str, bool] = {}
    for c in sorted(calls, key=lambda c: c["started_at"]):
        who, t = c["caller"], c["started_at"]
        long_enough = (c["talk_seconds"] or 0) >= target and c["direction"] != "outbound"
        first = who not in seen
        recent = long_enough and t - last_target.get(who, -1e12) < cycle_days * 86400
        c["classification"] = {"unique": first, "target": long_enough and not recent, "repeated": recent,
                               "first_target": long_enough and not reached.get(who, False),
                               "unique_target": first and long_enough}
        seen[who] = True
        if long_enough:
            last_target[who] = t
            reached[who] = True


def _tag(calls: List[Dict[str, Any]], rng: random.Random) -> None:
    """About half the target calls carry an agent's keypad tag, some a value."""
    for c in calls:
        if not c["classification"]["target"] or rng.random() < 0.5:
            continue
        category = _weighted(rng, DEMO_TAG_CATEGORIES, lambda k: {"Sale": 3, "Quote": 4, "Support": 2}.get(k["name"], 1))
        value = rng.choice(category["values"]) if category.get("values") else None
        c["tags"] = [{"category": category["name"], "value": value, "by": "keypad"}]
        c["value"] = float(category.get("default_value") or 0) or None
        if category["name"] == "Sale":
            c["value"] = float(rng.choice((120, 180, 240, 450, 900)))


def _assign_numbers(sessions: List[Dict[str, Any]], pool: List[str], calls: List[Dict[str, Any]]
                    ) -> Tuple[List[Tuple[str, float, float, str]], Dict[str, int]]:
    """Lease pool numbers to the dynamic sessions as the product does (least recently
    released rested number first, soft cool-down); the leases and daily exhaustions."""
    free_at = {n: 0.0 for n in pool}
    leases: List[Tuple[str, float, float, str]] = []
    exhausted: Dict[str, int] = {}
    by_session = {c["session_id"]: c for c in calls if c.get("session_id")}
    for s in sorted((s for s in sessions if s["method"] == "dynamic"), key=lambda s: s["started_at"]):
        t = s["started_at"]
        free = sorted((n for n in pool if free_at[n] <= t), key=lambda n: (free_at[n] + COOLDOWN > t, free_at[n], n))
        if not free:
            day = datetime.fromtimestamp(t, timezone.utc).date().isoformat()
            exhausted[day] = exhausted.get(day, 0) + 1
            s["method"], s["tracking_number"] = "default", demo.DEFAULT_NUMBER
            continue
        number = free[0]
        until = t + s["stay"] + LEASE_TTL
        free_at[number] = until
        s["tracking_number"] = number
        leases.append((number, t, until, s["session_id"]))
    for s in sessions:
        call = by_session.get(s["session_id"])
        if call:
            call["tracking_number"], call["method"] = s["tracking_number"], s["method"]
            if s["method"] != "dynamic":  # the pool ran out: the call is not tied to the visit
                call["session_id"] = call["attribution_confidence"] = call["pages_seen"] = None
    return leases, exhausted


def generate(account_id: str, now: float, days: int = DAYS, pool: Optional[List[str]] = None) -> Dict[str, Any]:
    """Sessions, calls, leases and exhaustion counts of the `days` days up to `now` (pure)."""
    pool = list(pool or demo.POOL_NUMBERS)
    today = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    callers = [f"+1202555{n:04d}" for n in random.Random(account_id).sample(range(100, 9999), 420)]
    sessions: List[Dict[str, Any]] = []
    calls: List[Dict[str, Any]] = []
    for back in range(days - 1, -1, -1):
        day = Day(account_id, today - timedelta(days=back), pool).generate(callers)
        # Nothing in the last hour: a demo lease must never overlap the live pool's leases.
        sessions += [s for s in day.sessions if s["started_at"] + s["stay"] + LEASE_TTL <= now - 3600]
        calls += [c for c in day.calls if c["ended_at"] <= now - 3600]
    leases, exhausted = _assign_numbers(sessions, pool, calls)
    _classify(calls)
    _tag(calls, random.Random(f"{account_id}:tags"))
    _record(calls, now)
    return {"sessions": sessions, "calls": calls, "leases": leases, "exhausted": exhausted}


RECORDED_CALLS = 8


def _record(calls: List[Dict[str, Any]], now: float) -> None:
    """The last days' longer answered calls were recorded (demo_content archives them)."""
    recent = [c for c in calls if c["status"] == "answered" and c["direction"] == "inbound"
              and (c["talk_seconds"] or 0) >= 60 and c["started_at"] > now - 4 * 86400]
    for c in sorted(recent, key=lambda c: -c["started_at"])[:RECORDED_CALLS]:
        c["recording_url"] = "https://api.nexmo.com/v1/files/demo-" + hashlib.sha256(
            c["call_id"].encode()).hexdigest()[:32]


# --- writing ---------------------------------------------------------------------

def call_item(record: Mapping[str, Any], keep_days: int = 400) -> Call:
    """A Call item holding `record` (the API representation, times in epoch seconds)."""
    rec = dict(record)
    started = float(rec["started_at"])
    for key in ("started_at", "answered_at", "ended_at"):
        if isinstance(rec.get(key), (int, float)):
            rec[key] = iso(rec[key])
    classes = {k for k, v in (rec.get("classification") or {}).items() if v} or None
    return Call(rec["call_id"], account_id=rec["account_id"], started_at=started, direction=rec["direction"],
                rec={k: v for k, v in rec.items() if k not in ("tags", "value")}, status=rec["status"],
                source=rec.get("source"), agent_key=agent_key(rec["account_id"], rec), classes=classes, tags=list(rec.get("tags") or []),
                value=rec.get("value"), expires=ttl(started + keep_days * 86400))


def write_calls(records: Iterable[Mapping[str, Any]]) -> int:
    """Store finished calls as `calls.store` reads them (batch writes)."""
    n = 0
    with Call.batch_write() as batch:
        for record in records:
            batch.save(call_item(record))
            n += 1
    return n


def session_item(account_id: str, s: Mapping[str, Any], keep_days: int = 400) -> Session:
    return Session(s["session_id"], account_id=account_id, started_at=s["started_at"],
                   number=s.get("tracking_number") or demo.DEFAULT_NUMBER, method=s.get("method") or "default",
                   pool_id="main" if s.get("method") == "dynamic" else None, source=s["source"], medium=s["medium"],
                   campaign=s.get("campaign"), keyword=s.get("keyword"), landing_page=s.get("landing_page"),
                   device=s.get("device"), browser=s.get("browser"), os=s.get("os"), country=s.get("country"),
                   click_ids=dict(s.get("click_ids") or {}), expires=ttl(s["started_at"] + keep_days * 86400))


def write_sessions(account_id: str, sessions: Iterable[Mapping[str, Any]]) -> int:
    n = 0
    with Session.batch_write() as batch:
        for s in sessions:
            batch.save(session_item(account_id, s))
            n += 1
    return n


def _write_leases(account_id: str, leases: Iterable[Tuple[str, float, float, str]]) -> None:
    with Lease.batch_write() as batch:
        for number, start, until, session_id in leases:
            batch.save(Lease(number, start, until=until, last_seen=until - LEASE_TTL, session_id=session_id,
                             account_id=account_id, expires=ttl(until + 400 * 86400)))


def _write_exhaustions(account_id: str, exhausted: Mapping[str, int], now: float) -> None:
    with Counter.batch_write() as batch:
        for day, n in exhausted.items():
            batch.save(Counter(exhaustion_key(account_id, "main", day), n=n, expires=ttl(now + 400 * 86400)))


def _ensure_tag_categories(account_id: str) -> None:
    account = Account.get(account_id)
    if not (account.config or {}).get("tag_categories"):
        account.update(actions=[Account.config.set({**(account.config or {}),
                                                    "tag_categories": DEMO_TAG_CATEGORIES})])
        accounts.invalidate(account_id)


def _rebuild_rollups(account_id: str, now: float, days: int) -> None:
    """Reports read roll-ups: build them for the seeded days the way `calltrack rollups
    rebuild` does (the stream consumer would too, a little later)."""
    from datetime import datetime, timedelta

    from chalicelib.reports import rollup_store

    tz = rollup_store.tz_of(account_id)
    last = datetime.fromtimestamp(now, tz).date()
    rollup_store.rebuild(account_id, last - timedelta(days=days + 1), last)


def seed_month(account_id: str = demo.DEMO_ACCOUNT, clock: Clock = time.time, days: int = DAYS,
               pool: Optional[List[str]] = None) -> Dict[str, int]:
    """Write a month of sessions, leases and calls for the (seeded) account; idempotent."""
    now = clock()
    pool = pool or sorted(n.number for n in Number.pool_index.query(pool_key(account_id, "main"))) or None
    data = generate(account_id, now, days, pool)
    _ensure_tag_categories(account_id)
    write_sessions(account_id, data["sessions"])
    _write_leases(account_id, data["leases"])
    _write_exhaustions(account_id, data["exhausted"], now)
    write_calls(data["calls"])
    from chalicelib import demo_content

    demo_content.seed(account_id, data["calls"], now)   # recordings, transcripts, Ads conversions
    _rebuild_rollups(account_id, now, days)
    return {"sessions": len(data["sessions"]), "calls": len(data["calls"]), "leases": len(data["leases"]),
            "exhaustions": sum(data["exhausted"].values())}
