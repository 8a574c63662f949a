"""50 visitors at once on a 5-number pool, over HTTP to `chalice local` against moto:
no number is ever held by two live sessions, everyone else gets a fallback, nothing errors."""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from chalicelib.dni.models import Number, Session

VISITORS = 50
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def test_fifty_concurrent_leases_on_a_small_pool(api_server, account):
    acc = account()
    pool = {n.number for n in Number.pool_index.query(f"{acc.account_id}#main")}
    assert len(pool) < VISITORS
    start = threading.Barrier(VISITORS)

    def visit(i: int) -> requests.Response:
        start.wait()
        return requests.post(f"{api_server}/v1/sessions", timeout=60,
                             headers={"Content-Type": "text/plain", "User-Agent": BROWSER,
                                      "X-Forwarded-For": f"198.51.100.{i}"},
                             data=f'{{"account": "{acc.account_id}", "url": "http://localhost/?v={i}"}}')

    with ThreadPoolExecutor(max_workers=VISITORS) as ex:
        responses = list(ex.map(visit, range(VISITORS)))

    assert [r.status_code for r in responses] == [200] * VISITORS, [r.text for r in responses if r.status_code != 200]
    bodies = [r.json() for r in responses]
    methods = Counter(b["method"] for b in bodies)
    dynamic = [b for b in bodies if b["method"] == "dynamic"]
    assert methods == {"dynamic": len(pool), "default": VISITORS - len(pool)}
    assert sorted(b["number"] for b in dynamic) == sorted(pool), "each pool number leased exactly once"
    assert all(b["number"] == acc.default_number for b in bodies if b["method"] != "dynamic")
    # The database agrees: every number's one holder is the session that was told it holds it.
    for b in dynamic:
        assert Number.get(b["number"]).holder == b["session_id"]
        assert Session.get(b["session_id"]).number == b["number"]


def test_a_burst_on_a_roomy_pool_gets_pool_numbers_and_counts_no_exhaustion(account):
    """20 visitors at the same instant on 40 free numbers: each gets one, none falls back."""
    from chalicelib.dni import sessions, usage

    numbers = [f"+1646555{n:04d}" for n in range(40)]
    acc = account(pool=numbers)
    now = time.time()
    start = threading.Barrier(20)

    def visit(i: int) -> sessions.Assignment:
        start.wait()
        return sessions.start(sessions.SessionRequest(account=acc.account_id, url=f"http://localhost/?b={i}",
                                                      user_agent=BROWSER), lambda: now)

    with ThreadPoolExecutor(max_workers=20) as ex:
        got = list(ex.map(visit, range(20)))
    assert Counter(a.method for a in got) == {"dynamic": 20}
    assert len({a.number for a in got}) == 20
    assert usage.exhaustions(acc.account_id, "main", now - 86400, now + 86400) == 0
