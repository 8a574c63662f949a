"""Admin API through the in-process app against moto: what an operator and a customer
would notice — accounts, keys, settings, numbers and pools, rules, geo, config sections."""
from __future__ import annotations

import json
import secrets
import uuid

import pytest

ADMIN = "local-admin-token"


BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def call(client, method, path, key=None, body=None):
    headers = {"Content-Type": "application/json", "User-Agent": BROWSER}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    raw = json.dumps(body) if body is not None else b""
    r = client.http.request(method, path, headers=headers, body=raw)
    return r.status_code, (json.loads(r.body) if r.body else None)


def fresh_number() -> str:
    """A number no other test uses (the shared fixture's pool numbers may collide across
    accounts, so these tests bring their own)."""
    return f"+1628{uuid.uuid4().int % 10 ** 7:07d}"


@pytest.fixture()
def owned(account):
    """A fresh account with a known API key: (account_id, key)."""
    key = "k-" + uuid.uuid4().hex
    acc = account(api_key=key, pool=[fresh_number() for _ in range(5)])
    return acc.account_id, key


def lease(client, account_id, url="http://localhost/", **extra):
    status, body = call(client, "POST", "/v1/sessions", body={"account": account_id, "url": url, **extra})
    assert status == 200, body
    return body


# Accounts -----------------------------------------------------------------------------
def test_create_account_with_admin_token_returns_a_working_key_once(client):
    number = fresh_number()
    status, body = call(client, "POST", "/v1/accounts", ADMIN,
                        {"name": "Acme Heating", "domains": ["Acme.example"], "default_number": number})
    assert status == 201, body
    account_id, key = body["account"]["account_id"], body["api_key"]["key"]
    assert body["account"]["domains"] == ["acme.example"]
    status, me = call(client, "GET", f"/v1/accounts/{account_id}", key)
    assert status == 200 and me["name"] == "Acme Heating" and me["default_number"] == number
    status, listed = call(client, "GET", f"/v1/accounts/{account_id}/keys", key)
    assert status == 200 and len(listed["keys"]) == 1
    assert "key" not in listed["keys"][0] and key not in json.dumps(listed)
    # The default number became the account's own number.
    status, num = call(client, "GET", f"/v1/accounts/{account_id}/numbers/{number}", key)
    assert status == 200 and num["kind"] == "default"


@pytest.mark.parametrize("token", [None, "wrong-token", "demo-secret-key"])
def test_create_account_needs_the_admin_token(client, token):
    status, body = call(client, "POST", "/v1/accounts", token,
                        {"name": "X", "domains": ["x.example"], "default_number": fresh_number()})
    assert status == 401 and body["error"] == "unauthorized"


@pytest.mark.parametrize("bad", [
    {"name": "X", "domains": ["x.example"]},                                   # no default number
    {"name": "X", "domains": ["x.example"], "default_number": "4155550100"},   # not E.164
    {"name": "X", "domains": [], "default_number": "+14155550100"},
    {"name": "X", "domains": ["x.example"], "default_number": "+14155550100", "admin": True},
    {"name": "X", "domains": ["x.example"], "default_number": "+14155550100", "settings": {"timezone": "Mars/Base"}},
    {"name": "X", "domains": ["x.example"], "default_number": "+14155550100", "account_id": "UPPER"},
])
def test_create_account_rejects_bad_bodies_in_words(client, bad):
    status, body = call(client, "POST", "/v1/accounts", ADMIN, bad)
    assert status == 400 and set(body) == {"error", "message"} and body["message"]


def test_create_account_conflicts(client, owned):
    account_id, _ = owned
    status, body = call(client, "POST", "/v1/accounts", ADMIN,
                        {"account_id": account_id, "name": "dup", "domains": ["d.example"],
                         "default_number": fresh_number()})
    assert status == 409, body
    # Another account's number cannot become this one's default.
    status, body = call(client, "POST", "/v1/accounts", ADMIN,
                        {"name": "thief", "domains": ["t.example"], "default_number": "+14155550123"})
    assert status == 409 and "another account" in body["message"]


