"""People who sign in (Cognito on the emulator, over HTTP): sign-in and its refusals, a role
per account enforced on every account route, agents see only their own calls, users of one
account never open another, user management, and the audit log of changes."""
from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest

from chalicelib import auth, demo

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
ACCOUNT_PREFIX = auth.ACCOUNT


def call(client, method, path, token=None, body=None):
    headers = {"Content-Type": "application/json", "User-Agent": BROWSER}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    raw = b"" if body is None else json.dumps(body)
    r = client.http.request(method, path, headers=headers, body=raw)
    try:
        return r.status_code, json.loads(r.body) if r.body else None
    except ValueError:
        return r.status_code, r.body


def sign_in(client, email, password=demo.DEMO_PASSWORD):
    status, body = call(client, "POST", "/v1/auth/sign-in", body={"email": email, "password": password})
    assert status == 200, body
    return body


@pytest.fixture(scope="module")
def people(moto_endpoint):
    """A fresh account with one person per role and a call answered by the agent and one by another."""
    from chalicelib.calls.models import Call
    from chalicelib.calls.store import CALL_KEYS

    account_id = "pp-" + uuid.uuid4().hex[:10]
    base = int(uuid.uuid4().hex[:3], 16) % 900
    demo.seed_account(account_id, pool=[f"+1415755{base:04d}"], api_key=f"key-{account_id}",
                      extra_config={"tag_categories": [{"name": "sale"}]})
    tag = account_id[-6:]
    team = [(f"admin-{tag}@example.com", "admin", None), (f"marketer-{tag}@example.com", "marketer", None),
            (f"agent-{tag}@example.com", "agent", "+14155550191"), (f"viewer-{tag}@example.com", "read_only", None)]
    demo.seed_users(account_id, team)
    calls = {}
    from chalicelib.calls.models import CallerHistory
    from chalicelib.calls.record import caller_hash

    caller = "+12025550123"                   # one caller, answered once by each agent
    entries = set()
    for who, agent in (("mine", "+14155550191"), ("theirs", "+14155550192")):
        call_id = f"conv-{uuid.uuid4()}"
        entries.add(f"{time.time() - (0 if who == 'mine' else 3600):.3f}|{call_id}|1")
        rec = {k: None for k in CALL_KEYS}
        rec.update({"call_id": call_id, "account_id": account_id, "status": "answered", "direction": "inbound",
                    "agent": agent, "caller": caller, "caller_hash": caller_hash(caller), "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "tags": [],
                    "classification": {c: False for c in ("unique", "target", "repeated", "first_target",
                                                          "unique_target")}})
        Call(call_id, account_id=account_id, started_at=time.time(), direction="inbound", status="answered",
             agent_key=f"{account_id}#{agent}", rec=rec, tags=[]).save()
        calls[who] = call_id
    CallerHistory(f"{account_id}#{caller_hash(caller)}", entries=entries).save()
    return {"account": account_id, "key": f"key-{account_id}", "calls": calls,
            "emails": {role: email for email, role, _ in team}}


@pytest.fixture(scope="module")
def tokens(people, moto_endpoint):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as c:
        return {role: sign_in(c, email)["access_token"] for role, email in people["emails"].items()}


def test_sign_in_answers_tokens_and_the_persons_accounts(client, people):
    body = sign_in(client, people["emails"]["marketer"])
    assert {"id_token", "access_token", "refresh_token", "expires_in"} <= set(body)
    assert body["accounts"] == [{"account_id": people["account"], "role": "marketer"}]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["token_use"] == "access"
    # The refresh token gives fresh tokens, with the same accounts.
    status, again = call(client, "POST", "/v1/auth/refresh", body={"refresh_token": body["refresh_token"]})
    assert status == 200 and again["accounts"] == body["accounts"] and again["access_token"]


def test_wrong_password_and_unknown_email_read_the_same(client, people):
    wrong = call(client, "POST", "/v1/auth/sign-in", body={"email": people["emails"]["admin"], "password": "nope-12345"})
    unknown = call(client, "POST", "/v1/auth/sign-in", body={"email": "nobody@example.com", "password": "nope-12345"})
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1] == {"error": "unauthorized", "message": "wrong email or password"}
    status, body = call(client, "POST", "/v1/auth/sign-in", body={"email": "a@b.c", "password": "x", "remember": 1})
    assert status == 400 and "remember" in body["message"]
    # A reset code is "sent" whether or not the email has an account.
    assert call(client, "POST", "/v1/auth/forgot-password", body={"email": "nobody@example.com"})[0] == 202


