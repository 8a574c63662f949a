"""A local web site for the browser tests: the built snippet under /dist/, test pages
under /pages/, the demo page under /demo/ (laid out as `make run` serves snippet/), two misbehaving APIs (/garbage, /slow) for the never-break-the-page
tests, and a canned UK answer (/uk). Pages are templates: {{api}} is the API origin, {{account}} the site key and
{{attrs}} the script tag's extra attributes, all from the page URL's query
(api=..., account=..., data-*=...)."""
from __future__ import annotations

import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "snippet" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TEST_DOMAIN = "calltrack.test"
# Headless Chromium says "HeadlessChrome", and the API rightly gives bots no lease: the
# tests browse as the desktop Chrome a visitor would use.
VISITOR_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/142.0.0.0 Safari/537.36")


def chromium(profile: str, script_timeout: int = 15) -> Any:
    """Headless Chromium (Debian's chromium + chromedriver) browsing as VISITOR_UA, with
    its profile in `profile`, `*.calltrack.test` resolving to this machine, and the
    browser console kept: the browser tests' and the snippet benchmark's one browser."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-agent={VISITOR_UA}", f"--user-data-dir={profile}",
                 # www.calltrack.test, shop.calltrack.test: one site on two subdomains (tests of the shared cookie)
                 f"--host-resolver-rules=MAP *.{TEST_DOMAIN} 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(script_timeout)
    return driver
DEMO = ROOT / "snippet" / "demo"
PAGES = Path(__file__).resolve().parent / "pages"
SLOW_SECONDS = 2.5
# /uk: a canned UK answer, to check UK writing styles with a UK tracking number (the
# seeded accounts' pools are American).
UK_SESSION = {"session_id": "uk", "number": "+442079460000", "display": "020 7946 0000", "method": "dynamic",
              "source": "(direct)", "medium": "(none)", "heartbeat_seconds": 0, "replace": ["+442079460958"]}
# /gone/<nonce>: a lease that works once, then its heartbeat answers 410 and every new lease fails,
# with a second default number (the fax) replaced too.
GONE_SESSION = {"session_id": "gone", "number": "+14155550777", "display": "(415) 555-0777", "method": "dynamic",
                "heartbeat_seconds": 1, "replace": ["+14155550987"]}
# /fast/: an instant lease for a session that stays live (the snippet's speed measurements
# isolate the page's own work from the API's).
FAST_SESSION = {"session_id": "fast.main.14155550777.t0k3n", "number": "+14155550777", "display": "(415) 555-0777",
                "method": "dynamic", "heartbeat_seconds": 0, "replace": ["+14155550123"]}
# ?stub=hide: the install stub's own anti-flicker, as docs/snippet.md documents it, plus a
# probe of what is still hidden the moment the number is in (called right after the swap).
HIDE_STUB = """<style id="calltrack-hide">a[href^="tel:"],.calltrack{visibility:hidden}</style>
<script>setTimeout(function(){var s=document.getElementById('calltrack-hide');s&&s.remove()},300)</script>
<script>calltrack('number', function () {
  window.hiddenAtSwap = document.querySelectorAll('#calltrack-hide').length; });</script>"""
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".json": "application/json",
         ".css": "text/css"}
# ?csp=class | nonce: a strict Content-Security-Policy, as security-minded sites send it. No
# inline style may apply ("class"), or only one carrying the page's nonce ("nonce").
CSP_NONCE = "calltrack-test"
CSP = {"class": "style-src 'self'", "nonce": f"style-src 'self' 'nonce-{CSP_NONCE}'"}
BIG_ELEMENTS = 5000


def big_page(elements: int = BIG_ELEMENTS) -> str:
    """A page-builder page of about `elements` elements: nested sections, columns and
    widgets (Elementor's shape), prices, dates and look-alike digits everywhere, and the
    default number in a dozen spots, some split across elements. The snippet's long-task
    and first-paint measurements run on it."""
    numbers = ['(415) 555-0123', '<strong>415</strong>-555-0123', '<span>(415)</span> <span>555-0123</span>',
               '<a href="tel:+14155550123">415.555.0123</a>']
    widgets, n = [], 0
    while n < elements:
        i = len(widgets)
        phone = numbers[i % len(numbers)] if i % 40 == 0 else f"SKU {1000 + i} · ${i % 97}.99 · 2026-0{1 + i % 9}-1{i % 10}"
        widgets.append(
            f'<section class="elementor-section"><div class="elementor-container"><div class="elementor-column">'
            f'<div class="elementor-widget-wrap"><div class="elementor-widget elementor-widget-text-editor">'
            f'<div class="elementor-widget-container"><p class="w{i}"><span>Item {i}</span> <em>{phone}</em></p>'
            f'<ul><li>{i * 7}</li><li>Open 8–18</li></ul></div></div></div></div></div></section>')
        n += 12
    return "\n".join(widgets)



class Handler(BaseHTTPRequestHandler):
    server: "Site"

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        folder, _, name = url.path.lstrip("/").partition("/")
        base = {"dist": DIST, "pages": PAGES, "demo": DEMO}.get(folder)
        path = (base / name).resolve() if base and name else None
        if path is None or base not in path.parents or not path.is_file():
            return self._send(404, b"not found", "text/plain")
        body = path.read_bytes()
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if folder == "pages":
            body = self._render(body.decode(), query).encode()
        headers = {"Content-Security-Policy": f"default-src 'self'; script-src 'self' 'nonce-{CSP_NONCE}'; "
                                              f"{CSP[query['csp']]}; connect-src *"} if query.get("csp") in CSP else {}
        self._send(200, body, TYPES.get(path.suffix, "application/octet-stream"), headers)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append(self.path)
        if self.path.startswith("/garbage/"):
            return self._send(200, b"<html>Service Unavailable", "text/html")
        if self.path.startswith("/uk/"):
            return self._send(200, json.dumps(UK_SESSION).encode(), "application/json")
        if self.path.startswith("/gone/"):
            if self.path.endswith("/heartbeat"):
                return self._send(410, b'{"error":"lease_gone","message":"gone"}', "application/json")
            lease = "/".join(self.path.split("/")[:3]) + "/v1/sessions"     # /gone/<test's nonce>/v1/sessions
            if self.path == lease and self.server.posts.count(lease) == 1:
                return self._send(200, json.dumps(GONE_SESSION).encode(), "application/json")
            return self._send(503, b'{"error":"unavailable","message":"down"}', "application/json")
        if self.path.startswith("/fast/"):
            until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1800))
            return self._send(200, json.dumps({**FAST_SESSION, "expires_at": until}).encode(), "application/json")
        if self.path.startswith("/slow/"):
            time.sleep(SLOW_SECONDS)
            body = {"session_id": "slow", "number": "+14155550999", "display": "(415) 555-0999",
                    "method": "dynamic", "heartbeat_seconds": 0}
            return self._send(200, json.dumps(body).encode(), "application/json")
        self._send(404, b"{}", "application/json")

    def _render(self, page: str, query: dict[str, str]) -> str:
        attrs = " ".join(f'{k}="{html.escape(v)}"' for k, v in query.items() if k.startswith("data-"))
        api = query.get("api", self.server.api)
        account = query.get("account", "demo")
        page = page.replace("{{stub}}", HIDE_STUB if query.get("stub") == "hide" else "")
        page = page.replace("{{big}}", big_page() if "{{big}}" in page else "")
        # ?load=async (default) | sync | none: how the page loads the snippet, if at all.
        load = query.get("load", "async")
        script = ('<script {} src="/dist/dni.js" data-account="{{{{account}}}}" data-api="{{{{api}}}}" {{{{attrs}}}}>'
                  '</script>').format("async" if load == "async" else "")
        page = page.replace("{{script}}", script if load in ("async", "sync") else "")
        return (page.replace("{{api}}", html.escape(api)).replace("{{account}}", html.escape(account))
                .replace("{{attrs}}", attrs))

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # The snippet as the CDN serves its stable URL (five minutes); the rest never cached.
        self.send_header("Cache-Control", "max-age=300" if self.path.startswith("/dist/") else "no-store")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: str) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.api = api
        self.posts: list[str] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "Site":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
