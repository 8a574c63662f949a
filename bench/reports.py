"""Reports at customer scale: time and DynamoDB bytes read for 1, 3 and 13 months at 1,200
and 10,000 visits a day, and the stream's lag from a write to the roll-up.

Roll-ups for the large cases are written by the rebuild's cube writer
(`rollup_store.store_cubes`) from generated facts, one day at a time: 13 months at
10,000 visits a day are 4 million sessions, more than the emulator can hold. One case
writes real session and call items and lets the stream consumer build its roll-ups.
"""
from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, List, Tuple

TZ = "America/New_York"
SOURCES = [("google", "cpc", 0.30), ("google", "organic", 0.25), ("(direct)", "(none)", 0.15), ("bing", "cpc", 0.06),
           ("facebook", "paid_social", 0.08), ("newsletter", "email", 0.04), ("yelp.com", "referral", 0.07),
           ("billboard", "offline", 0.05)]
CAMPAIGNS = [f"campaign-{i}" for i in range(12)]
KEYWORDS = [f"keyword {i}" for i in range(60)]
PAGES = [f"https://acme.example/{p}" for p in ("", "boilers", "leaks", "pricing", "contact", "about", "blog")] + [
    f"https://acme.example/blog/post-{i}" for i in range(33)]
DEVICES = [("mobile", "Chrome", "Android"), ("mobile", "Safari", "iOS"), ("desktop", "Chrome", "Windows"),
           ("desktop", "Safari", "macOS"), ("desktop", "Edge", "Windows"), ("tablet", "Safari", "iOS")]
STATUSES = [("answered", 0.62), ("missed", 0.18), ("voicemail", 0.1), ("abandoned_in_greeting", 0.06), ("busy", 0.04)]
CASES = ((1_200, (1, 3, 13)), (10_000, (1, 3, 13)))
QUERIES = (("default (group_by=source)", {}), ("by day, series by source", {"group_by": "day", "series": "source"}),
           ("campaign=campaign-3, by keyword (combo cube)", {"campaign": "campaign-3", "group_by": "keyword"}),
           ("campaign-3 + mobile, by keyword (combo cube)", {"campaign": "campaign-3", "device": "mobile",
                                                             "group_by": "keyword"}),
           ("google + mobile + missed, by campaign (combo cube + calls)",
            {"source": "google", "device": "mobile", "status": "missed", "group_by": "campaign"}),
           ("landing page /pricing, by source (wide rows)",
            {"landing_page": "https://acme.example/pricing", "group_by": "source"}))
WIDE_MONTHS = 3            # the wide read is measured up to this span (it grows with traffic)


def _pick(rng: random.Random, weighted: List[Tuple[Any, ...]]) -> Tuple[Any, ...]:
    x, acc = rng.random(), 0.0
    for item in weighted:
        acc += item[-1]
        if x < acc:
            return item
    return weighted[-1]


def day_facts(rng: random.Random, day: date, visits: int, numbers: List[str]) -> Tuple[List[Dict], List[Dict]]:
    """One day of session and call facts with the cardinalities of a real site."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc).timestamp() + 5 * 3600
    sessions, calls = [], []
    for i in range(visits):
        source, medium, _ = _pick(rng, SOURCES)
        device, browser, os_name = rng.choice(DEVICES)
        paid = medium in ("cpc", "paid_social")
        s = {"_id": uuid.uuid4().hex, "started_at": start + rng.random() * 86400, "source": source, "medium": medium,
             "campaign": rng.choice(CAMPAIGNS) if paid else None, "keyword": rng.choice(KEYWORDS) if medium == "cpc"
             else None, "landing_page": rng.choice(PAGES), "method": "dynamic" if paid else "static",
             "tracking_number": rng.choice(numbers), "country": rng.choice(["US"] * 9 + ["CA"]),
             "device": device, "browser": browser, "os": os_name,
             "referrer": f"https://www.{source}.com/" if medium not in ("(none)", "offline") else None}
        sessions.append({k: v for k, v in s.items() if v is not None})
        if rng.random() < 0.04:
            status = _pick(rng, STATUSES)[0]
            talk = rng.randint(5, 600) if status == "answered" else 0
            calls.append({**{k: v for k, v in s.items() if k not in ("_id", "started_at") and v is not None},
                          "_id": uuid.uuid4().hex, "session_id": s["_id"], "started_at": s["started_at"] + 300,
                          "direction": "inbound", "status": status, "wait_seconds": rng.randint(3, 40),
                          "talk_seconds": talk, "within_working_hours": rng.random() < 0.75,
                          "classification": {"unique": True, "target": True} if talk >= 60 else {"unique": True}})
    return sessions, calls


def seed(account_id: str, visits: int, months: int, numbers: List[str], today: date) -> float:
    """Write `months` of roll-ups ending today through the rebuild's cube writer; seconds taken."""
    from chalicelib.reports import rollup_store
    from chalicelib.reports.filters import zone

    tz, rng = zone(TZ), random.Random(visits)
    first = today - timedelta(days=30 * months - 1)
    started = time.perf_counter()
    day, touched = first, set()
    while day <= today:
        sessions, calls = day_facts(rng, day, int(visits * rng.uniform(0.8, 1.2)), numbers)
        rollup_store.store_cubes(account_id, day.isoformat(), sessions, calls, tz)
        touched.add(day.isoformat()[:7])
        day += timedelta(days=1)
    for month in sorted(touched):
        rollup_store.recompute_month(account_id, month)
    return time.perf_counter() - started


