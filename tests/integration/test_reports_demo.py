"""`seed_month` against moto: idempotent, and the report over it adds up."""
from __future__ import annotations

import time

from chalicelib import accounts, demo_traffic
from chalicelib.calls import store
from chalicelib.dni.models import Session
from chalicelib.reports import pools, service


def test_seed_month_twice_writes_the_same_month_and_reports_add_up(account):
    acc = account()
    a = acc.account_id
    now = time.time()
    first = demo_traffic.seed_month(a, clock=lambda: now, days=7)
    second = demo_traffic.seed_month(a, clock=lambda: now, days=7)
    assert first == second and first["calls"] > 20
    stored = list(store.query_calls(a, now - 40 * 86400, now))
    assert len(stored) == first["calls"] == len({c["call_id"] for c in stored})
    sessions = list(Session.account_index.query(a, Session.started_at.between(now - 40 * 86400, now)))
    assert len(sessions) == first["sessions"]
    rep = service.run_report(a, {"from": time.strftime("%Y-%m-%d", time.gmtime(now - 40 * 86400)),
                                 "breakdowns": "status"}, clock=lambda: now)
    assert rep["totals"]["calls"] == first["calls"] and rep["totals"]["sessions"] == first["sessions"]
    assert sum(r["calls"] for r in rep["rows"]) == first["calls"]
    assert {r["key"] for r in rep["breakdowns"]["status"]} >= {"answered", "missed", "voicemail"}
    assert accounts.get_account(a).config["tag_categories"] == demo_traffic.DEMO_TAG_CATEGORIES
    (pool,) = pools.pool_health(a, days=30, clock=lambda: now)["pools"]
    assert pool["leases_in_window"] > 0 and pool["peak_concurrent_leases"] >= 1


def test_the_demo_month_has_recordings_transcripts_and_ads_conversions(moto_endpoint):
    """What the dashboard's demo shows is real data, through the product's own paths:
    archived recordings play from presigned links, transcripts were analysed by the rules,
    paid clicks became Google and Microsoft Ads conversions."""
    import urllib.request

    from chalicelib.integrations import bidding
    from chalicelib.intelligence import analysis
    from chalicelib.reports import archive

    from chalicelib import demo

    # A fixed account and day: the generator is deterministic per (account, day), so the
    # month always holds paid clicks of both platforms (random ids made that a matter of luck).
    a = "t-demo-content"
    demo.seed_account(a, pool=[f"+1415777{n:04d}" for n in range(5)])
    now = 1_796_000_000.0                                         # 2026-11-30 (a fixed "today")
    demo_traffic.seed_month(a, clock=lambda: now, days=14)
    calls = list(store.query_calls(a, now - 15 * 86400, now))
    recorded = [c for c in calls if c["recording_url"]]
    assert 1 <= len(recorded) <= demo_traffic.RECORDED_CALLS
    link = archive.link_of(a, recorded[0]["call_id"])
    with urllib.request.urlopen(link["url"], timeout=5) as answer:     # the emulator's S3, presigned
        assert answer.read(4) == b"RIFF"
    analysed = [c for c in calls if c.get("lead")]
    assert analysed and all(analysis.transcript_of(a, c["call_id"]) for c in analysed)
    assert {c["lead"] for c in analysed} & {"qualified", "converted"}
    clicks = [c for c in calls if (c["click_ids"] or {}).get("gclid")]
    assert clicks and any((c["click_ids"] or {}).get("msclkid") for c in calls)
    google = bidding.export(a, "google_ads", "click", None, None, clock=lambda: now)
    microsoft = bidding.export(a, "microsoft_ads", "click", None, None, clock=lambda: now)
    # One row per target call with the platform's click id (the default conversion action).
    def expected(click: str) -> int:
        return sum(1 for c in calls if (c["click_ids"] or {}).get(click) and (c["classification"] or {}).get("target"))

    assert (google.rows, microsoft.rows) == (expected("gclid"), expected("msclkid"))
    assert google.rows > 0 and microsoft.rows > 0, (google.rows, microsoft.rows)
    assert "demo-gclid-" in google.text and "demo-msclkid-" in microsoft.text


def test_the_demo_account_keeps_its_numbers_time_zone(moto_endpoint):
    from chalicelib import demo

    assert accounts.get_account(demo.DEMO_ACCOUNT).settings.timezone == "America/Los_Angeles"
    assert all(n.startswith("+1415") for n in demo.POOL_NUMBERS)