def test_me_says_who_and_what_the_role_may_do(client, people, tokens):
    status, me = call(client, "GET", f"/v1/accounts/{people['account']}/me", tokens["agent"])
    assert status == 200
    assert (me["role"], me["kind"], me["agent"], me["name"]) == ("agent", "user", "+14155550191",
                                                                  people["emails"]["agent"])
    assert "GET /calls" in me["can"] and "GET /reports" not in me["can"]
    status, me = call(client, "GET", f"/v1/accounts/{people['account']}/me", people["key"])
    assert (me["role"], me["kind"], me["can"]) == ("admin", "key", ["*"])


def fill(path, params):
    import string

    names = [name for _, name, _, _ in string.Formatter().parse(path) if name]
    return path.format(**{n: params.get(n, "x") for n in names})


# What each role must be able to reach, said here in words (not derived from auth.POLICY).
EXPECTED = {
    "marketer": {"GET /", "GET /me", "GET /calls", "GET /calls/{call_id}", "GET /calls/{call_id}/story",
                 "GET /calls/{call_id}/recording",
                 "GET /calls/{call_id}/recording-link", "GET /calls/{call_id}/transcript",
                 "PUT /calls/{call_id}/tags", "PUT /calls/{call_id}/spam", "GET /reports",
                 "GET /exports/google-ads.csv", "GET /exports/microsoft-ads.csv", "GET /feeds/conversions"},
    "read_only": {"GET /", "GET /me", "GET /calls", "GET /calls/{call_id}", "GET /calls/{call_id}/story",
                  "GET /calls/{call_id}/recording",
                  "GET /calls/{call_id}/recording-link", "GET /calls/{call_id}/transcript", "GET /reports"},
    "agent": {"GET /", "GET /me", "GET /calls", "GET /calls/{call_id}", "GET /calls/{call_id}/story",
              "GET /calls/{call_id}/recording",
              "GET /calls/{call_id}/recording-link", "GET /calls/{call_id}/transcript", "PUT /calls/{call_id}/tags"},
}


def account_routes():
    from app import app

    return sorted((path, method) for path, methods in app.routes.items() if path.startswith(ACCOUNT_PREFIX)
                  for method in methods)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_reaches_exactly_its_routes(client, people, tokens, role):
    params = {"account_id": people["account"], "call_id": people["calls"]["mine"], "section": "tag_categories",
              "key_id": "0" * 64, "number": "+14155550100", "pool_id": "main", "subscription_id": "main",
              "user_id": "nobody"}
    refused, reached = set(), set()
    for path, method in account_routes():
        name = f"{method} {path[len(ACCOUNT_PREFIX):] or '/'}"
        body = {"tags": [{"category": "sale"}]} if name.endswith("/tags") else {"spam": False} if name.endswith(
            "/spam") else {}
        status, answer = call(client, method, fill(path, params), tokens[role], body if method != "GET" else None)
        assert status != 401, (name, answer)
        (refused if status == 403 else reached).add(name)
        if status == 403:
            assert answer["error"] == "forbidden" and role in answer["message"]
    assert reached == EXPECTED[role] | ({"GET /config/{section}"}), (role, reached ^ EXPECTED[role])


def test_the_admin_user_reaches_everything(client, people, tokens):
    for path in ("/keys", "/users", "/audit", "/settings", "/numbers", "/config"):
        status, body = call(client, "GET", f"/v1/accounts/{people['account']}{path}", tokens["admin"])
        assert status == 200, (path, body)


def test_an_agent_sees_only_the_calls_they_answered(client, people, tokens):
    acct, mine, theirs = people["account"], people["calls"]["mine"], people["calls"]["theirs"]
    status, body = call(client, "GET", f"/v1/accounts/{acct}/calls", tokens["agent"])
    assert status == 200 and [c["call_id"] for c in body["calls"]] == [mine]
    status, body = call(client, "GET", f"/v1/accounts/{acct}/calls", tokens["marketer"])
    assert {c["call_id"] for c in body["calls"]} == {mine, theirs}
    assert call(client, "GET", f"/v1/accounts/{acct}/calls/{mine}", tokens["agent"])[0] == 200
    for suffix in ("", "/story", "/recording", "/recording-link", "/transcript"):
        status, body = call(client, "GET", f"/v1/accounts/{acct}/calls/{theirs}{suffix}", tokens["agent"])
        assert status == 404, (suffix, status, body)
    status, _ = call(client, "PUT", f"/v1/accounts/{acct}/calls/{theirs}/tags", tokens["agent"],
                     {"tags": [{"category": "sale"}]})
    assert status == 404
    status, body = call(client, "PUT", f"/v1/accounts/{acct}/calls/{mine}/tags", tokens["agent"],
                        {"tags": [{"category": "sale"}]})
    assert status == 200 and body["tags"][0]["category"] == "sale"


