"""The snippet on markup as real sites write it (tests/browser/pages/builder.html: page
builders, themes, React), in frames, installed twice, across subdomains and under a
strict Content-Security-Policy, in real headless Chromium against the app and moto."""
from __future__ import annotations

import time
import uuid
from typing import Any, Callable

import pytest

from chalicelib.dni.models import Session
from tests.browser.conftest import TEST_DOMAIN, Browser
from tests.browser.test_snippet import leased, parts

pytestmark = pytest.mark.browser


@pytest.fixture()
def site_key(account: Callable[..., Any]) -> str:
    return account(domains=("localhost", "127.0.0.1", TEST_DOMAIN)).account_id


def texts(browser: Browser, *ids: str) -> dict[str, str]:
    return browser.js("var o = {}; arguments[0].forEach(function (i) {"
                      " o[i] = document.getElementById(i).textContent; }); return o;", list(ids))


def test_numbers_split_across_elements_keep_each_digit_in_its_element(browser: Browser, site_key: str) -> None:
    browser.open("builder.html", account=site_key)
    a, b, c = parts(leased(browser)["number"])
    assert browser.js("return document.querySelector('#header-phone .area').textContent") == f"({a})"
    assert browser.js("return document.querySelector('#header-phone .rest').textContent") == f"{b}-{c}"
    assert browser.js("return document.querySelector('#divi strong').textContent") == a
    got = texts(browser, "divi", "wix", "react", "react-tel", "el-text")
    assert got == {"divi": f"{a}-{b}-{c}", "wix": f"({a}) {b}-{c}", "react": f"Call ({a}) {b}-{c} now",
                   "react-tel": f"{a}.{b}.{c}", "el-text": f"({a}) {b}-{c}"}
    # A link whose text is split shows the number it dials.
    assert browser.href("react-tel") == "tel:+1" + a + b + c
    assert browser.href("header-phone") == f"tel:+1-{a}-{b}-{c}"


def test_separators_real_pages_use(browser: Browser, site_key: str) -> None:
    browser.open("builder.html", account=site_key)
    a, b, c = parts(leased(browser)["number"])
    got = texts(browser, "en-dash", "nb-hyphen", "nbsp", "zwsp", "indented", "br")
    assert got == {
        "en-dash": f"Call {a}\u2013{b}\u2013{c}",
        "nb-hyphen": f"Call {a}\u2011{b}\u2011{c}",
        "nbsp": f"Phone:\u00a0{a}\u00a0{b}\u00a0{c}",
        "zwsp": f"Phone: {a}\u200b-\u200b{b}\u200b-\u200b{c}",
        "indented": f"\n    ({a})\n        {b}-{c}\n",
        "br": f"({a})\n      {b}-{c}",
    }


def test_labels_that_read_the_number_out_follow_the_href(browser: Browser, site_key: str) -> None:
    browser.open("builder.html", account=site_key)
    a, b, c = parts(leased(browser)["number"])
    attrs = browser.js("var e = document.getElementById('header-phone'), f = document.getElementById('footer-tel');"
                       "return [e.getAttribute('aria-label'), e.getAttribute('title'), f.getAttribute('title'),"
                       " f.getAttribute('href'), f.textContent]")
    assert attrs == [f"Call us at {a}-{b}-{c}", f"Call ({a}) {b}-{c}", f"+1 ({a}) {b}-{c}",
                     f"tel:+1 ({a}) {b}-{c}", f"+1\u00a0({a})\u00a0{b}-{c}"]


def test_sms_whatsapp_metadata_and_look_alikes_are_left_alone(browser: Browser, site_key: str) -> None:
    browser.open("builder.html", account=site_key)
    a, b, c = parts(leased(browser)["number"])
    assert texts(browser, "sms", "wa", "wa-api", "list", "cell-a", "cell-b", "longer") == {
        "sms": "Text us: 415-555-0123", "wa": "WhatsApp (415) 555-0123", "wa-api": "WhatsApp 415.555.0123",
        "list": "Suite 415555-0123 is the old fax extension", "cell-a": "415", "cell-b": "5550123",
        "longer": "Order 141555501239"}
    assert browser.href("sms") == "sms:+14155550123"
    assert browser.href("wa") == "https://wa.me/14155550123"
    assert browser.js("return document.getElementById('wa').getAttribute('aria-label')") == "WhatsApp 415 555 0123"
    head = browser.js("return [document.querySelector('meta[property]').content,"
                      " document.querySelector('script[type=\"application/ld+json\"]').textContent]")
    assert head[0] == "+1 415-555-0123" and '"telephone":"+1-415-555-0123"' in head[1]
    assert browser.text("footer").endswith(f"+1\u00a0({a})\u00a0{b}-{c}")      # the page did get swapped


