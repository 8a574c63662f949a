"""The dashboard in real headless Chromium against `chalice local` and moto: sign in with
an API key, drill down until the numbers change, play a recording served by a local
stub, tag a call, and change a setting. Its own account and data; the Chromium and the
app come from the shared fixtures (tests/browser/conftest.py, tests/conftest.py)."""
from __future__ import annotations

import io
import re
import time
import uuid
import wave
from http.server import BaseHTTPRequestHandler

from tests.local_http import serve
from typing import Any, Callable, Dict, Iterator

import pytest

from chalicelib.calls.store import CALL_KEYS
from chalicelib import streams
from chalicelib.demo_traffic import write_calls
from chalicelib.dni.models import Account

pytestmark = pytest.mark.browser

RECORDING_SECONDS = 1.5


def tiny_wav() -> bytes:
    """1.5 s of a quiet 8 kHz mono tone: a real file the browser must decode."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        frames = bytearray()
        for i in range(int(8000 * RECORDING_SECONDS)):
            sample = 800 if (i // 10) % 2 else -800  # a 400 Hz square wave
            frames += sample.to_bytes(2, "little", signed=True)
        w.writeframes(bytes(frames))
    return out.getvalue()


class _Store(BaseHTTPRequestHandler):
    fetched: list = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = tiny_wav()
        _Store.fetched.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def recording_store() -> Iterator[str]:
    with serve(_Store) as url:
        yield url


def call(account_id: str, when: float, **kw: Any) -> Dict[str, Any]:
    c = {k: None for k in CALL_KEYS}
    c.update({"account_id": account_id, "call_id": "c-" + uuid.uuid4().hex[:10], "direction": "inbound",
              "status": "answered", "started_at": when, "wait_seconds": 12, "talk_seconds": 60,
              "within_working_hours": True, "source": "google", "medium": "cpc", "method": "dynamic",
              "tracking_number": "+14155550131", "caller": "+12025550100", "country": "US", "tags": [],
              "classification": {"unique": True, "target": True, "repeated": False, "first_target": True,
                                 "unique_target": True}})
    c.update(kw)
    return c


@pytest.fixture()
def dashboard_account(account: Callable[..., Any], recording_store: str) -> Dict[str, Any]:
    key = "k-" + uuid.uuid4().hex
    acc = account(api_key=key, extra_config={"tag_categories": [{"name": "Sale", "code": "1", "default_value": 150},
                                                                {"name": "Quote", "values": ["boiler", "leak"]}]})
    a = acc.account_id
    when = time.time() - 2 * 86400
    calls = [call(a, when, status="missed", within_working_hours=False, wait_seconds=30) for _ in range(13)]
    calls += [call(a, when, status="missed", direction="outbound", wait_seconds=30) for _ in range(13)]
    calls += [call(a, when, status="abandoned_in_greeting", wait_seconds=4) for _ in range(11)]
    calls += [call(a, when + 60, status="missed", wait_seconds=40, source="bing") for _ in range(3)]
    recorded = call(a, when + 120, recording_url=f"{recording_store}/rec/{uuid.uuid4().hex}.wav")
    calls += [call(a, when, source="facebook") for _ in range(19)] + [recorded]
    write_calls(calls)
    streams.catch_up()   # the dashboard's reports read roll-ups: let the stream consumer see the calls
    return {"account_id": a, "key": key, "recorded": recorded["call_id"], "calls": len(calls)}


def wait_ready(driver: Any, loads: int | None = None, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = driver.execute_script("return [document.body.dataset.state, document.body.dataset.loads]")
        if state[0] == "error":
            raise AssertionError(driver.execute_script("return document.getElementById('error').textContent"))
        if state[0] == "ready" and (loads is None or int(state[1] or 0) >= loads):
            return
        time.sleep(0.05)
    raise AssertionError(f"the dashboard did not settle: {state}")


def settle(d: Any, timeout: float = 15) -> None:
    """Until the page is done signing in (or out): a page still signing in would write its
    token back into sessionStorage after a test cleared it."""
    deadline = time.time() + timeout
    while d.execute_script("return document.body.dataset.state") not in ("signed-out", "ready", "error"):
        if time.time() > deadline:
            raise AssertionError("the dashboard did not settle")
        time.sleep(0.05)


def open_with_key(d: Any, api_server: str, account_id: str, key: str, fragment: str = "") -> None:
    from selenium.webdriver.common.by import By

    d.get(f"{api_server}/dashboard")
    settle(d)                         # a page still signing in would write its token back
    d.execute_script("sessionStorage.clear()")
    d.get("about:blank")
    d.get(f"{api_server}/dashboard{fragment}")
    d.find_element(By.CSS_SELECTOR, "#key-signin summary").click()
    d.find_element(By.ID, "account").send_keys(account_id)
    d.find_element(By.ID, "apikey").send_keys(key)
    d.find_element(By.ID, "signin-btn").click()


def text(driver: Any, element_id: str) -> str:
    return driver.execute_script("return document.getElementById(arguments[0]).textContent", element_id)


def playing(driver: Any, timeout: float = 15) -> Dict[str, Any]:
    """The player's state once it plays (or at the timeout)."""
    deadline = time.time() + timeout
    player: Dict[str, Any] = {}
    while time.time() < deadline:
        player = driver.execute_script("var p = document.getElementById('player');"
                                       "return {id: p.dataset.callId, src: p.currentSrc, ready: p.readyState,"
                                       " duration: p.duration, error: p.error && p.error.code, t: p.currentTime}")
        if player["ready"] >= 2 and player["t"] > 0:
            break
        time.sleep(0.1)
    return player


