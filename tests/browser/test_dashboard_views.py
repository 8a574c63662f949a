"""The reports view in real headless Chromium: filters live in the URL (a reload keeps
them), the previous period's comparison shows deltas, days are zero-filled, a source keeps
its colour, statuses read in words, and a new account shows its empty state."""
from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Dict

import pytest

from chalicelib import streams
from chalicelib.demo_traffic import write_calls
from tests.browser.test_dashboard import call, open_with_key, text, wait_ready

pytestmark = pytest.mark.browser


@pytest.fixture()
def two_periods(account: Callable[..., Any]) -> Dict[str, Any]:
    key = "k-" + uuid.uuid4().hex
    a = account(api_key=key).account_id
    now = time.time()
    recent = [call(a, now - 2 * 86400, source="google", recording_url="https://api.nexmo.com/v1/files/x",
                   campaign="Emergency plumber", keyword="plumber near me", value=180.0,
                   tags=[{"category": "Quote", "value": "boiler", "by": "manual"}]) for _ in range(4)]
    recent += [call(a, now - 2 * 86400, source="facebook", status="abandoned_in_greeting") for _ in range(2)]
    older = [call(a, now - 40 * 86400, source="google") for _ in range(2)] + [call(a, now - 40 * 86400,
                                                                                     source="facebook")]
    write_calls(recent + older)
    streams.catch_up()
    return {"account_id": a, "key": key}


def loads(d: Any) -> int:
    return int(d.execute_script("return document.body.dataset.loads || 0"))