def test_an_agents_call_story_names_only_their_own_other_calls(client, people, tokens):
    acct, mine, theirs = people["account"], people["calls"]["mine"], people["calls"]["theirs"]
    status, told = call(client, "GET", f"/v1/accounts/{acct}/calls/{mine}/story", tokens["marketer"])
    assert status == 200 and [h["call_id"] for h in told["history"]] == [theirs]
    status, told = call(client, "GET", f"/v1/accounts/{acct}/calls/{mine}/story", tokens["agent"])
    assert status == 200 and told["history"] == []           # the other agent's call is not theirs to see


def test_only_access_tokens_open_the_api_and_signing_out_ends_the_refresh(client, people):
    body = sign_in(client, people["emails"]["read_only"])
    path = f"/v1/accounts/{people['account']}/reports"
    status, answer = call(client, "GET", path, body["id_token"])
    assert status == 401 and "access token" in answer["message"]
    assert call(client, "GET", path, body["access_token"])[0] == 200
    assert call(client, "POST", "/v1/auth/sign-out", body["id_token"])[0] == 401
    assert call(client, "POST", "/v1/auth/sign-out", body["access_token"]) == (200, {"signed_out": True})
    status, answer = call(client, "POST", "/v1/auth/refresh", body={"refresh_token": body["refresh_token"]})
    assert status == 401, answer
    # An unknown or expired challenge session is the client's problem, in words.
    status, answer = call(client, "POST", "/v1/auth/challenge", body={
        "challenge": "SOFTWARE_TOKEN_MFA", "session": "s" * 40, "email": people["emails"]["admin"], "answer": "123456"})
    assert status == 401 and "sign in again" in answer["message"]


def test_a_user_of_one_account_opens_no_other(client, people, tokens):
    for role, token in tokens.items():
        status, body = call(client, "GET", f"/v1/accounts/{demo.DEMO_ACCOUNT}/calls", token)
        assert status == 403 and body["error"] == "forbidden", role
        status, _ = call(client, "PATCH", f"/v1/accounts/{demo.DEMO_ACCOUNT}", token, {"name": "taken"})
        assert status == 403


def test_forged_expired_and_foreign_tokens_are_refused(client, people, tokens):
    from cryptography.hazmat.primitives.asymmetric import rsa

    good = jwt.decode(tokens["admin"], options={"verify_signature": False})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = f"/v1/accounts/{people['account']}/keys"
    forged = jwt.encode(good, stranger, algorithm="RS256", headers={"kid": jwt.get_unverified_header(
        tokens["admin"])["kid"]})
    unsigned = jwt.encode(good, None, algorithm="none")
    assert not auth.looks_like_token("ct_" + uuid.uuid4().hex)
    for token in (forged, unsigned, tokens["admin"][:-4] + "AAAA"):
        status, body = call(client, "GET", path, token)
        assert status == 401 and body["error"] == "unauthorized", body
    # Signed with the pool's own key (the emulator's, read from moto), but expired, of another
    # app client or another pool: each refused, saying why.
    import importlib.resources

    import gzip

    private = json.loads(gzip.decompress(importlib.resources.files("moto.cognitoidp").joinpath(
        "resources/jwks-private.json.gz").read_bytes()))
    key = jwt.PyJWK(private).key
    kid = jwt.get_unverified_header(tokens["admin"])["kid"]
    cases = {"expired": {**good, "exp": int(time.time()) - 120}, "another client": {**good, "client_id": "other"},
             "another pool": {**good, "iss": good["iss"] + "x"}}
    for why, claims in cases.items():
        status, body = call(client, "GET", path, jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid}))
        assert status == 401, (why, body)
    assert "expired" in call(client, "GET", path, jwt.encode(cases["expired"], key, algorithm="RS256",
                                                          headers={"kid": kid}))[1]["message"]
    # The same key and claims, fresh: accepted (the refusals above were the claims').
    fresh = jwt.encode({**good, "exp": int(time.time()) + 600}, key, algorithm="RS256", headers={"kid": kid})
    assert call(client, "GET", path, fresh)[0] == 200


