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