def test_filters_survive_a_reload_and_the_comparison_shows_deltas(chrome: Any, api_server: str,
                                                                  two_periods: Dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = chrome
    open_with_key(d, api_server, two_periods["account_id"], two_periods["key"])
    wait_ready(d, loads=1)
    assert text(d, "kpi-calls") == "6"
    d.find_element(By.ID, "f-source").send_keys("google")
    d.find_element(By.ID, "apply").click()
    wait_ready(d, loads=2)
    assert text(d, "kpi-calls") == "4"
    assert "source=google" in d.execute_script("return location.hash")

    d.refresh()                       # same tab: still signed in, same filters, same figures
    wait_ready(d, loads=1)
    assert d.find_element(By.ID, "f-source").get_attribute("value") == "google"
    assert text(d, "kpi-calls") == "4"

    d.find_element(By.ID, "f-compare").click()
    wait_ready(d, loads=2)
    delta = d.execute_script("return document.querySelector('#kpi-calls').parentNode.querySelector('.delta')")
    assert delta.get_attribute("data-delta") == "100", delta.text   # 4 google calls now, 2 in the 30 days before
    assert delta.text.startswith("+100%") and "up" in delta.get_attribute("class")

    # A shared link opens the same view: the fragment alone, in a fresh tab's storage.
    link = d.execute_script("return location.hash")
    open_with_key(d, api_server, two_periods["account_id"], two_periods["key"], link)
    wait_ready(d, loads=1)
    assert d.find_element(By.ID, "f-compare").is_selected() and text(d, "kpi-calls") == "4"

    # Days without calls are zero rows; google keeps its colour whatever else is shown.
    d.find_element(By.ID, "reset-filters").click()
    wait_ready(d, loads=2)
    Select(d.find_element(By.ID, "f-group")).select_by_value("day")
    wait_ready(d, loads=3)
    days = d.execute_script("return [...document.querySelectorAll('#report-table tbody tr')].map(r => r.dataset.key)")
    assert len(days) == 30 and days == sorted(days)
    colours = d.execute_script("return Object.fromEntries(Chart.getChart('chart-sources').data.datasets"
                               ".map(s => [s.label, s.backgroundColor]))")
    assert colours["google"] == "#1f6feb" and colours["facebook"] == "#8250df"
    Select(d.find_element(By.ID, "f-group")).select_by_value("status")
    wait_ready(d, loads=4)
    labels = d.execute_script("return [...document.querySelectorAll('#report-table tbody tr td:first-child')]"
                              ".map(td => td.textContent)")
    assert "hung up in the greeting" in labels and "abandoned_in_greeting" not in labels


def test_a_new_account_shows_its_empty_state(chrome: Any, api_server: str, account: Callable[..., Any]) -> None:
    key = "k-" + uuid.uuid4().hex
    a = account(api_key=key).account_id
    open_with_key(chrome, api_server, a, key)
    wait_ready(chrome, loads=1)
    assert chrome.execute_script("return !document.getElementById('empty').hidden")
    assert text(chrome, "empty-title") == "No calls or visits yet"
    assert "snippet" in text(chrome, "empty-text")


def test_the_call_log_fits_a_laptop_screen_and_its_columns_are_the_readers_choice(
        chrome: Any, api_server: str, two_periods: Dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    d = chrome
    d.set_window_size(1366, 900)
    d.get(f"{api_server}/dashboard")
    d.execute_script("localStorage.removeItem('calltrack.columns')")
    open_with_key(d, api_server, two_periods["account_id"], two_periods["key"])
    wait_ready(d, loads=1)
    d.find_element(By.CSS_SELECTOR, '#tabs button[data-tab="calls"]').click()
    fits = d.execute_script("var t = document.getElementById('calls-table');"
                            "return [t.scrollWidth, document.documentElement.clientWidth]")
    assert fits[0] <= fits[1], fits
    row = d.find_element(By.CSS_SELECTOR, "#calls-table tbody tr")
    cells = {td.get_attribute("data-column"): td.text for td in row.find_elements(By.CSS_SELECTOR, "td[data-column]")}
    assert cells["caller"] == "(202) 555-0100" and cells["talk"] == "1:00" and "tracking" not in cells
    d.find_element(By.CSS_SELECTOR, "#columns summary").click()
    d.find_element(By.CSS_SELECTOR, '#columns-list input[value="tracking"]').click()
    headers = d.execute_script("return [...document.querySelectorAll('#calls-table thead th')].map(t => t.textContent)")
    assert "Tracking number" in headers
    d.refresh()
    wait_ready(d, loads=1)
    headers = d.execute_script("return [...document.querySelectorAll('#calls-table thead th')].map(t => t.textContent)")
    assert "Tracking number" in headers                    # the choice is kept in this browser
    d.execute_script("localStorage.removeItem('calltrack.columns')")


FIELD = """
var node = document.getElementById('c-form');
for (const part of arguments[0].split('/')) {
  const rows = [...node.querySelectorAll(':scope > fieldset > .schema-row, :scope > .schema-row')];
  const row = rows.find(r => r.firstChild.textContent.replace(' *', '') === part);
  if (!row) return null;
  node = row.children[1];
}
return node;"""


def test_configuration_is_edited_in_forms_drawn_from_the_schemas(chrome: Any, api_server: str,
                                                                 two_periods: Dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from chalicelib.dni.models import Account

    d = chrome
    open_with_key(d, api_server, two_periods["account_id"], two_periods["key"])
    wait_ready(d, loads=1)
    d.find_element(By.CSS_SELECTOR, '#tabs button[data-tab="settings"]').click()
    deadline = time.time() + 10
    while not d.execute_script("return document.getElementById('c-section').options.length") and time.time() < deadline:
        time.sleep(0.05)
    Select(d.find_element(By.ID, "c-section")).select_by_value("routing")
    d.find_element(By.ID, "c-mode-form").click()
    greeting = d.execute_script(FIELD, "greeting")
    assert greeting.get_attribute("value") == "Thanks for calling Demo Plumbing."      # the stored value, drawn
    greeting.clear()
    greeting.send_keys("Thanks for calling, this call may be recorded.")
    d.execute_script(FIELD, "ring seconds").send_keys("25")
    assert d.execute_script(FIELD, "whisper").is_selected()
    d.execute_script(FIELD, "whisper").click()
    assert d.execute_script(FIELD, "voicemail/enabled").is_selected()      # nested values are drawn too
    d.execute_script(FIELD, "voicemail/max seconds").send_keys("90")
    # A map of entries: the voice menu's digits.
    d.execute_script(FIELD, "ivr/prompt").send_keys("Press 1 for sales, 2 for service.")
    options = d.execute_script(FIELD, "ivr/options")
    options.find_element(By.CSS_SELECTOR, "button.add").click()
    entry = options.find_elements(By.CSS_SELECTOR, ".schema-entry")[-1]
    entry.find_element(By.CSS_SELECTOR, "input[placeholder=key]").send_keys("1")
    entry.find_elements(By.CSS_SELECTOR, "label.schema-row input")[0].send_keys("Sales")
    d.find_element(By.ID, "c-save").click()
    deadline = time.time() + 10
    while text(d, "c-status") != "Saved." and time.time() < deadline:
        assert not text(d, "c-error"), text(d, "c-error")
        time.sleep(0.05)
    routing = Account.get(two_periods["account_id"]).config["routing"]
    assert routing["greeting"] == "Thanks for calling, this call may be recorded." and routing["whisper"] is False
    assert routing["ring_seconds"] == 25 and routing["voicemail"] == {"enabled": True, "max_seconds": 90}
    assert routing["ivr"] == {"prompt": "Press 1 for sales, 2 for service.", "options": {"1": {"department": "Sales"}}}
    assert routing["destination"]                     # fields the form did not touch are kept

    # A value out of the schema's range is refused by the form itself, in words, before any request;
    # the JSON view shows the form's value as it stands.
    ring = d.execute_script(FIELD, "ring seconds")
    ring.clear()
    ring.send_keys("500")
    d.find_element(By.ID, "c-save").click()
    assert "120" in d.execute_script("return arguments[0].validationMessage", ring)
    time.sleep(0.3)
    assert Account.get(two_periods["account_id"]).config["routing"]["ring_seconds"] == 25
    d.find_element(By.ID, "c-mode-json").click()
    assert '"ring_seconds": 500' in d.find_element(By.ID, "c-value").get_attribute("value")
    d.find_element(By.ID, "c-mode-form").click()

    # Geo rules have their own route: the same form, saved through PUT /geo.
    Select(d.find_element(By.ID, "c-section")).select_by_value("geo rules")
    rules = d.execute_script(FIELD, "geo")
    for old in rules.find_elements(By.CSS_SELECTOR, ".schema-entry button.remove"):   # the demo's German rule
        old.click()
    rules.find_element(By.CSS_SELECTOR, "button.add").click()
    entry = rules.find_elements(By.CSS_SELECTOR, ".schema-entry")[-1]
    inputs = {r.find_element(By.TAG_NAME, "span").text.replace(" *", ""): r.find_element(By.CSS_SELECTOR, "input, select")
              for r in entry.find_elements(By.CSS_SELECTOR, "label.schema-row")}
    inputs["country"].send_keys("CA")
    inputs["pool"].send_keys("main")
    d.find_element(By.ID, "c-save").click()
    deadline = time.time() + 10
    while text(d, "c-status") != "Saved." and time.time() < deadline:
        assert not text(d, "c-error"), text(d, "c-error")
        time.sleep(0.05)
    assert Account.get(two_periods["account_id"]).geo == [{"country": "CA", "pool": "main"}]