def test_patch_profile_changes_what_the_snippet_is_allowed_on(client, owned):
    account_id, key = owned
    assert lease(client, account_id)["method"] == "dynamic"
    status, body = call(client, "PATCH", f"/v1/accounts/{account_id}", key, {"domains": ["shop.example"]})
    assert status == 200 and body["domains"] == ["shop.example"]
    assert lease(client, account_id)["method"] == "default"       # localhost no longer allowed
    assert lease(client, account_id, url="https://www.shop.example/x")["method"] == "dynamic"


# Keys ---------------------------------------------------------------------------------
def test_key_lifecycle_create_rotate_revoke(client, owned):
    account_id, key = owned
    status, made = call(client, "POST", f"/v1/accounts/{account_id}/keys", key, {"label": "ci"})
    assert status == 201 and made["key"].startswith("ct_") and made["label"] == "ci"
    second = made["key"]
    assert call(client, "GET", f"/v1/accounts/{account_id}/settings", second)[0] == 200

    status, rotated = call(client, "POST", f"/v1/accounts/{account_id}/keys/{made['key_id']}/rotate", key)
    assert status == 201 and rotated["replaces"] == made["key_id"] and rotated["label"] == "ci"
    assert call(client, "GET", f"/v1/accounts/{account_id}/settings", second)[0] == 401
    assert call(client, "GET", f"/v1/accounts/{account_id}/settings", rotated["key"])[0] == 200

    status, revoked = call(client, "DELETE", f"/v1/accounts/{account_id}/keys/{rotated['key_id']}", key)
    assert status == 200 and revoked["revoked"] is True
    assert call(client, "GET", f"/v1/accounts/{account_id}/settings", rotated["key"])[0] == 401
    status, listed = call(client, "GET", f"/v1/accounts/{account_id}/keys", key)
    assert sorted(k["revoked"] for k in listed["keys"]) == [False, True, True]


def test_the_last_active_key_cannot_be_revoked(client, owned):
    account_id, key = owned
    _, listed = call(client, "GET", f"/v1/accounts/{account_id}/keys", key)
    (only,) = listed["keys"]
    status, body = call(client, "DELETE", f"/v1/accounts/{account_id}/keys/{only['key_id']}", key)
    assert status == 409 and "last active" in body["message"]
    assert call(client, "GET", f"/v1/accounts/{account_id}", key)[0] == 200


def test_unknown_key_id_is_404(client, owned):
    account_id, key = owned
    assert call(client, "DELETE", f"/v1/accounts/{account_id}/keys/{'0' * 64}", key)[0] == 404
    assert call(client, "POST", f"/v1/accounts/{account_id}/keys/{'0' * 64}/rotate", key)[0] == 404


# Settings -----------------------------------------------------------------------------
def test_settings_patch_merges_and_the_lease_flow_sees_it_at_once(client, owned):
    account_id, key = owned
    assert lease(client, account_id)["heartbeat_seconds"] == 60    # warms the account cache
    status, body = call(client, "PATCH", f"/v1/accounts/{account_id}/settings", key,
                        {"heartbeat_seconds": 20, "timezone": "Europe/London",
                         "working_hours": {"sat": ["10:00", "14:00"]}})
    assert status == 200 and body["heartbeat_seconds"] == 20 and body["timezone"] == "Europe/London"
    assert body["target_seconds"] == 30                              # untouched default kept
    assert lease(client, account_id)["heartbeat_seconds"] == 20      # cache invalidated
    status, again = call(client, "PATCH", f"/v1/accounts/{account_id}/settings", key, {"target_seconds": 45})
    assert again["heartbeat_seconds"] == 20 and again["target_seconds"] == 45


@pytest.mark.parametrize("bad", [
    {"timezone": "Nowhere/Land"}, {"working_hours": {"mon": ["18:00", "09:00"]}}, {"lease_ttl_seconds": 1},
    {"unknown_setting": 1}, {"pii_policy": "sell"}, {"currency": "dollars"},
])
def test_settings_reject_bad_values(client, owned, bad):
    account_id, key = owned
    status, body = call(client, "PATCH", f"/v1/accounts/{account_id}/settings", key, bad)
    assert status == 400 and body["error"] == "validation_failed"