def test_react_rerender_of_one_part_is_swapped_in_context(browser: Browser, site_key: str) -> None:
    """A framework re-renders one text node of a split number: the snippet reads its block again."""
    browser.open("builder.html", account=site_key)
    a, b, c = parts(leased(browser)["number"])
    browser.js("var s = document.querySelector('#header-phone .rest'); s.firstChild.data = '555-0123';"
               "document.querySelector('#header-phone .area').firstChild.data = '(415)';")
    deadline = time.time() + 3
    while time.time() < deadline and browser.text("header-phone").strip().startswith("(415)"):
        time.sleep(0.05)
    assert " ".join(browser.text("header-phone").split()) == f"({a}) {b}-{c}"


def test_a_number_added_part_by_part_is_swapped_when_its_last_part_arrives(browser: Browser, site_key: str) -> None:
    """A widget renders a split number in steps, each in its own task: the observer reads the
    block the new part lands in, not the part alone."""
    browser.open("builder.html", account=site_key)
    a, b, c = parts(leased(browser)["number"])
    browser.js("var p = document.createElement('p'); p.id = 'late'; document.body.appendChild(p);"
               "p.innerHTML = '<span>(415)</span>';"
               "setTimeout(function () { p.appendChild(document.createTextNode(' ')); }, 50);"
               "setTimeout(function () { p.insertAdjacentHTML('beforeend', '<span>555-0123</span>'); }, 100);")
    deadline = time.time() + 3
    while time.time() < deadline and " ".join(browser.text("late").split()) != f"({a}) {b}-{c}":
        time.sleep(0.05)
    assert " ".join(browser.text("late").split()) == f"({a}) {b}-{c}"


def test_same_origin_frame_joins_the_page_session(browser: Browser, site_key: str) -> None:
    browser.open("frame.html", account=site_key)
    s = leased(browser)
    a, b, c = parts(s["number"])
    frame = "document.getElementById('booking').contentDocument"
    deadline = time.time() + 5
    while time.time() < deadline and browser.js(f"var d = {frame}; return d && d.getElementById('frame-tel') &&"
                                                 " d.getElementById('frame-tel').textContent") != f"{a}-{b}-{c}":
        time.sleep(0.05)
    assert browser.js(f"return {frame}.getElementById('frame-tel').textContent") == f"{a}-{b}-{c}"
    assert browser.js(f"return {frame}.getElementById('frame-tel').getAttribute('href')") == "tel:+1" + a + b + c
    # One lease for the page and its frame, and the frame never beats for it.
    leases = browser.js("return performance.getEntriesByType('resource').concat("
                        f"{frame}.defaultView.performance.getEntriesByType('resource'))"
                        ".map(e => e.name).filter(n => /\\/v1\\/sessions$/.test(n)).length")
    assert leases == 1
    # A frame without the snippet is not reached into (docs/snippet.md).
    assert browser.js("return document.getElementById('bare').contentDocument.getElementById('bare-phone')"
                      ".textContent") == "Directions: call 415-555-0123"


def test_installed_twice_leases_once_and_keeps_one_session(browser: Browser, site_key: str) -> None:
    browser.open("twice.html", account=site_key)
    first = leased(browser)
    time.sleep(0.5)                                     # the tag manager's copy has run too
    assert len(browser.requests("/v1/sessions")) == 1
    a, b, c = parts(first["number"])
    assert browser.text("us-paren") == f"({a}) {b}-{c}"
    browser.open("twice.html", account=site_key)        # the next page: the same session and number
    again = leased(browser)
    time.sleep(0.5)
    assert len(browser.requests("/v1/sessions")) == 1
    assert (again["session_id"], again["number"]) == (first["session_id"], first["number"])
    # ...and that is the API's answer, not only the cached one the first paint used.
    assert browser.js("return calltrack.ctx().session_id") == first["session_id"]
    assert browser.cookie() == first["session_id"]


