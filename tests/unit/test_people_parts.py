"""The people domain's pure parts: infra/users.json is generated, the role policy's words."""
from __future__ import annotations

import json
from pathlib import Path

from chalicelib import auth
from chalicelib.people import directory

ROOT = Path(__file__).resolve().parents[2]
A = auth.ACCOUNT


def test_infra_users_json_is_generated_from_the_directory():
    assert (ROOT / "infra" / "users.json").read_text() == directory.infra_text(), \
        "stale: run python -m chalicelib.people.directory --write-infra"
    pool = json.loads(directory.infra_text())["Resources"]["CalltrackUserPool"]["Properties"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 10
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True       # no self sign-up
    assert pool["MfaConfiguration"] == "OPTIONAL" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def test_unlisted_routes_are_the_admins_only():
    for role in ("marketer", "agent", "read_only"):
        assert not auth.allowed(role, "GET", A + "/keys", {})
        assert not auth.allowed(role, "POST", A + "/a-route-added-later", {})
        assert not auth.allowed(role, "GET", A + "/config/{section}", {"section": "hubspot"})
        assert auth.allowed(role, "GET", A + "/config/{section}", {"section": "tag_categories"})
    assert auth.allowed("admin", "POST", A + "/a-route-added-later", {})
    assert auth.allowed("marketer", "PUT", A + "/calls/{call_id}/spam", {})
    assert not auth.allowed("agent", "PUT", A + "/calls/{call_id}/spam", {})
    assert not auth.allowed("read_only", "PUT", A + "/calls/{call_id}/tags", {})
    assert not auth.allowed("agent", "GET", A + "/reports", {})


def test_an_agent_without_a_number_owns_no_call():
    agent = auth.Principal("acct", "agent", "user", "sub", "a@example.com", None)
    for call in ({"call_id": "c", "agent": None}, {"call_id": "c"}, {"call_id": "c", "agent": "+14155550100"}):
        try:
            auth.require_own_call(agent, call)
        except auth.NotFound:
            continue
        raise AssertionError(call)
    marketer = auth.Principal("acct", "marketer", "user", "sub", "m@example.com")
    assert auth.require_own_call(marketer, {"call_id": "c", "agent": "+14155550100"})["call_id"] == "c"


def test_api_keys_never_look_like_tokens():
    assert auth.looks_like_token("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    for key in ("demo-secret-key", "ct_abc.def", "eyJ-but-no-dots"):
        assert not auth.looks_like_token(key)


def test_a_calls_page_trail_stays_small_whatever_the_visit():
    """50 pages of 2 KB on the number become at most 20 entries of ~300 characters on the
    call: the first page and the latest ones, each still `<epoch>|<url>`."""
    from chalicelib.calls.attribution import TRAIL_PAGES, TRAIL_URL_CHARS, page_trail
    from chalicelib.dni.leases import page_entry

    pages = [page_entry(1_764_000_000 + i, "https://example.com/p" + str(i) + "?" + "x" * 2000) for i in range(50)]
    trail = page_trail(pages)
    assert len(trail) == TRAIL_PAGES and trail[0] == pages[0][:TRAIL_URL_CHARS + 11]
    assert [t.split("|")[0] for t in trail[1:]] == [p.split("|")[0] for p in pages[-(TRAIL_PAGES - 1):]]
    assert sum(len(t) for t in trail) <= TRAIL_PAGES * (TRAIL_URL_CHARS + 11)
    assert page_trail(pages[:3]) == [p[:TRAIL_URL_CHARS + 11] for p in pages[:3]]