def test_malformed_json_is_a_400(client, owned):
    account_id, key = owned
    r = client.http.request("PATCH", f"/v1/accounts/{account_id}/settings",
                            headers={"Authorization": f"Bearer {key}"}, body=b"{not json")
    assert r.status_code == 400 and json.loads(r.body)["error"] == "invalid_json"


# Numbers and pools --------------------------------------------------------------------
def test_pool_numbers_add_list_and_lease_from_new_pool(client, owned):
    account_id, key = owned
    new = [fresh_number() for _ in range(3)]
    status, body = call(client, "POST", f"/v1/accounts/{account_id}/pools/sales/numbers", key, {"numbers": new})
    assert status == 200 and sorted(body["added"]) == sorted(new) and body["pool"]["size"] == 3
    assert call(client, "GET", f"/v1/accounts/{account_id}/pools/main", key)[1]["size"] == 5
    # Point the account at the new pool: visitors now get its numbers.
    assert call(client, "PUT", f"/v1/accounts/{account_id}/config/default_pool", key, {"value": "sales"})[0] == 200
    got = lease(client, account_id)
    assert got["method"] == "dynamic" and got["number"] in new
    status, pool = call(client, "GET", f"/v1/accounts/{account_id}/pools/sales", key)
    assert pool["busy"] == 1 and pool["default"] is True
    assert [n["number"] for n in pool["numbers"] if n["leased"]] == [got["number"]]


def test_re_adding_numbers_keeps_live_leases(client, owned):
    account_id, key = owned
    got = lease(client, account_id)
    _, before = call(client, "GET", f"/v1/accounts/{account_id}/numbers/{got['number']}", key)
    status, body = call(client, "POST", f"/v1/accounts/{account_id}/pools/main/numbers", key, {"numbers": [got["number"]]})
    assert status == 200 and body["existing"] == [got["number"]] and body["added"] == []
    _, after = call(client, "GET", f"/v1/accounts/{account_id}/numbers/{got['number']}", key)
    assert after["leased"] is True and after["lease_until"] == before["lease_until"]
    beat = call(client, "POST", f"/v1/sessions/{got['session_id']}/heartbeat", body={})
    assert beat[0] == 200 and beat[1]["number"] == got["number"]


def test_a_leased_number_is_not_removed_but_can_be_disabled(client, owned):
    account_id, key = owned
    got = lease(client, account_id)
    status, body = call(client, "DELETE", f"/v1/accounts/{account_id}/numbers/{got['number']}", key)
    assert status == 409 and "leased" in body["message"]
    status, body = call(client, "PATCH", f"/v1/accounts/{account_id}/numbers/{got['number']}", key, {"enabled": False})
    assert status == 200 and body["enabled"] is False and body["leased"] is True
    # The holder keeps it; nobody new gets it.
    assert call(client, "POST", f"/v1/sessions/{got['session_id']}/heartbeat", body={})[0] == 200
    others = {lease(client, account_id)["number"] for _ in range(4)}
    assert got["number"] not in others


def test_free_numbers_are_removed_and_the_pool_shrinks(client, owned):
    account_id, key = owned
    _, pool = call(client, "GET", f"/v1/accounts/{account_id}/pools/main", key)
    victim = pool["numbers"][0]["number"]
    status, body = call(client, "DELETE", f"/v1/accounts/{account_id}/pools/main/numbers/{victim}", key)
    assert status == 200 and body["removed"] is True
    _, pool = call(client, "GET", f"/v1/accounts/{account_id}/pools/main", key)
    assert pool["size"] == 4 and victim not in [n["number"] for n in pool["numbers"]]
    assert call(client, "GET", f"/v1/accounts/{account_id}/numbers/{victim}", key)[0] == 404
    # URL-encoded plus and digits-only forms address the same number.
    other = pool["numbers"][0]["number"]
    assert call(client, "GET", f"/v1/accounts/{account_id}/numbers/%2B{other[1:]}", key)[0] == 200
    assert call(client, "GET", f"/v1/accounts/{account_id}/numbers/{other[1:]}", key)[0] == 200


