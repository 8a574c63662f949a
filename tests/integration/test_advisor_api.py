"""GET /v1/accounts/{id}/pools/{pool}/advice: the advisor on the account's own recorded
sessions (Session.account_index + lease history), through the admin API."""
from __future__ import annotations

import time

from chalicelib.dni import sessions
from chalicelib.sim.replay import BROWSER

KEY = "advisor-key-0123456789"


def record_traffic(account_id: str, start: float, visits: int = 48) -> None:
    """`visits` visitors, one every 5 minutes, each beating for a few minutes."""
    clock = {"t": start}
    tick = lambda: clock["t"]  # noqa: E731
    for i in range(visits):
        clock["t"] = start + i * 300
        lease = sessions.start(sessions.SessionRequest(account=account_id, url="http://localhost/",
                                                       user_agent=BROWSER), tick)
        for beat in range(1 + i % 3):
            clock["t"] += 60
            sessions.heartbeat(lease.session_id, None, tick)


def get(client, path: str, key: str = KEY):
    return client.http.get(path, headers={"Authorization": f"Bearer {key}"} if key else {})


def test_advice_from_the_pools_recorded_sessions(client, account):
    from chalicelib.integrations import bus

    bus.bootstrap()
    acc = account(api_key=KEY)
    record_traffic(acc.account_id, time.time() - 6 * 3600)
    r = get(client, f"/v1/accounts/{acc.account_id}/pools/main/advice?accuracy=0.95&days=1")
    assert r.status_code == 200, r.body
    advice = r.json_body
    assert (advice["sessions"], advice["current_size"], advice["pool_id"]) == (48, 5, "main")
    assert isinstance(advice["recommended"], int) and 1 <= advice["recommended"] <= 5
    chosen = next(row for row in advice["sizes"] if row["size"] == advice["recommended"])
    assert chosen["right_near"] >= 0.95
    assert all(row["right_near"] < 0.95 for row in advice["sizes"] if row["size"] < advice["recommended"])


def test_advice_needs_the_accounts_key_and_sane_parameters(client, account):
    acc = account(api_key=KEY)
    path = f"/v1/accounts/{acc.account_id}/pools/main/advice"
    assert get(client, path, key=None).status_code == 401
    assert get(client, path, key="demo-secret-key").status_code == 403          # the demo account's key
    for bad in ("accuracy=2", "accuracy=abc", "days=0", "days=500", "colour=red"):
        r = get(client, f"{path}?{bad}")
        assert r.status_code == 400 and r.json_body["error"], (bad, r.body)
    empty = get(client, path).json_body
    assert empty["recommended"] is None and "at least" in empty["note"]


def test_pool_health_and_the_advice_give_one_recommendation(client, account):
    from chalicelib.dni import sizing

    acc = account(api_key=KEY)
    record_traffic(acc.account_id, time.time() - 6 * 3600)
    health_path = f"/v1/accounts/{acc.account_id}/pool-health?pool=main"
    before = get(client, health_path).json_body["pools"][0]
    assert before["recommendation"]["basis"] == "peak" and before["recommendation"]["simulated_need"] is None
    assert before["recommended_size"] == before["recommendation"]["peak_need"]

    advice = get(client, f"/v1/accounts/{acc.account_id}/pools/main/advice").json_body   # the defaults: kept
    assert sizing.stored(acc.account_id, "main")["recommended"] == advice["recommended"]
    after = get(client, health_path).json_body["pools"][0]
    rec = after["recommendation"]
    assert rec["simulated_need"] == advice["recommended"]
    assert rec["basis"] == "simulated"
    assert after["recommended_size"] == max(after["peak_concurrent_leases"], advice["recommended"], 2) == \
        advice["recommendation"]["recommended_size"]
    assert rec["expected_accuracy"] is not None and rec["advice_computed_at"] is not None
    bands = after["reliability"]["bands"]
    assert [b["band"] for b in bands][0] == "0.00-0.50" and sum(b["calls"] for b in bands) > 0

    # Advice at other parameters answers the question asked and leaves the kept one alone.
    get(client, f"/v1/accounts/{acc.account_id}/pools/main/advice?accuracy=0.5&days=1")
    assert sizing.stored(acc.account_id, "main")["accuracy"] == 0.99


def test_the_daily_schedule_keeps_advice_for_every_pool(client, account):
    from chalicelib.dni import advisor, sizing

    acc = account(api_key=KEY)
    record_traffic(acc.account_id, time.time() - 6 * 3600)
    assert advisor.refresh_all()["pools"] >= 1
    assert sizing.stored(acc.account_id, "main")["sessions"] == 48


def test_visitors_refused_a_number_count_as_demand_in_the_replay(client, account):
    # One number, a visitor a minute: most are refused (the default number). They carry no
    # pool id, but for the default pool they join the replay, so the advice is not a lower bound.
    first = int(time.time() * 1000) % 9000
    acc = account(api_key=KEY, pool=[f"+1415557{first:04d}"])
    start = time.time() - 3 * 3600
    for i in range(60):
        sessions.start(sessions.SessionRequest(account=acc.account_id, url="http://localhost/", user_agent=BROWSER),
                       lambda i=i: start + i * 60)
    advice = get(client, f"/v1/accounts/{acc.account_id}/pools/main/advice?accuracy=0.95&days=1").json_body
    assert advice["fallback_sessions"] >= 40 and advice["refused_in_replay"] == advice["fallback_sessions"]
    assert advice["sessions"] == 60 and advice["current_size"] == 1
    assert advice["recommended"] > 3


def test_one_pools_failure_does_not_stop_the_daily_advice_and_the_budget_is_kept(client, account, monkeypatch):
    from chalicelib.dni import advisor

    acc = account(api_key=KEY)
    real = advisor.advise_account
    seen = []

    def flaky(account_id, pool_id, *args, **kwargs):
        seen.append(account_id)
        if account_id == acc.account_id:
            raise RuntimeError("emulator hiccup")
        return {"pool_id": pool_id}

    monkeypatch.setattr(advisor, "advise_account", flaky)
    outcome = advisor.refresh_all()
    assert outcome["failed"] == 1 and outcome["pools"] == len(seen) - 1 >= 1 and outcome["left"] == 0
    assert advisor.refresh_all(budget_seconds=-1) == {"pools": 0, "failed": 0, "left": len(seen)}
    monkeypatch.setattr(advisor, "advise_account", real)
