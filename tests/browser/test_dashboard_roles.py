"""People in the dashboard, in real headless Chromium against `chalice local`, moto and its
Cognito: signed out shows only the sign-in; each role signs in with email and password and
sees only what it may (tabs, buttons, calls); a reload keeps the sign-in; an agent plays
the recording of their own call; a first sign-in chooses its password."""
from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Dict, List

import pytest

from chalicelib import demo, streams
from chalicelib.demo_traffic import write_calls
from tests.browser.test_dashboard import (  # noqa: F401
    RECORDING_SECONDS, call, playing, recording_store, settle, text)

pytestmark = pytest.mark.browser
AGENT_NUMBER = "+14155550197"


@pytest.fixture()
def team(account: Callable[..., Any], recording_store: str) -> Dict[str, Any]:  # noqa: F811
    acc = account(extra_config={"tag_categories": [{"name": "Sale"}]})
    a = acc.account_id
    tag = uuid.uuid4().hex[:6]
    people = {role: f"{role}-{tag}@example.com" for role in ("admin", "marketer", "agent", "read_only")}
    demo.seed_users(a, [(email, role, AGENT_NUMBER if role == "agent" else None) for role, email in people.items()])
    when = time.time() - 3600
    mine = call(a, when, agent=AGENT_NUMBER, recording_url=f"{recording_store}/rec/{uuid.uuid4().hex}.wav")
    others = [call(a, when - 60 * i, agent="+14155550198") for i in range(1, 4)]
    write_calls([mine] + others)
    streams.catch_up()
    return {"account_id": a, "people": people, "mine": mine["call_id"],
            "others": [c["call_id"] for c in others]}


def wait_for(driver: Any, script: str, timeout: float = 15) -> Any:
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout}s: {script} (last: {value!r})")


def fresh(driver: Any, api_server: str) -> None:
    driver.get(f"{api_server}/dashboard")
    settle(driver)
    driver.execute_script("sessionStorage.clear()")
    driver.get("about:blank")
    driver.get(f"{api_server}/dashboard")


def sign_in(driver: Any, email: str, password: str = demo.DEMO_PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "user-signin-btn").click()
    wait_for(driver, "return document.body.dataset.state === 'ready'")