def test_users_are_managed_by_the_admin_and_every_change_is_audited(client, people, tokens, moto_endpoint):
    from chalicelib.people import directory

    acct = people["account"]
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    status, user = call(client, "POST", f"/v1/accounts/{acct}/users", tokens["admin"],
                        {"email": email, "role": "read_only"})
    assert status == 201 and user["email"] == email and user["role"] == "read_only"
    assert call(client, "POST", f"/v1/accounts/{acct}/users", tokens["admin"],
                {"email": email, "role": "admin"})[0] == 409
    assert call(client, "POST", f"/v1/accounts/{acct}/users", tokens["admin"],
                {"email": "x@example.com", "role": "agent"})[0] == 400          # an agent needs a number
    assert call(client, "POST", f"/v1/accounts/{acct}/users", tokens["marketer"],
                {"email": "y@example.com", "role": "admin"})[0] == 403
    # Cognito mailed a temporary password; the person chooses theirs at the first sign-in.
    from chalicelib import aws

    aws.client("cognito-idp").admin_set_user_password(UserPoolId=directory.pool().pool_id, Username=email,
                                                      Password="first-pass-1", Permanent=False)
    status, first = call(client, "POST", "/v1/auth/sign-in", body={"email": email, "password": "first-pass-1"})
    assert status == 200 and first["challenge"] == "NEW_PASSWORD_REQUIRED"
    status, weak = call(client, "POST", "/v1/auth/challenge", body={
        "challenge": first["challenge"], "session": first["session"], "email": email, "answer": "short"})
    assert status == 400 and "10 characters" in weak["message"]
    status, done = call(client, "POST", "/v1/auth/challenge", body={
        "challenge": first["challenge"], "session": first["session"], "email": email, "answer": "chosen-pass-2"})
    assert status == 200 and done["accounts"] == [{"account_id": acct, "role": "read_only"}]
    token = done["access_token"]
    assert call(client, "GET", f"/v1/accounts/{acct}/reports", token)[0] == 200
    assert call(client, "GET", f"/v1/accounts/{acct}/settings", token)[0] == 403
    status, changed = call(client, "PATCH", f"/v1/accounts/{acct}/users/{user['user_id']}", tokens["admin"],
                           {"role": "admin"})
    assert status == 200 and changed["role"] == "admin"
    assert call(client, "GET", f"/v1/accounts/{acct}/settings", token)[0] == 200    # the next request sees it
    status, _ = call(client, "PATCH", f"/v1/accounts/{acct}/settings", tokens["admin"], {"timezone": "Europe/Berlin"})
    assert status == 200
    assert call(client, "DELETE", f"/v1/accounts/{acct}/users/{user['user_id']}", tokens["admin"])[0] == 200
    assert call(client, "GET", f"/v1/accounts/{acct}/reports", token)[0] in (401, 403)
    assert call(client, "POST", "/v1/auth/sign-in", body={"email": email, "password": "chosen-pass-2"})[0] == 401

    status, log = call(client, "GET", f"/v1/accounts/{acct}/audit", tokens["admin"])
    assert status == 200
    actions = [(e["action"], e["actor"]["name"]) for e in log["entries"]]
    admin = people["emails"]["admin"]
    assert actions[:4] == [("DELETE /users/{user_id}", admin), ("PATCH /settings", admin),
                           ("PATCH /users/{user_id}", admin), ("POST /users", admin)]
    settings_entry = log["entries"][1]
    assert settings_entry["fields"] == ["timezone"] and "Europe/Berlin" not in json.dumps(log)
    assert settings_entry["actor"]["role"] == "admin" and settings_entry["status"] == 200
    # Refused and failed requests changed nothing and are not entries; reads are not either.
    assert not [e for e in log["entries"] if e["action"].startswith("GET") or e["status"] >= 400]
    assert call(client, "GET", f"/v1/accounts/{acct}/audit?sinse=1", tokens["admin"])[0] == 400
    assert call(client, "GET", f"/v1/accounts/{acct}/audit", tokens["marketer"])[0] == 403
    # A key's change names the key by its label.
    call(client, "POST", f"/v1/accounts/{acct}/keys", people["key"], {"label": "ci"})
    status, log = call(client, "GET", f"/v1/accounts/{acct}/audit?limit=1", people["key"])
    assert log["entries"][0]["actor"] == {"kind": "key", "id": auth.hash_key(people["key"])[:12], "name": "seed",
                                          "role": "admin"}
    assert log["next"]
    status, older = call(client, "GET", f"/v1/accounts/{acct}/audit?limit=1&next={log['next']}", people["key"])
    assert status == 200 and older["entries"][0]["action"] == "DELETE /users/{user_id}"