def test_subdomains_share_the_session_and_number(browser: Browser, site_key: str) -> None:
    browser.open(host=f"www.{TEST_DOMAIN}", account=site_key)
    first = leased(browser)
    assert first["cookie_domain"] == TEST_DOMAIN
    cookie = browser.driver.get_cookie("_calltrack")
    assert cookie["value"] == first["session_id"] and cookie["domain"] in (TEST_DOMAIN, "." + TEST_DOMAIN)
    browser.open(host=f"shop.{TEST_DOMAIN}", account=site_key)
    again = leased(browser)
    assert (again["session_id"], again["number"]) == (first["session_id"], first["number"])
    a, b, c = parts(first["number"])
    assert browser.text("us-paren") == f"({a}) {b}-{c}"
    assert Session.get(first["session_id"]).session_id == first["session_id"]


def test_host_only_cookie_when_the_account_says_so(browser: Browser, account: Callable[..., Any]) -> None:
    acc = account(domains=("localhost", "127.0.0.1", TEST_DOMAIN))
    from chalicelib.dni.models import Account
    item = Account.get(acc.account_id)
    item.update(actions=[Account.config.set({**(item.config or {}), "cookie_domain": "host"})])
    time.sleep(0.1)
    browser.open(host=f"www.{TEST_DOMAIN}", account=acc.account_id)
    first = leased(browser)
    assert "cookie_domain" not in first
    assert browser.driver.get_cookie("_calltrack")["domain"] == f"www.{TEST_DOMAIN}"


@pytest.mark.parametrize("csp,attrs", [("class", {"data-hide-class": ""}), ("nonce", {})])
def test_strict_csp_hides_without_a_violation(browser: Browser, site_key: str, csp: str, attrs: dict[str, str]) -> None:
    """style-src 'self': the hiding goes by a class the site's stylesheet styles; with a style
    nonce, the snippet's style carries the script's nonce. Either way no CSP violation."""
    browser.open("csp.html", account=site_key, csp=csp, **{"data-hide": "300", **attrs})
    a, b, c = parts(leased(browser)["number"])
    assert browser.text("us-paren") == f"({a}) {b}-{c}"
    assert browser.js("return window.violations") == []
    assert [e for e in browser.console_errors() if "Content Security Policy" in e["message"]] == []
    hiding = browser.js("return window.hiding")
    if csp == "class":
        assert ["calltrack-hiding", "hidden", False] in hiding          # by the site's own rule, no inline style
    else:
        assert ["calltrack-hiding", "hidden", True] in hiding           # the nonce'd style applied too
    assert hiding[-1][:2] == ["", "visible"]                             # and shown again at the swap
    assert browser.js("return getComputedStyle(document.getElementById('tel-e164')).visibility") == "visible"


def test_a_frame_under_a_page_with_only_the_stub_leases_for_itself(browser: Browser, site_key: str) -> None:
    """The parent has the install stub but no snippet (removed from the theme, or blocked):
    the frame does not wait for a page that will never answer."""
    browser.open("frame-stub.html", account=site_key)
    frame = "document.getElementById('booking').contentDocument"
    deadline = time.time() + 5
    while time.time() < deadline and browser.js(f"var d = {frame}; var t = d && d.getElementById('frame-tel');"
                                                 " return t && t.textContent") in (None, "415-555-0123"):
        time.sleep(0.05)
    text = browser.js(f"return {frame}.getElementById('frame-tel').textContent")
    assert text != "415-555-0123" and text.replace("-", "").isdigit()
    assert browser.text("parent-phone") == "Call (415) 555-0123"      # nothing ran in the page itself


