"""Tenant isolation, for EVERY account-scoped route the app serves (discovered from
`app.routes`, so a route added later is covered without editing this file):
no key → 401, an unknown key → 401, account A's key or A's signed-in admin on account
B's path → 403/404,
and B's data is byte-for-byte unchanged afterwards. Then the object-level cases: A's
own path naming B's key, number or call never reaches B's item."""
from __future__ import annotations

import json
import string
import time
import uuid

import pytest

from chalicelib.auth import hash_key

ACCOUNT_PREFIX = "/v1/accounts/{account_id}"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def account_routes():
    from app import app

    return sorted((path, method) for path, methods in app.routes.items() if path.startswith(ACCOUNT_PREFIX)
                  for method in methods)


class Tenant:
    def __init__(self, prefix: str, first_digit: int):
        from chalicelib import demo

        self.account_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.key = f"{prefix}-key-{uuid.uuid4().hex}"
        self.second_key = f"{prefix}-key2-{uuid.uuid4().hex}"
        base = int(uuid.uuid4().hex[:3], 16) % 900
        self.pool = [f"+1415{first_digit}55{base + i:04d}" for i in range(3)]
        demo.seed_account(self.account_id, pool=self.pool, api_key=self.key,
                          extra_config={"tag_categories": [{"name": "sale"}]})
        from chalicelib.dni.models import ApiKey

        ApiKey(hash_key(self.second_key), account_id=self.account_id, label="second", created_at=time.time()).save()
        self.call_id = self._call()

    def _call(self):
        try:
            from chalicelib.calls.models import Call
            from chalicelib.calls.store import CALL_KEYS
        except ImportError:
            return "no-call"
        call_id = f"conv-{uuid.uuid4()}"
        now = time.time()
        rec = {k: None for k in CALL_KEYS}
        rec.update({"call_id": call_id, "account_id": self.account_id, "status": "answered", "direction": "inbound",
                    "tracking_number": self.pool[0], "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                    "recording_url": "http://127.0.0.1:9/recording.mp3", "tags": [],
                    "classification": {c: False for c in ("unique", "target", "repeated", "first_target", "unique_target")}})
        Call(call_id, account_id=self.account_id, started_at=now, direction="inbound", status="answered",
             rec=rec, tags=[]).save()
        return call_id

    def params(self):
        return {"account_id": self.account_id, "key_id": hash_key(self.second_key), "number": self.pool[0],
                "pool_id": "main", "section": "default_pool", "call_id": self.call_id, "subscription_id": "main"}

    def snapshot(self):
        """Every stored item of the account, as plain JSON."""
        from chalicelib.dni.models import Account, ApiKey, Number

        def plain(item):
            return json.loads(json.dumps(item.attribute_values, default=str, sort_keys=True))

        shot = {"account": plain(Account.get(self.account_id, consistent_read=True)),
                "numbers": sorted((plain(n) for n in Number.scan(Number.account_id == self.account_id)),
                                  key=lambda n: n["number"]),
                "keys": sorted((plain(k) for k in ApiKey.scan(ApiKey.account_id == self.account_id)),
                               key=lambda k: k["key_hash"])}
        try:
            from chalicelib.calls.models import Call

            shot["calls"] = sorted((plain(c) for c in Call.scan(Call.account_id == self.account_id)),
                                   key=lambda c: c["call_id"])
        except ImportError:
            pass
        return shot


@pytest.fixture(scope="module")
def tenants(moto_endpoint):
    from chalicelib import demo
    from chalicelib.people import directory

    pair = Tenant("ta", 2), Tenant("tb", 3)
    for t in pair:   # and an admin person of each: users are isolated as keys are
        email = f"admin-{t.account_id}@example.com"
        demo.seed_users(t.account_id, [(email, "admin", None)])
        t.token = directory.sign_in(email, demo.DEMO_PASSWORD)["access_token"]
    return pair


# Bodies an intruder might send; the tenant check comes before any validation.
BODIES = {
    "PATCH": {"name": "taken over", "enabled": False, "timezone": "UTC"},
    "PUT": {"value": "main", "rules": [], "geo": [], "tags": [{"category": "sale"}]},
    "POST": {"label": "intruder", "numbers": ["+14155559999"]},
}


def request(client, method, path, key=None, body=None):
    headers = {"Content-Type": "application/json", "User-Agent": BROWSER}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    raw = json.dumps(body if body is not None else BODIES.get(method, {}))
    r = client.http.request(method, path, headers=headers, body=raw if method != "GET" else b"")
    return r.status_code, r.body


def fill(path, params):
    names = [name for _, name, _, _ in string.Formatter().parse(path) if name]
    return path.format(**{n: params.get(n, "x") for n in names})


def test_every_account_route_is_covered_here():
    """The routes these tests walk are exactly the account routes the API documents: a route
    missing from the discovery (or an undocumented one) fails here."""
    from chalicelib.admin.openapi import OPERATIONS

    documented = {(op.path, op.method) for op in OPERATIONS if op.path.startswith(ACCOUNT_PREFIX)}
    assert set(account_routes()) == documented


