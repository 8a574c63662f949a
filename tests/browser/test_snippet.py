"""The website snippet (snippet/dist/dni.js) in real headless Chromium, against the app
(`chalice local`) and moto. Each test seeds its own account and pool so leases never
collide; pages are served from another origin than the API, as on a real site."""
from __future__ import annotations

import socket
import time
import uuid
from typing import Any, Callable

import pytest

from chalicelib import demo
from chalicelib.dni.models import Number
from tests.browser.conftest import Browser

pytestmark = pytest.mark.browser


@pytest.fixture()
def site_key(account: Callable[..., Any]) -> str:
    """A fresh account like the demo one (default +1 415-555-0123, UK office number,
    Google organic static number, DE → German number), with its own pool."""
    return account().account_id


def parts(e164: str) -> tuple[str, str, str]:
    """+1AAABBBCCCC → (AAA, BBB, CCCC)."""
    assert e164.startswith("+1") and len(e164) == 12, e164
    return e164[2:5], e164[5:8], e164[8:]


def leased(browser: Browser) -> dict[str, Any]:
    session = browser.session()
    assert session, "the snippet got no session from the API"
    return session


def test_every_format_swapped_keeping_its_style(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key)
    s = leased(browser)
    assert s["method"] == "dynamic"
    a, b, c = parts(s["number"])
    assert browser.text("us-intl") == f"Call +1 {a}-{b}-{c} today"
    assert browser.text("us-paren") == f"({a}) {b}-{c}"
    assert browser.text("us-dots") == f"{a}.{b}.{c}"
    assert browser.text("us-plain") == f"{a}{b}{c}"
    assert browser.text("us-e164") == s["number"]
    assert browser.text("us-dash1") == f"1-{a}-{b}-{c}"
    assert browser.text("two") == f"Sales {a}-{b}-{c}, support ({a})\u00a0{b}-{c}."
    assert browser.text("bold") == f"{a}-{b}-{c}"
    # Look-alikes stay: a longer digit run, a zip code, another number of the business.
    assert browser.text("mixed").startswith("Order 41555501234 ships from 94105; call")
    assert browser.text("other") == "Fax: (415) 555-0987"


def test_uk_formats_swapped_for_a_us_tracking_number(browser: Browser, site_key: str) -> None:
    """The UK office number (the account's page_numbers) is replaced too; a US tracking
    number cannot be written in UK style, so it shows in its own formats."""
    browser.open(account=site_key)
    s = leased(browser)
    assert browser.text("uk-intl") == s["number"]
    assert browser.text("uk-trunk") == s["number"]
    assert browser.text("uk-00") == s["number"]
    assert browser.text("uk-national") == s["display"]
    assert browser.href("tel-uk") == "tel:" + s["number"]


def test_uk_formats_keep_their_style_with_a_uk_tracking_number(browser: Browser) -> None:
    browser.open(api=browser.site.url + "/uk")
    s = leased(browser)
    assert s["number"] == "+442079460000"
    assert browser.text("uk-intl") == "+44 20 7946 0000"
    assert browser.text("uk-national") == "020 7946 0000"
    assert browser.text("uk-trunk") == "+44 (0)20 7946 0000"
    assert browser.text("uk-00") == "0044 20 7946 0000"
    assert browser.href("tel-uk") == "tel:+442079460000"
    assert browser.text("us-paren") == "(415) 555-0123"  # not in this answer's replace list


def test_tel_links_rewritten_in_their_own_style(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key)
    s = leased(browser)
    a, b, c = parts(s["number"])
    assert browser.href("tel-e164") == "tel:" + s["number"]
    assert browser.href("tel-dashed") == f"tel:{a}-{b}-{c}"
    assert browser.text("tel-dashed") == f"({a}) {b}-{c}"
    assert browser.href("tel-encoded") == f"tel:+1 {a} {b} {c}"


def test_script_tag_numbers_are_swapped_too(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, **{"data-numbers": "+14155550987"})
    s = leased(browser)
    a, b, c = parts(s["number"])
    assert browser.text("other") == f"Fax: ({a}) {b}-{c}"
    assert browser.text("us-paren") == f"({a}) {b}-{c}"


def test_noswap_scripts_and_form_fields_untouched(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key)
    leased(browser)
    assert browser.text("noswap") == "Head office (415) 555-0123 call"
    assert browser.href("tel-noswap") == "tel:+14155550123"
    assert browser.js("return document.getElementById('input').value") == "415-555-0123"
    assert browser.js("return document.getElementById('textarea').value") == "415-555-0123"
    assert browser.text("inline") == 'window.pagePhone = "415-555-0123";'


