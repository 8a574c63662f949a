"""Fixtures for the snippet's browser tests: the built snippet, a local site serving it
with test pages, and one headless Chromium (Debian's chromium + chromium-driver) driven
by selenium. The app and moto come from tests/conftest.py (api_server, demo_account)."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.site import CHROMEDRIVER, CHROMIUM, DIST, ROOT, TEST_DOMAIN, VISITOR_UA, Site, chromium

SNIPPET = ROOT / "snippet"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    skip = pytest.mark.skip(reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def snippet_dist() -> Path:
    """Builds snippet/dist with the project's own build (npm ci on first use)."""
    if not (SNIPPET / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=SNIPPET, check=True)
    subprocess.run(["npm", "run", "build", "--silent"], cwd=SNIPPET, check=True)
    return DIST


@pytest.fixture(scope="session")
def site(snippet_dist: Path, api_server: str) -> Iterator[Site]:
    with Site(api=api_server) as s:
        yield s


@pytest.fixture(scope="session")
def chrome() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="calltrack-chromium-")
    driver = chromium(profile)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Browser:
    """The one Chromium, wiped clean for each test, with the helpers the tests share."""

    def __init__(self, driver: Any, site: Site) -> None:
        self.driver = driver
        self.site = site

    def open(self, page: str = "page.html", referrer: str | None = None, host: str | None = None,
             **params: str) -> None:
        origin = self.site.url.replace("127.0.0.1", host) if host else self.site.url
        url = f"{origin}/pages/{page}?{urlencode(params)}"
        if referrer:
            self.driver.execute_cdp_cmd("Page.navigate", {"url": url, "referrer": referrer,
                                                          "referrerPolicy": "unsafeUrl"})
        else:
            self.driver.get(url)

    def session(self) -> dict[str, Any] | None:
        """The snippet's session once its lease call settled (None when it failed)."""
        return self.driver.execute_async_script(
            "var done = arguments[0];"
            "(function wait() { window.calltrack && window.calltrack.ctx"
            " ? calltrack('number', function (s) { done(s && JSON.parse(JSON.stringify(s))); })"
            " : setTimeout(wait, 20); })();")

    def text(self, element_id: str) -> str:
        return self.driver.execute_script(f"return document.getElementById('{element_id}').textContent")

    def href(self, element_id: str) -> str:
        return self.driver.execute_script(f"return document.getElementById('{element_id}').getAttribute('href')")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def requests(self, fragment: str) -> list[str]:
        """URLs the page fetched that contain `fragment` (Resource Timing)."""
        return self.js("return performance.getEntriesByType('resource').map(e => e.name)"
                       ".filter(n => n.indexOf(arguments[0]) >= 0)", fragment)

    def console_errors(self) -> list[dict[str, Any]]:
        """Console errors and uncaught exceptions; a refused connection is Chromium's own
        network log line, not the page's, so it is left out."""
        return [e for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE" and e.get("source") != "network"]

    def cookie(self) -> str | None:
        found = self.driver.get_cookie("_calltrack")
        return found["value"] if found else None


@pytest.fixture()
def browser(chrome: Any, site: Site) -> Browser:
    chrome.execute_cdp_cmd("Network.enable", {})
    chrome.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chrome.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": VISITOR_UA})
    chrome.get_log("browser")  # drop what earlier tests logged
    return Browser(chrome, site)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