@pytest.mark.parametrize("path,method", account_routes())
def test_no_key_unknown_key_and_other_tenants_key_are_refused(client, tenants, path, method):
    a, b = tenants
    url = fill(path, b.params())
    before = b.snapshot()
    status, body = request(client, method, url)
    assert status == 401 and json.loads(body)["error"] == "unauthorized", (method, url, status, body)
    status, body = request(client, method, url, key="ct_not-a-key-" + uuid.uuid4().hex)
    assert status == 401, (method, url, status, body)
    status, body = request(client, method, url, key=a.key)
    assert status in (403, 404), (method, url, status, body)
    assert set(json.loads(body)) == {"error", "message"}
    status, body = request(client, method, url, key=a.token)
    assert status == 403 and json.loads(body)["error"] == "forbidden", (method, url, status, body)
    assert b.snapshot() == before, f"{method} {url} with another account's key or user changed its data"
    # The same request with B's own key is not refused for want of rights: the 403 above
    # came from the tenant check, not from a route that refuses everyone.
    if method == "GET":
        for own in (b.key, b.token):
            status, body = request(client, method, url, key=own)
            assert status not in (401, 403), (method, url, status, body)


def test_a_revoked_key_opens_nothing(client, tenants):
    from chalicelib.dni.models import ApiKey

    a, _ = tenants
    spare = "spare-" + uuid.uuid4().hex
    ApiKey(hash_key(spare), account_id=a.account_id, label="spare", created_at=time.time(), revoked=True).save()
    for path, method in account_routes():
        if method == "GET":
            status, _ = request(client, method, fill(path, a.params()), key=spare)
            assert status == 401, (path, status)


def own(a, suffix):
    return f"/v1/accounts/{a.account_id}{suffix}"


def test_own_path_with_the_other_tenants_key_id(client, tenants):
    a, b = tenants
    before = b.snapshot()
    b_key = hash_key(b.second_key)
    assert request(client, "DELETE", own(a, f"/keys/{b_key}"), a.key)[0] == 404
    assert request(client, "POST", own(a, f"/keys/{b_key}/rotate"), a.key, {})[0] == 404
    status, body = request(client, "GET", own(a, "/keys"), a.key)
    assert b_key not in body.decode() and status == 200
    assert b.snapshot() == before


def test_own_path_with_the_other_tenants_number(client, tenants):
    a, b = tenants
    before = b.snapshot()
    n = b.pool[1]
    assert request(client, "GET", own(a, f"/numbers/{n}"), a.key)[0] == 404
    assert request(client, "PATCH", own(a, f"/numbers/{n}"), a.key, {"enabled": False})[0] == 404
    assert request(client, "DELETE", own(a, f"/numbers/{n}"), a.key)[0] == 404
    assert request(client, "DELETE", own(a, f"/pools/main/numbers/{n}"), a.key)[0] == 404
    assert request(client, "POST", own(a, "/pools/main/numbers"), a.key, {"numbers": [n]})[0] == 409
    assert request(client, "POST", own(a, "/numbers"), a.key, {"number": n, "kind": "static", "source": "x"})[0] == 409
    assert request(client, "PATCH", own(a, ""), a.key, {"default_number": n})[0] == 409
    # Rules and geo may only point at the account's own numbers.
    rule = {"rules": [{"id": "steal", "match": {"source": "google"}, "number": n}]}
    assert request(client, "PUT", own(a, "/rules"), a.key, rule)[0] == 400
    assert request(client, "PUT", own(a, "/geo"), a.key, {"geo": [{"country": "US", "number": n}]})[0] == 400
    # A pool listing shows only the account's numbers, even under the same pool name.
    status, body = request(client, "GET", own(a, "/pools/main"), a.key)
    assert status == 200 and not set(b.pool) & {x["number"] for x in json.loads(body)["numbers"]}
    status, body = request(client, "GET", own(a, "/numbers"), a.key)
    assert not set(b.pool) & {x["number"] for x in json.loads(body)["numbers"]}
    assert b.snapshot() == before


def test_own_path_with_the_other_tenants_call(client, tenants):
    a, b = tenants
    if b.call_id == "no-call":
        pytest.skip("calls are not stored yet")
    before = b.snapshot()
    from app import app

    call_routes = [(p, m) for p, ms in app.routes.items() if "{call_id}" in p for m in ms]
    assert call_routes
    for path, method in call_routes:
        url = fill(path, {**a.params(), "call_id": b.call_id})
        # Each route's valid body: what it refuses is the call, not the request.
        sent = {"spam": True, "block_caller": True} if path.endswith("/spam") else {
            "tags": [{"category": "sale"}], "value": 1}
        status, body = request(client, method, url, a.key, sent)
        assert status == 404, (method, url, status, body)
    assert b.snapshot() == before