def test_numbers_conflicts(client, owned):
    account_id, key = owned
    # The demo account's pool number can't be taken; nothing of the batch is added.
    mine = fresh_number()
    status, body = call(client, "POST", f"/v1/accounts/{account_id}/pools/main/numbers", key,
                        {"numbers": [mine, "+14155550131"]})
    assert status == 409
    assert call(client, "GET", f"/v1/accounts/{account_id}/numbers/{mine}", key)[0] == 404
    # A static number can't silently move into a pool.
    assert call(client, "POST", f"/v1/accounts/{account_id}/numbers", key,
                {"number": mine, "kind": "static", "source": "radio"})[0] == 201
    status, body = call(client, "POST", f"/v1/accounts/{account_id}/pools/main/numbers", key, {"numbers": [mine]})
    assert status == 409
    # The default number stays while it is the default.
    status, body = call(client, "DELETE", f"/v1/accounts/{account_id}/numbers/+14155550123", key)
    assert status == 404   # the demo default belongs to the demo account, not this one


# Rules, geo, config sections ----------------------------------------------------------
def test_tracking_rules_decide_what_visitors_see(client, owned):
    account_id, key = owned
    radio = fresh_number()
    call(client, "POST", f"/v1/accounts/{account_id}/numbers", key, {"number": radio, "kind": "static", "source": "radio"})
    rules = [{"id": "radio", "match": {"param": {"name": "utm_source", "value": "radio"}}, "number": radio}]
    status, body = call(client, "PUT", f"/v1/accounts/{account_id}/rules", key, {"rules": rules})
    assert status == 200 and body["rules"] == rules
    got = lease(client, account_id, url="http://localhost/?utm_source=radio")
    assert got["method"] == "static" and got["number"] == radio
    assert call(client, "GET", f"/v1/accounts/{account_id}/rules", key)[1]["rules"] == rules


@pytest.mark.parametrize("rules", [
    [{"match": {"source": "google"}}],                                           # neither pool nor number
    [{"match": {"source": "google"}, "pool": "main", "number": "+14155550100"}],  # both
    [{"id": "a", "match": {"source": "x"}, "pool": "main"}, {"id": "a", "match": {"source": "y"}, "pool": "main"}],
    [{"match": {"source": "google"}, "number": "+14155550150"}],                  # the demo account's number
])
def test_bad_rules_are_refused(client, owned, rules):
    account_id, key = owned
    status, body = call(client, "PUT", f"/v1/accounts/{account_id}/rules", key, {"rules": rules})
    assert status == 400 and body["message"]


def test_geo_rules(client, owned):
    account_id, key = owned
    uk = "+44207946" + f"{secrets.randbelow(10000):04d}"
    assert call(client, "POST", f"/v1/accounts/{account_id}/numbers", key, {"number": uk, "kind": "static", "source": "geo GB"})[0] == 201
    status, body = call(client, "PUT", f"/v1/accounts/{account_id}/geo", key, {"geo": [{"country": "GB", "number": uk}]})
    assert status == 200
    assert lease(client, account_id, country="GB")["number"] == uk
    assert lease(client, account_id, country="US")["method"] == "dynamic"
    dup = {"geo": [{"country": "GB", "number": uk}, {"country": "GB", "pool": "main"}]}
    assert call(client, "PUT", f"/v1/accounts/{account_id}/geo", key, dup)[0] == 400


def test_config_sections_validated_by_their_owners_schema(client, owned):
    account_id, key = owned
    status, body = call(client, "GET", f"/v1/accounts/{account_id}/config", key)
    assert status == 200 and body["sections"]["default_pool"] == "main"
    status, body = call(client, "PUT", f"/v1/accounts/{account_id}/config/page_numbers", key, {"value": ["+442079460958"]})
    assert status == 200 and body["value"] == ["+442079460958"]
    got = lease(client, account_id)
    assert got["number"]  # lease still works after the write
    status, body = call(client, "PUT", f"/v1/accounts/{account_id}/config/page_numbers", key, {"value": ["0207"]})
    assert status == 400 and body["error"] == "validation_failed"
    status, body = call(client, "GET", f"/v1/accounts/{account_id}/config/no_such_section", key)
    assert status == 404
    assert call(client, "PUT", f"/v1/accounts/{account_id}/config/no_such_section", key, {"value": 1})[0] == 404
    status, body = call(client, "DELETE", f"/v1/accounts/{account_id}/config/page_numbers", key)
    assert status == 200
    assert call(client, "GET", f"/v1/accounts/{account_id}/config/page_numbers", key)[1]["value"] is None