def measure(client: Any, account_id: str, key: str, params: Dict[str, str], runs: int) -> Dict[str, Any]:
    from urllib.parse import urlencode

    from bench.ops import COUNTER
    from chalicelib.reports import rollup_store

    times, own, read = [], [], None
    for _ in range(runs):
        rollup_store.READS.reset()
        waited = COUNTER.aws_seconds
        start = time.perf_counter()
        r = client.http.get(f"/v1/accounts/{account_id}/reports?{urlencode(params)}",
                            headers={"Authorization": f"Bearer {key}"})
        times.append((time.perf_counter() - start) * 1000)
        own.append(times[-1] - (COUNTER.aws_seconds - waited) * 1000)
        assert r.status_code == 200, r.body
        read = (rollup_store.READS.items, rollup_store.READS.bytes, rollup_store.READS.requests)
        sessions = r.json_body["totals"]["sessions"]
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
            "own_p50_ms": round(statistics.median(own), 1), "items": read[0],
            "bytes": read[1], "requests": read[2], "sessions": sessions}


def reports_at_scale(client: Any, quick: bool = False) -> List[Dict[str, Any]]:
    from bench.ops import fresh_account

    today = datetime.now(timezone.utc).date()
    rows = []
    cases = ((1_200, (1, 3)),) if quick else CASES
    for visits, spans in cases:
        key = "k-" + uuid.uuid4().hex
        account_id, numbers = fresh_account(30 if visits < 5000 else 100, api_key=key)
        _set_timezone(account_id)
        seconds = seed(account_id, visits, max(spans), numbers, today)
        for months in spans:
            first = today - timedelta(days=30 * months - 1)     # "N months": the last 30 × N days
            for label, extra in QUERIES:
                if "wide" in label and months > WIDE_MONTHS:
                    continue
                params = {"from": first.isoformat(), "to": today.isoformat(), **extra}
                got = measure(client, account_id, key, params, runs=2 if quick else 5)
                rows.append({"visits_per_day": visits, "months": months, "query": label, "seed_seconds":
                             round(seconds), **got})
    return rows


def _set_timezone(account_id: str) -> None:
    from chalicelib import accounts
    from chalicelib.dni.models import Account

    item = Account.get(account_id)
    item.update(actions=[Account.settings.set({**(item.settings or {}), "timezone": TZ})])
    accounts.invalidate(account_id)


def stream_lag(client: Any, sessions: int = 2_000) -> Dict[str, Any]:
    """Real items through the real stream: a batch of sessions written with BatchWriteItem,
    then one lease; time from the write until the report counts it."""
    from chalicelib import streams
    from chalicelib.demo_traffic import write_sessions

    from bench.ops import fresh_account, post_lease

    key = "k-" + uuid.uuid4().hex
    account_id, _ = fresh_account(5, api_key=key)
    streams.catch_up()
    now = time.time()
    rng = random.Random(5)
    write_sessions(account_id, [{"session_id": f"{account_id}.-.0.{i}", "started_at": now - rng.uniform(0, 20 * 86400),
                                 "source": rng.choice(["google", "bing"]), "medium": "organic"}
                                for i in range(sessions)])
    start = time.perf_counter()
    handled = streams.catch_up()
    batch_seconds = time.perf_counter() - start
    lags = []
    for _ in range(5):
        post_lease(client, account_id)
        start = time.perf_counter()
        streams.catch_up()
        lags.append((time.perf_counter() - start) * 1000)
    r = client.http.get(f"/v1/accounts/{account_id}/reports", headers={"Authorization": f"Bearer {key}"})
    counted = r.json_body["totals"]["sessions"]
    assert counted == sessions + 5, (counted, sessions)
    return {"sessions": sessions, "records": handled, "batch_seconds": round(batch_seconds, 1),
            "per_record_ms": round(batch_seconds * 1000 / max(1, handled), 2),
            "one_lease_lag_ms": round(statistics.median(lags), 1), "counted": counted}
