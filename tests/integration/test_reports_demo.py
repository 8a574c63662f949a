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