def totp(secret: str, at: float, step: int = 30) -> str:
    """RFC 6238 (SHA-1, six digits), as an authenticator app computes it."""
    import base64
    import hashlib
    import hmac
    import struct

    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", int(at) // step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_a_person_sets_up_authenticator_mfa_and_then_signs_in_with_a_code(client, people, moto_endpoint):
    """The secret to scan, a wrong code refused, the right one enables MFA; from then on the
    sign-in asks for the code (checked for real by the emulator, RFC 6238) before tokens."""
    email = f"mfa-{uuid.uuid4().hex[:6]}@example.com"
    demo.seed_users(people["account"], [(email, "marketer", None)])
    token = sign_in(client, email)["access_token"]
    assert call(client, "POST", "/v1/auth/mfa")[0] == 401                     # whose? nobody's
    assert call(client, "POST", "/v1/auth/mfa", people["key"])[0] == 401       # an API key has no MFA
    status, setup = call(client, "POST", "/v1/auth/mfa", token)
    assert status == 200 and setup["otpauth"].startswith("otpauth://totp/Calltrack%3Amfa-")   # the app shows the email
    assert f"secret={setup['secret']}" in setup["otpauth"]
    now = time.time()
    wrong = f"{(int(totp(setup['secret'], now)) + 1) % 1_000_000:06d}"
    assert call(client, "PUT", "/v1/auth/mfa", token, {"code": wrong})[0] == 400
    assert call(client, "PUT", "/v1/auth/mfa", token, {"code": "12345"})[0] == 400      # not six digits
    status, body = call(client, "PUT", "/v1/auth/mfa", token, {"code": totp(setup["secret"], now)})
    assert status == 200 and body == {"mfa": "enabled"}

    first = sign_in(client, email)
    assert first["challenge"] == "SOFTWARE_TOKEN_MFA" and "access_token" not in first
    answer = {"challenge": "SOFTWARE_TOKEN_MFA", "session": first["session"], "email": email}
    assert call(client, "POST", "/v1/auth/challenge", body={**answer, "answer": wrong})[0] == 400
    first = sign_in(client, email)
    status, done = call(client, "POST", "/v1/auth/challenge", body={**answer, "session": first["session"],
                                                                      "answer": totp(setup["secret"], time.time())})
    assert status == 200 and done["accounts"] == [{"account_id": people["account"], "role": "marketer"}]
    assert call(client, "DELETE", "/v1/auth/mfa", done["access_token"])[1] == {"mfa": "disabled"}
    assert "access_token" in sign_in(client, email)


def test_the_rollup_rebuild_fills_the_agent_of_calls_stored_before_it_existed(client, people, tokens):
    """An upgrade: a call whose item has no `agent_key` is missing from its agent's
    list until `rollups rebuild` runs over its day; then it is listed."""
    from datetime import date, timedelta

    from chalicelib.calls.models import Call
    from chalicelib.reports import rollup_store

    acct, mine = people["account"], people["calls"]["mine"]
    Call(mine).update(actions=[Call.agent_key.remove()])          # as stored by the previous release
    status, body = call(client, "GET", f"/v1/accounts/{acct}/calls", tokens["agent"])
    assert status == 200 and body["calls"] == []
    assert call(client, "GET", f"/v1/accounts/{acct}/calls/{mine}", tokens["agent"])[0] == 200
    today = date.today()
    rollup_store.rebuild(acct, today - timedelta(days=1), today + timedelta(days=1))
    status, body = call(client, "GET", f"/v1/accounts/{acct}/calls", tokens["agent"])
    assert [c["call_id"] for c in body["calls"]] == [mine]
    assert Call.get(people["calls"]["theirs"]).agent_key == f"{acct}#+14155550192"   # the others keep theirs


def test_the_sign_in_keys_unreachable_is_our_503_not_the_persons_fault(client, people, tokens, monkeypatch):
    """The JWKS cannot be fetched (its endpoint refuses connections): a valid token answers
    503 'retry shortly' — not a 401 that would send the person back to the sign-in — and
    the next request after the keys are reachable again passes."""
    from chalicelib.people import tokens as verifier

    monkeypatch.setattr(verifier, "_keys", {})
    monkeypatch.setattr(verifier, "_fetched_at", 0.0)
    monkeypatch.setenv("CALLTRACK_AWS_ENDPOINT", "http://127.0.0.1:9")     # nothing listens there
    path = f"/v1/accounts/{people['account']}/me"
    status, body = call(client, "GET", path, tokens["marketer"])
    assert status == 503 and body["error"] == "unavailable" and "retry" in body["message"]
    monkeypatch.undo()
    monkeypatch.setattr(verifier, "_fetched_at", 0.0)
    assert call(client, "GET", path, tokens["marketer"])[0] == 200