def test_an_older_host_only_cookie_gives_way_to_the_shared_one(browser: Browser, site_key: str) -> None:
    """A visitor from before the cookie moved to the account's domain (or before the account
    changed cookie_domain) has a host-only `_calltrack`: it is replaced, not left to shadow
    the shared cookie on every later page."""
    browser.open("frame-bare.html", host=f"www.{TEST_DOMAIN}")
    browser.js("document.cookie = '_calltrack=legacy-unknown-id;path=/;max-age=3600'")
    browser.open(host=f"www.{TEST_DOMAIN}", account=site_key)
    first = leased(browser)
    assert first["session_id"] != "legacy-unknown-id"
    assert browser.js("return document.cookie.match(/(^|; )_calltrack=/g).length") == 1
    assert browser.cookie() == first["session_id"]
    browser.open(host=f"www.{TEST_DOMAIN}", account=site_key)
    assert leased(browser)["session_id"] == first["session_id"]


def test_consent_withdrawn_before_any_lease_removes_the_shared_cookie_and_the_cache(
        browser: Browser, site_key: str) -> None:
    browser.open(host=f"www.{TEST_DOMAIN}", account=site_key)
    first = leased(browser)
    assert browser.js("return localStorage.getItem('_calltrack')")
    browser.open(host=f"www.{TEST_DOMAIN}", account=site_key, **{"data-consent": "required"})
    browser.js("calltrack('consent', false)")
    assert browser.js("return document.cookie.indexOf('_calltrack=')") == -1, first
    assert browser.js("return localStorage.getItem('_calltrack')") is None


def test_a_number_written_straight_into_a_shadow_root_is_swapped(browser: Browser, site_key: str) -> None:
    """Text directly under the shadow root (no element around it) has no parent element."""
    browser.open(account=site_key)
    a, b, c = parts(leased(browser)["number"])
    got = browser.js("var host = document.createElement('div'); document.body.appendChild(host);"
                     "var root = host.attachShadow({mode: 'open'}); root.textContent = 'Call 415-555-0123';"
                     "calltrack('swap', root); return [root.textContent, document.getElementById('us-paren').textContent]")
    assert got == [f"Call {a}-{b}-{c}", f"({a}) {b}-{c}"]
    assert browser.console_errors() == []


def test_the_cached_number_follows_the_heartbeat_and_goes_with_a_lost_lease(browser: Browser, site_key: str) -> None:
    """The cache a returning visitor's first paint uses: its expiry moves with each beat,
    and a lease lost and not renewed takes it away (the number may be another visitor's now)."""
    browser.open(account=site_key, **{"data-heartbeat": "1"})
    s = leased(browser)
    cached = browser.js("return JSON.parse(localStorage.getItem('_calltrack')).expires_at")
    deadline = time.time() + 5
    while time.time() < deadline and browser.js(
            "return JSON.parse(localStorage.getItem('_calltrack')).expires_at") == cached:
        time.sleep(0.2)
    assert browser.js("return JSON.parse(localStorage.getItem('_calltrack')).expires_at") > cached, s
    browser.open(api=browser.site.url + "/gone/" + uuid.uuid4().hex)
    assert browser.session()["number"] == "+14155550777"
    deadline = time.time() + 6
    while time.time() < deadline and browser.text("us-paren") != "(415) 555-0123":
        time.sleep(0.1)
    assert browser.text("us-paren") == "(415) 555-0123"
    assert browser.js("return localStorage.getItem('_calltrack')") is None


def test_a_lost_lease_gives_back_split_numbers_labels_and_titles(browser: Browser) -> None:
    """After a 410 and a failed re-lease, page-builder markup is the page's own again: each
    part of a split number, the aria-label and title that read it out."""
    browser.open("builder.html", api=browser.site.url + "/gone/" + uuid.uuid4().hex, **{"data-numbers": "+14155550123"})
    assert browser.session()["number"] == "+14155550777"
    label = "return document.getElementById('header-phone').getAttribute('aria-label')"
    assert browser.js(label) == "Call us at 415-555-0777"
    deadline = time.time() + 6
    while time.time() < deadline and browser.js(label) != "Call us at 415-555-0123":
        time.sleep(0.1)
    assert browser.js(label) == "Call us at 415-555-0123"
    assert browser.js("return document.getElementById('header-phone').getAttribute('title')") == "Call (415) 555-0123"
    assert browser.js("return document.querySelector('#header-phone .rest').textContent") == "555-0123"
    assert browser.text("divi") == "415-555-0123"
    assert browser.href("header-phone") == "tel:+1-415-555-0123"