def test_content_added_after_load_is_swapped(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key)
    s = leased(browser)
    a, b, c = parts(s["number"])
    browser.js("""
        var popup = document.createElement('div');
        popup.id = 'popup';
        popup.innerHTML = 'Questions? <a id="popup-tel" href="tel:+1-415-555-0123">415 555 0123</a>';
        document.body.appendChild(popup);
        document.getElementById('other').firstChild.data = 'Now: 415.555.0123';
        document.getElementById('tel-noswap').parentNode.setAttribute('data-late', '1');
        var late = document.createElement('a');
        late.id = 'late-link';
        document.body.appendChild(late);
        late.setAttribute('href', 'tel:4155550123');
        var quiet = document.createElement('p');
        quiet.id = 'late-noswap';
        quiet.textContent = '(415) 555-0123';
        document.getElementById('noswap').appendChild(quiet);
    """)
    deadline = time.time() + 3
    while time.time() < deadline and browser.text("popup") == "Questions? 415 555 0123":
        time.sleep(0.05)
    assert browser.text("popup") == f"Questions? {a} {b} {c}"
    assert browser.href("popup-tel") == f"tel:+1-{a}-{b}-{c}"
    assert browser.text("other") == f"Now: {a}.{b}.{c}"
    assert browser.href("late-link") == f"tel:{a}{b}{c}"
    assert browser.text("late-noswap") == "(415) 555-0123"


def test_swap_api_for_elements_the_page_builds_itself(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key)
    s = leased(browser)
    a, b, c = parts(s["number"])
    # Shadow DOM is out of the observer's reach: the page hands the element over.
    text = browser.js("""
        var host = document.createElement('div');
        document.body.appendChild(host);
        var root = host.attachShadow({mode: 'open'});
        root.innerHTML = '<p>Call (415) 555-0123</p>';
        calltrack('swap', root.firstChild);
        return root.firstChild.textContent;
    """)
    assert text == f"Call ({a}) {b}-{c}"


def test_calls_queued_before_the_script_loaded_run(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key)
    s = leased(browser)
    assert browser.js("return window.queuedResult && window.queuedResult.number") == s["number"]


def test_reload_resumes_the_same_number(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key)
    first = leased(browser)
    assert browser.cookie() == first["session_id"]
    browser.driver.refresh()
    again = leased(browser)
    assert again["session_id"] == first["session_id"]
    assert again["number"] == first["number"]
    a, b, c = parts(first["number"])
    assert browser.text("us-paren") == f"({a}) {b}-{c}"


def test_heartbeat_extends_the_lease_and_reports_the_page(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, **{"data-heartbeat": "1"})
    s = leased(browser)
    before = Number.get(s["number"]).lease_until
    time.sleep(2.5)
    beats = browser.requests(f"/v1/sessions/{s['session_id']}/heartbeat")
    assert len(beats) >= 2
    item = Number.get(s["number"])
    assert item.holder == s["session_id"]
    assert item.lease_until > before
    assert any("/pages/page.html" in page for page in item.pages or [])


def test_heartbeats_report_a_page_once_and_each_new_page_of_a_single_page_app(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, **{"data-heartbeat": "1"})
    s = leased(browser)
    time.sleep(2.5)                                               # a few beats on the landing page
    assert len(browser.requests(f"/v1/sessions/{s['session_id']}/heartbeat")) >= 2
    pages = Number.get(s["number"]).pages
    assert len(pages) == 1 and "/pages/page.html" in pages[0]
    browser.js("history.pushState({}, '', '/pages/page.html#pricing')")   # the app moves on
    time.sleep(1.5)
    assert [p.split("|", 1)[1] for p in Number.get(s["number"]).pages[1:]] == [browser.js("return location.href")]


def test_heartbeat_pauses_while_the_tab_is_hidden(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, **{"data-heartbeat": "1"})
    s = leased(browser)
    path = f"/v1/sessions/{s['session_id']}/heartbeat"
    browser.js("""
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
    """)
    hidden_at = len(browser.requests(path))
    time.sleep(2.2)
    assert len(browser.requests(path)) == hidden_at
    browser.js("""
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
        document.dispatchEvent(new Event('visibilitychange'));
    """)
    time.sleep(0.5)
    assert len(browser.requests(path)) == hidden_at + 1  # overdue: beats at once on return