def test_cookie_domain_must_be_on_the_accounts_domains(client, owned):
    """A cookie domain the account does not list (a public suffix, another site) would be
    ignored by the lease or dropped by the browser: refused at save, naming the domains."""
    account_id, key = owned
    path = f"/v1/accounts/{account_id}/config/cookie_domain"
    status, body = call(client, "PUT", path, key, {"value": "co.uk"})
    assert status == 400 and body["error"] == "validation_failed" and "localhost" in body["message"]
    assert call(client, "PUT", path, key, {"value": "host"})[0] == 200
    assert call(client, "GET", path, key)[1]["value"] == "host"
    status, body = call(client, "PATCH", f"/v1/accounts/{account_id}", key, {"domains": ["acme.example"]})
    assert status == 200, body
    assert call(client, "PUT", path, key, {"value": "shop.acme.example"})[0] == 200


def test_listing_an_accounts_numbers_and_keys_reads_its_index_never_the_whole_table(client, owned, monkeypatch):
    from pynamodb.connection.base import Connection

    account_id, key = owned
    ops = []
    original = Connection._make_api_call

    def counted(conn, operation_name, operation_kwargs):
        ops.append((operation_name, operation_kwargs.get("IndexName")))
        return original(conn, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counted)
    status, body = call(client, "GET", f"/v1/accounts/{account_id}/numbers", key)
    assert status == 200 and len(body["numbers"]) >= 5
    assert [n["number"] for n in body["numbers"]] == sorted(n["number"] for n in body["numbers"])
    status, keys = call(client, "GET", f"/v1/accounts/{account_id}/keys", key)
    assert status == 200 and keys["keys"]
    assert not any(op == "Scan" for op, _ in ops), ops
    assert ("Query", "account-number-index") in ops and ("Query", "account-key-index") in ops


def test_conversation_rules_are_a_validated_section(client, owned):
    """call_rules: JSON Schema first (a misspelt key, an unknown fact), then what the schema
    cannot say (an unsafe regular expression, two rules with one id), each a 400 naming it."""
    from chalicelib.intelligence.starter import STARTER_RULES

    account_id, key = owned
    path = f"/v1/accounts/{account_id}/config/call_rules"
    status, body = call(client, "PUT", path, key, {"value": STARTER_RULES})
    assert status == 200 and [r["id"] for r in body["value"]] == [r["id"] for r in STARTER_RULES]
    bad_regex = [{"id": "slow", "when": {"regex": "(a+)+$"}, "then": {"score": 5}}]
    status, body = call(client, "PUT", path, key, {"value": bad_regex})
    assert status == 400 and body["error"] == "validation_failed" and "'slow'" in body["message"]
    twice = [{"id": "x", "when": {"phrase": ["a"]}, "then": {"score": 1}}] * 2
    status, body = call(client, "PUT", path, key, {"value": twice})
    assert status == 400 and "two rules have the id 'x'" in body["message"]
    typo = [{"id": "x", "when": {"phrase": ["a"], "speeker": "caller"}, "then": {"score": 1}}]
    assert call(client, "PUT", path, key, {"value": typo})[0] == 400
    assert call(client, "GET", path, key)[1]["value"][0]["id"] == STARTER_RULES[0]["id"]    # unchanged
    status, body = call(client, "PUT", f"/v1/accounts/{account_id}/config/redaction", key,
                        {"value": {"phone": False}})
    assert status == 200 and body["value"] == {"phone": False}
    assert call(client, "PUT", f"/v1/accounts/{account_id}/config/redaction", key, {"value": {"ssn": True}})[0] == 400
