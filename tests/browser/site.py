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
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "snippet" / "dist"
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
# ?stub=hide: the install stub's own anti-flicker, as docs/snippet.md documents it, plus a
# probe of what is still hidden the moment the number is in (called right after the swap).
HIDE_STUB = """<style id="calltrack-hide">a[href^="tel:"],.calltrack{visibility:hidden}</style>
<script>setTimeout(function(){var s=document.getElementById('calltrack-hide');s&&s.remove()},300)</script>
<script>calltrack('number', function () {
  window.hiddenAtSwap = document.querySelectorAll('#calltrack-hide').length; });</script>"""
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".json": "application/json"}


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
        if folder == "pages":
            body = self._render(body.decode(), dict(parse_qsl(url.query, keep_blank_values=True))).encode()
        self._send(200, body, TYPES.get(path.suffix, "application/octet-stream"))

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
        return (page.replace("{{api}}", html.escape(api)).replace("{{account}}", html.escape(account))
                .replace("{{attrs}}", attrs))

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
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