def _until(check, timeout: float = 8.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    return check()


def test_a_visible_tab_without_input_stops_beating_until_the_visitor_touches_it(browser: Browser, site_key: str) -> None:
    # Idle after 3 s (data-idle-minutes overrides the account's idle_seconds), a beat a second.
    browser.open(account=site_key, **{"data-heartbeat": "1", "data-idle-minutes": "0.05"})
    s = leased(browser)
    assert s["idle_seconds"] == 1800                      # the account's setting reaches the page
    path = f"/v1/sessions/{s['session_id']}/heartbeat"
    assert _until(lambda: len(browser.requests(path)) >= 2)
    # No input: the beats stop (the tab stays visible) …
    stopped = _until(lambda: (lambda n: n if (time.sleep(1.6) or len(browser.requests(path)) == n) else 0)(
        len(browser.requests(path))), timeout=10)
    assert stopped and len(browser.requests(path)) == stopped
    assert browser.js("return document.hidden") is False
    # … until the visitor moves the pointer: a beat at once, then the beats go on.
    browser.js("window.dispatchEvent(new PointerEvent('pointerdown'))")
    assert _until(lambda: len(browser.requests(path)) >= stopped + 2, timeout=5)
    assert Number.get(s["number"]).holder == s["session_id"]


def test_lost_lease_leases_again_and_swaps(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, **{"data-heartbeat": "1"})
    first = leased(browser)
    # Another session takes the number (as after a long sleep past the lease's TTL).
    Number(first["number"]).update(actions=[Number.holder.set("someone-else")])
    deadline = time.time() + 5
    session = first
    while time.time() < deadline and session["number"] == first["number"]:
        time.sleep(0.2)
        session = leased(browser)
    assert session["number"] != first["number"]
    a, b, c = parts(session["number"])
    assert browser.text("us-paren") == f"({a}) {b}-{c}"
    assert browser.href("tel-e164") == "tel:" + session["number"]
    assert browser.console_errors() == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("api", ["down", "garbage", "slow"])
def test_api_trouble_keeps_the_page_number_without_errors(browser: Browser, site_key: str, api: str) -> None:
    origin = {"down": f"http://127.0.0.1:{closed_port()}", "garbage": browser.site.url + "/garbage",
              "slow": browser.site.url + "/slow"}[api]
    browser.open(account=site_key, api=origin, **{"data-timeout": "1000", "data-hide": "300"})
    assert browser.session() is None
    if api == "slow":
        time.sleep(2)  # the late answer arrived meanwhile and was ignored
    assert browser.text("us-paren") == "(415) 555-0123"
    assert browser.href("tel-e164") == "tel:+14155550123"
    assert browser.js("return getComputedStyle(document.getElementById('tel-e164')).visibility") == "visible"
    assert browser.console_errors() == []


def test_anti_flicker_hides_numbers_at_most_300ms(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, api=browser.site.url + "/slow", **{"data-hide": "5000"})
    time.sleep(0.8)
    log = browser.js("return window.hideLog")
    assert len(log) == 2, log  # hidden, then shown again without waiting for the API
    assert log[1] - log[0] <= 350
    assert browser.text("us-paren") == "(415) 555-0123"


def test_consent_required_means_no_storage_and_no_lease_before_it(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, **{"data-consent": "required"})
    time.sleep(0.7)
    assert browser.text("us-paren") == "(415) 555-0123"
    assert browser.requests("/v1/sessions") == []
    assert browser.cookie() is None
    assert browser.js("return document.cookie") == ""
    browser.js("calltrack('consent')")
    s = leased(browser)
    a, b, c = parts(s["number"])
    assert browser.text("us-paren") == f"({a}) {b}-{c}"
    assert browser.cookie() == s["session_id"]


def test_utm_landing_gets_a_pool_number_with_its_attribution(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, utm_source="newsletter", utm_medium="email", utm_campaign="spring-sale")
    s = leased(browser)
    assert (s["method"], s["source"], s["medium"], s["campaign"]) == ("dynamic", "newsletter", "email", "spring-sale")
    assert s["number"].startswith("+1415556")  # the account's own pool
    assert s["number"] != demo.DEFAULT_NUMBER


def test_utm_rule_gets_its_static_number(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, utm_source="billboard")
    s = leased(browser)
    assert (s["method"], s["number"]) == ("static", demo.BILLBOARD_NUMBER)
    a, b, c = parts(demo.BILLBOARD_NUMBER)
    assert browser.text("us-paren") == f"({a}) {b}-{c}"


def test_session_records_the_visit_ga_client_id_and_click_ids(browser: Browser, site_key: str) -> None:
    from chalicelib.dni.models import Session

    browser.driver.get(browser.site.url + "/dist/manifest.json")  # the site's origin, for its cookie
    browser.driver.add_cookie({"name": "_ga", "value": "GA1.1.1234567890.1764110000", "path": "/"})
    browser.open(account=site_key, utm_source="google", utm_medium="cpc", utm_campaign="brand",
                 utm_term="emergency plumber", gclid="Cj0KCQ-test")
    s = leased(browser)
    visit = Session.get(s["session_id"])
    assert visit.ga_client_id == "1234567890.1764110000"
    assert visit.click_ids.get("gclid") == "Cj0KCQ-test"
    assert (visit.source, visit.medium, visit.campaign, visit.keyword) == ("google", "cpc", "brand", "emergency plumber")
    assert visit.landing_page.startswith(browser.site.url + "/pages/page.html?")
    assert visit.browser and "chrome" in visit.browser.lower()


def test_the_visitors_ga4_session_reaches_the_lease_and_follows_the_page(browser: Browser, site_key: str) -> None:
    from chalicelib.dni.models import Session

    browser.driver.get(browser.site.url + "/dist/manifest.json")  # the site's origin, for its cookie
    browser.driver.add_cookie({"name": "_ga_TEST123", "value": "GS2.1.s1764110000$o3$g1$t1764110100$j0$l0$h0",
                               "path": "/"})
    browser.open(account=site_key, **{"data-heartbeat": "1"})
    s = leased(browser)
    assert Session.get(s["session_id"]).ga_session_id == "1764110000"
    assert Number.get(s["number"]).ga_session_id == "1764110000"
    # GA starts a new session while the page stays open (older GS1 format): beats report it.
    browser.js("document.cookie = '_ga_TEST123=GS1.1.1764119999.4.1.1764119999.0.0.0; path=/'")
    time.sleep(2.5)
    assert Number.get(s["number"]).ga_session_id == "1764119999"
    assert Number.get(s["number"]).holder == s["session_id"]


def test_google_organic_referrer_gets_the_organic_number(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, referrer="https://www.google.com/")
    s = leased(browser)
    assert browser.js("return document.referrer") == "https://www.google.com/"
    assert (s["method"], s["source"], s["medium"]) == ("static", "google", "organic")
    assert s["number"] == demo.GOOGLE_ORGANIC_NUMBER
    a, b, c = parts(demo.GOOGLE_ORGANIC_NUMBER)
    assert browser.text("us-dots") == f"{a}.{b}.{c}"


def test_german_visitor_gets_the_german_number(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key, **{"data-country": "DE"})
    s = leased(browser)
    assert s["number"] == demo.GERMAN_NUMBER
    # A German number cannot take US formatting: national writing shows its German
    # national format, international writing and links its E.164 form.
    assert browser.text("us-paren") == s["display"]
    assert browser.text("us-intl") == f"Call {demo.GERMAN_NUMBER} today"
    assert browser.href("tel-e164") == "tel:" + demo.GERMAN_NUMBER


def test_callback_widget_posts_the_visitors_number_with_the_session(browser: Browser, site_key: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.open(account=site_key, **{"data-callback": ""})
    leased(browser)
    wait = WebDriverWait(browser.driver, 5)
    button = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#calltrack-callback button[aria-expanded]")))
    assert button.get_attribute("aria-expanded") == "false"
    assert len(browser.requests("/dist/callback.")) == 1  # loaded lazily, on request only
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    field = browser.driver.switch_to.active_element
    assert field.get_attribute("type") == "tel"  # focus moved into the form
    assert browser.js("return document.querySelector('label[for=calltrack-phone]').textContent") == "Your phone number"
    field.send_keys("+1 415 555 0100", Keys.ENTER)
    status = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#calltrack-callback [role=status]").text
                        not in ("", "Sending…") and d.find_element(By.CSS_SELECTOR, "#calltrack-callback [role=status]"))
    assert status.text == "Thank you, we will call you back shortly."
    assert browser.console_errors() == []


def test_widget_is_not_loaded_unless_asked_for(browser: Browser, site_key: str) -> None:
    browser.open(account=site_key)
    leased(browser)
    assert browser.requests("/dist/callback.") == []
    assert browser.js("return document.getElementById('calltrack-callback')") is None


def test_demo_page_shows_the_swap_and_the_attribution(browser: Browser, site_key: str) -> None:
    query = f"account={site_key}&api={browser.site.api}&utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale"
    browser.driver.get(f"{browser.site.url}/demo/index.html?{query}")
    s = leased(browser)
    a, b, c = parts(s["number"])
    assert browser.text("header-phone") == f"({a}) {b}-{c}"
    assert browser.text("emergency") == f"+1 {a}-{b}-{c}"
    shown = {f: browser.text(f"session-{f}") for f in ("number", "method", "source", "medium", "campaign")}
    assert shown == {"number": s["number"], "method": "dynamic", "source": "newsletter", "medium": "email",
                     "campaign": "spring-sale"}
    browser.driver.find_element("id", "popup-button").click()
    assert browser.js("return document.querySelector('#popup-slot a').getAttribute('href')") == f"tel:{a}-{b}-{c}"
    # The "Try" links keep this page's API and account (make run with another PORT), except
    # the one whose point is another API.
    links = browser.js("return [...document.querySelectorAll('a[data-fresh]')].map(a => a.getAttribute('href'))")
    from urllib.parse import parse_qs

    queries = [parse_qs(link.lstrip("?")) for link in links]
    assert all(q["account"] == [site_key] for q in queries), links
    assert [q["api"] for q in queries].count([browser.site.api]) == len(links) - 1, links
    assert ["http://127.0.0.1:9"] in [q["api"] for q in queries]
    assert browser.console_errors() == []


def test_a_lost_lease_that_cannot_be_renewed_gives_each_spot_back_its_own_number(browser: Browser) -> None:
    """The heartbeat answers 410 and the new lease fails: every spot shows again exactly what
    the page had — the fax its fax number, each link its own href — not the first default."""
    browser.open(api=browser.site.url + "/gone/" + uuid.uuid4().hex, **{"data-numbers": "+14155550123,+14155550987"})
    assert browser.session()["number"] == "+14155550777"
    assert browser.text("other") == "Fax: (415) 555-0777" and browser.text("us-paren") == "(415) 555-0777"
    deadline = time.time() + 6
    while time.time() < deadline and browser.text("us-paren") != "(415) 555-0123":
        time.sleep(0.1)
    assert browser.text("us-paren") == "(415) 555-0123"
    assert browser.text("other") == "Fax: (415) 555-0987"
    assert browser.href("tel-dashed") == "tel:415-555-0123" and browser.href("tel-encoded") == "tel:+1%20415%20555%200123"
    assert browser.text("two") == "Sales 415-555-0123, support (415)\u00a0555-0123."
    assert browser.console_errors() == []


def test_swap_handed_over_before_the_number_arrives_runs_when_it_does(browser: Browser, site_key: str) -> None:
    """`calltrack('swap', shadowRoot)` queued before the lease answered (docs/snippet.md: page
    code never waits) is run when the number arrives, and later changes inside it are seen."""
    browser.open(account=site_key, api=browser.site.url + "/slow", **{"data-timeout": "5000",
                                                                       "data-numbers": "+14155550123"})
    browser.js("""
        var host = document.createElement('div'); host.id = 'shadow-host';
        document.body.appendChild(host);
        var root = host.attachShadow({mode: 'open'});
        root.innerHTML = '<p>Call (415) 555-0123</p>';
        calltrack('swap', root);
    """)
    assert browser.session()["number"] == "+14155550999"
    shadow = "return document.getElementById('shadow-host').shadowRoot"
    assert browser.js(shadow + ".firstChild.textContent") == "Call (415) 555-0999"
    browser.js("document.getElementById('shadow-host').shadowRoot.innerHTML += '<p>Or 415.555.0123</p>'")
    time.sleep(0.2)
    assert browser.js(shadow + ".lastChild.textContent") == "Or 415.555.0999"


def test_the_stubs_hide_style_and_data_hide_both_go_at_the_swap(browser: Browser) -> None:
    """The documented stub style plus `data-hide`: nothing stays hidden once the number is in
    (a fast answer, so the swap comes well inside the 300 ms both timers allow)."""
    browser.open(api=browser.site.url + "/uk", stub="hide", **{"data-hide": "300"})
    browser.session()
    assert browser.js("return window.hiddenAtSwap") == 0
    assert browser.js("return document.querySelectorAll('#calltrack-hide').length") == 0
    assert browser.js("return getComputedStyle(document.getElementById('tel-e164')).visibility") == "visible"