def test_sign_in_drill_down_play_tag_and_change_a_setting(chrome: Any, api_server: str,
                                                          dashboard_account: Dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = chrome
    acc = dashboard_account
    d.get(f"{api_server}/dashboard")
    d.execute_script("sessionStorage.clear()")
    d.get(f"{api_server}/dashboard")

    # A wrong key is refused in words; the right one opens the account.
    d.find_element(By.CSS_SELECTOR, "#key-signin summary").click()     # people sign in by email; keys below
    d.find_element(By.ID, "account").send_keys(acc["account_id"])
    d.find_element(By.ID, "apikey").send_keys("not-the-key")
    d.find_element(By.ID, "signin-btn").click()
    deadline = time.time() + 10
    while not text(d, "signin-error") and time.time() < deadline:
        time.sleep(0.05)
    assert "does not open" in text(d, "signin-error")
    d.find_element(By.ID, "apikey").clear()
    d.find_element(By.ID, "apikey").send_keys(acc["key"])
    d.find_element(By.ID, "signin-btn").click()
    wait_ready(d, loads=1)
    assert text(d, "kpi-calls") == str(acc["calls"]) and text(d, "kpi-missed") == "40"
    assert d.execute_script("return sessionStorage.getItem('calltrack.key')") == acc["key"]
    rows = d.execute_script("return [...document.querySelectorAll('#report-table tbody tr')].map(r => r.dataset.key)")
    assert rows[0] == "google" and set(rows) == {"google", "facebook", "bing"}
    assert d.execute_script("return Chart.getChart('chart-sources').data.datasets.length") == 3

    # The buyer's guide drill-down: 40 missed → the 3 the agents really missed.
    Select(d.find_element(By.ID, "f-outcome")).select_by_value("missed")
    Select(d.find_element(By.ID, "f-hours")).select_by_value("true")
    Select(d.find_element(By.ID, "f-direction")).select_by_value("inbound,callback")
    d.find_element(By.ID, "f-min-wait").send_keys("10")
    d.find_element(By.ID, "apply").click()
    wait_ready(d, loads=2)
    assert text(d, "kpi-calls") == "3" and text(d, "kpi-missed-pct") == "100%"
    assert d.execute_script("return document.querySelectorAll('#calls-table tbody tr').length") == 3

    # Back to all calls; play the recorded one from the call list.
    d.find_element(By.ID, "reset-filters").click()
    wait_ready(d, loads=3)
    d.find_element(By.CSS_SELECTOR, '#tabs button[data-tab="calls"]').click()
    row = d.find_element(By.CSS_SELECTOR, f'#calls-table tr[data-call-id="{acc["recorded"]}"]')
    row.find_element(By.CSS_SELECTOR, "button.play").click()
    player = playing(d)
    assert player["id"] == acc["recorded"] and player["error"] is None, player
    assert abs(player["duration"] - RECORDING_SECONDS) < 0.1 and player["t"] > 0, player

    # Tag the call by hand: the pill and the category's nominal value appear.
    row.find_element(By.CSS_SELECTOR, "button.tag").click()
    Select(d.find_element(By.ID, "tag-category")).select_by_visible_text("Sale")
    d.find_element(By.ID, "tag-save").click()
    deadline = time.time() + 10
    while "Sale" not in row.find_element(By.CSS_SELECTOR, "td.tags").text and time.time() < deadline:
        time.sleep(0.05)
    assert row.find_element(By.CSS_SELECTOR, "td.tags").text == "Sale"
    assert row.find_element(By.CSS_SELECTOR, "td.value").text == "150"

    # On the Calls tab, Export CSV exports the calls themselves, not the source rows.
    d.execute_script("""window.__exported = null; const real = URL.createObjectURL;
        URL.createObjectURL = (blob) => { blob.text().then(t => { window.__exported = t; }); return real(blob); };""")
    d.find_element(By.ID, "export-csv").click()
    deadline = time.time() + 10
    while not d.execute_script("return window.__exported") and time.time() < deadline:
        time.sleep(0.05)
    exported = d.execute_script("return window.__exported").splitlines()
    assert "call_id" in exported[0] and any(acc["recorded"] in line for line in exported[1:]), exported[:2]

    # A person's verdict: spam. The row says so; the default list leaves it out, "spam only" shows it alone.
    row.find_element(By.CSS_SELECTOR, "button.spam").click()
    deadline = time.time() + 10
    while "spam" not in row.find_element(By.CSS_SELECTOR, "td.status").text and time.time() < deadline:
        time.sleep(0.05)
    assert row.find_element(By.CSS_SELECTOR, "td.status").text.endswith("· spam (operator)")
    assert row.find_element(By.CSS_SELECTOR, "button.spam").text == "Not spam"
    Select(d.find_element(By.ID, "f-spam")).select_by_value("only")
    d.find_element(By.ID, "apply").click()
    wait_ready(d, loads=4)
    listed = d.execute_script("return [...document.querySelectorAll('#calls-table tbody tr')].map(r => r.dataset.callId)")
    assert listed == [acc["recorded"]]
    Select(d.find_element(By.ID, "f-spam")).select_by_value("")
    d.find_element(By.ID, "apply").click()
    wait_ready(d, loads=5)
    listed = d.execute_script("return [...document.querySelectorAll('#calls-table tbody tr')].map(r => r.dataset.callId)")
    assert acc["recorded"] not in listed and listed

    # Settings: a longer greeting, saved through the admin API.
    d.find_element(By.CSS_SELECTOR, '#tabs button[data-tab="settings"]').click()
    wait_ready(d)
    greeting = d.find_element(By.ID, "s-greeting")
    assert greeting.get_attribute("value") == "10"
    greeting.clear()
    greeting.send_keys("14")
    d.find_element(By.ID, "settings-save").click()
    deadline = time.time() + 10
    while text(d, "settings-status") != "Saved." and time.time() < deadline:
        assert not text(d, "settings-error"), text(d, "settings-error")
        time.sleep(0.05)
    assert text(d, "settings-status") == "Saved."
    assert Account.get(acc["account_id"]).settings.get("greeting_seconds") == 14

    # A configuration section as JSON: refused in words when its schema says no, then saved.
    Select(d.find_element(By.ID, "c-section")).select_by_value("page_numbers")
    d.find_element(By.ID, "c-mode-json").click()          # the text view (forms: test_dashboard_views.py)
    editor = d.find_element(By.ID, "c-value")

    def save_section(value: str, shown: str) -> str:
        editor.clear()
        editor.send_keys(value)
        d.find_element(By.ID, "c-save").click()
        deadline = time.time() + 10
        while not text(d, shown) and time.time() < deadline:
            time.sleep(0.05)
        return text(d, shown)

    assert "not a number" in save_section('["not a number"]', "c-error")
    assert save_section('["+442079460959"]', "c-status") == "Saved." and text(d, "c-error") == ""
    assert Account.get(acc["account_id"]).config["page_numbers"] == ["+442079460959"]

    # Conversation rules: tried on the last 30 days' calls from the editor, nothing saved.
    assert not d.find_element(By.ID, "c-dry-run").is_displayed()
    Select(d.find_element(By.ID, "c-section")).select_by_value("call_rules")
    assert d.find_element(By.ID, "c-dry-run").is_displayed()
    editor.clear()
    editor.send_keys('[{"id": "long", "when": {"fact": "talk_seconds", "op": ">=", "value": 60}, '
                     '"then": {"tags": ["long-call"]}}]')
    d.find_element(By.ID, "c-dry-run").click()
    deadline = time.time() + 20
    while "Nothing was changed" not in text(d, "c-status") and time.time() < deadline:
        assert not text(d, "c-error"), text(d, "c-error")
        time.sleep(0.05)
    status = text(d, "c-status")
    assert re.match(r"^\d+ calls read \(0 with a transcript\), \d+ matched — long: \d+\. Nothing was changed\.$",
                    status), status
    assert int(status.split(" calls read")[0]) > 0 and "call_rules" not in Account.get(acc["account_id"]).config
    assert [e for e in d.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"] == []


def test_an_archived_recording_plays_straight_from_its_presigned_link(chrome: Any, api_server: str,
                                                                      account: Callable[..., Any]) -> None:
    """A recording in the archive is played by the browser from S3 (the presigned link),
    with no audio passing through the API and Vonage's copy no longer needed."""
    from selenium.webdriver.common.by import By

    from chalicelib import aws
    from chalicelib.calls import lifecycle
    from chalicelib.reports import archive

    key = "k-" + uuid.uuid4().hex
    a = account(api_key=key).account_id
    archived = call(a, time.time() - 3600, recording_url="https://api.nexmo.com/v1/files/" + str(uuid.uuid4()))
    write_calls([archived])
    streams.catch_up()
    object_key = archive.key_of(a, archived["call_id"], archived["started_at"], "rec", "audio/wav")
    aws.client("s3").put_object(Bucket=archive.bucket(), Key=object_key, Body=tiny_wav(), ContentType="audio/wav")
    lifecycle.keep_archive(archived["call_id"], {"u": archived["recording_url"], "kind": "call", "key": object_key,
                                                 "b": len(tiny_wav()), "ct": "audio/wav", "ret": 90, "at": time.time()})
    d = chrome
    open_with_key(d, api_server, a, key)
    wait_ready(d, loads=1)
    d.find_element(By.CSS_SELECTOR, '#tabs button[data-tab="calls"]').click()
    row = d.find_element(By.CSS_SELECTOR, f'#calls-table tr[data-call-id="{archived["call_id"]}"]')
    row.find_element(By.CSS_SELECTOR, "button.play").click()
    player = playing(d)
    assert player["error"] is None and "X-Amz-Signature" in player["src"], player
    assert abs(player["duration"] - RECORDING_SECONDS) < 0.1, player