def visible_tabs(driver: Any) -> List[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#tabs button')].filter(b => !b.hidden).map(b => b.dataset.tab)")


def listed_calls(driver: Any) -> List[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#calls-table tbody tr')].map(r => r.dataset.callId)")


def buttons(driver: Any, call_id: str) -> List[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#calls-table tr[data-call-id=\"' + arguments[0] + '\"] button')]"
        ".map(b => b.className)", call_id)


def test_signed_out_shows_only_the_sign_in(chrome: Any, api_server: str) -> None:
    fresh(chrome, api_server)
    wait_for(chrome, "return document.body.dataset.state === 'signed-out'")
    shown = chrome.execute_script(
        "return [...document.querySelectorAll('main > section, header nav, #signout')]"
        ".filter(e => e.offsetParent !== null).map(e => e.id)")
    assert shown == ["signin"]


def test_each_role_sees_only_what_it_may(chrome: Any, api_server: str, team: Dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    d = chrome
    everyone = {team["mine"], *team["others"]}
    expected = {
        "admin": (["reports", "calls", "pools", "settings"], {"play", "tag", "spam"}),
        "marketer": (["reports", "calls"], {"play", "tag", "spam"}),
        "read_only": (["reports", "calls"], {"play"}),
        "agent": (["calls"], {"play", "tag"}),
    }
    for role, (tabs, actions) in expected.items():
        fresh(d, api_server)
        sign_in(d, team["people"][role])
        assert visible_tabs(d) == tabs, role
        assert text(d, "account-name") == team["account_id"]
        assert team["people"][role] in text(d, "who") and role.replace("_", "-") in text(d, "who")
        d.find_element(By.CSS_SELECTOR, '#tabs button[data-tab="calls"]').click()
        wait_for(d, "return document.querySelectorAll('#calls-table tbody tr').length > 0")
        calls = set(listed_calls(d))
        assert calls == ({team["mine"]} if role == "agent" else everyone), role
        assert set(buttons(d, team["mine"])) == actions | {"details"}, role
        assert d.execute_script("return document.getElementById('filters-panel').hidden") == (role == "agent")


def test_an_agent_plays_their_recording_and_a_reload_keeps_them_signed_in(chrome: Any, api_server: str,
                                                                          team: Dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    d = chrome
    fresh(d, api_server)
    sign_in(d, team["people"]["agent"])
    d.refresh()                                  # a reload keeps the sign-in
    wait_for(d, "return document.body.dataset.state === 'ready'")
    assert visible_tabs(d) == ["calls"] and listed_calls(d) == [team["mine"]]
    # The call's detail page: the caller in words, what happened, the visit; its recording plays.
    row = d.find_element(By.CSS_SELECTOR, f'#calls-table tr[data-call-id="{team["mine"]}"]')
    row.find_element(By.CSS_SELECTOR, "button.details").click()
    wait_for(d, "return !document.getElementById('call-detail').hidden && document.body.dataset.state === 'ready'")
    assert text(d, "cd-caller") == "(202) 555-0100" and text(d, "cd-place") == "Washington D.C., US"
    assert text(d, "cd-status") == "answered"
    steps = d.execute_script("return [...document.querySelectorAll('#cd-timeline li b')].map(b => b.textContent)")
    assert steps[0] == "rang" and "recorded" in steps
    assert "google / cpc" in text(d, "cd-journey")
    assert "no transcript" in text(d, "cd-analysis").lower()
    d.refresh()                                  # the open call is in the URL: a reload shows it again
    wait_for(d, "return !document.getElementById('call-detail').hidden && document.body.dataset.state === 'ready'")
    assert text(d, "cd-caller") == "(202) 555-0100"
    d.find_element(By.ID, "cd-play").click()
    player = playing(d)
    assert player["error"] is None and abs(player["duration"] - RECORDING_SECONDS) < 0.1, player
    assert player["id"] == team["mine"]
    d.find_element(By.ID, "signout").click()
    wait_for(d, "return document.body.dataset.state === 'signed-out'")
    assert d.execute_script("return sessionStorage.getItem('calltrack.key')") is None
    d.refresh()
    wait_for(d, "return document.body.dataset.state === 'signed-out'")


def test_a_wrong_password_is_refused_and_a_first_sign_in_chooses_a_password(chrome: Any, api_server: str,
                                                                             team: Dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    from chalicelib import aws
    from chalicelib.people import directory

    d = chrome
    fresh(d, api_server)
    d.find_element(By.ID, "email").send_keys(team["people"]["marketer"])
    d.find_element(By.ID, "password").send_keys("not-the-password-1")
    d.find_element(By.ID, "user-signin-btn").click()
    assert wait_for(d, "return document.getElementById('user-signin-error').textContent") == "wrong email or password"

    email = team["people"]["read_only"]
    aws.client("cognito-idp").admin_set_user_password(UserPoolId=directory.pool().pool_id, Username=email,
                                                      Password="temporary-pass-1", Permanent=False)
    fresh(d, api_server)
    d.find_element(By.ID, "email").send_keys(email)
    d.find_element(By.ID, "password").send_keys("temporary-pass-1")
    d.find_element(By.ID, "user-signin-btn").click()
    wait_for(d, "return !document.getElementById('challenge-form').hidden")
    assert "Choose your password" in text(d, "challenge-label")
    d.find_element(By.ID, "challenge-answer").send_keys("my-own-pass-2")
    d.find_element(By.ID, "challenge-btn").click()
    wait_for(d, "return document.body.dataset.state === 'ready'")
    assert visible_tabs(d) == ["reports", "calls"]


def test_a_person_turns_on_authenticator_codes_and_the_next_sign_in_asks_for_one(
        chrome: Any, api_server: str, team: Dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    from tests.integration.test_people import totp

    d = chrome
    fresh(d, api_server)
    email = team["people"]["marketer"]
    sign_in(d, email)
    d.find_element(By.ID, "security").click()
    secret = wait_for(d, "return document.getElementById('mfa-secret').textContent")
    assert "otpauth://totp/" in text(d, "mfa-uri")
    d.find_element(By.ID, "mfa-code").send_keys(totp(secret, time.time()))
    d.find_element(By.ID, "mfa-enable").click()
    assert wait_for(d, "return document.getElementById('mfa-status').textContent").startswith("On")
    d.find_element(By.ID, "mfa-close").click()
    d.find_element(By.ID, "signout").click()
    d.find_element(By.ID, "email").clear()
    d.find_element(By.ID, "email").send_keys(email)
    d.find_element(By.ID, "password").send_keys(demo.DEMO_PASSWORD)
    d.find_element(By.ID, "user-signin-btn").click()
    wait_for(d, "return !document.getElementById('challenge-form').hidden")
    assert "authenticator" in text(d, "challenge-label")
    d.find_element(By.ID, "challenge-answer").send_keys(totp(secret, time.time()))
    d.find_element(By.ID, "challenge-btn").click()
    wait_for(d, "return document.body.dataset.state === 'ready'")
    assert visible_tabs(d) == ["reports", "calls"]
    assert d.execute_script("return document.getElementById('security').hidden") is False
