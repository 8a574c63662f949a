"""A local HTTP receiver for integration tests: records every request, answers from a script.

`StubServer().start()` listens on 127.0.0.1:<free port>; `.url`; `.requests` (list of
Received); `.answers` is a list of statuses served in order (then `.default_status`);
`.down()` makes it refuse connections (closed socket), `.up()` serves again on the same port.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class StubServer:
    def __init__(self) -> None:
        self.requests: List[Received] = []
        self.answers: List[int] = []
        self.default_status = 204
        self._server: Optional[ThreadingHTTPServer] = None
        self.port = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "StubServer":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stub._lock:
                    status = stub.answers.pop(0) if stub.answers else stub.default_status
                    parts = urlsplit(self.path)
                    stub.requests.append(Received("POST", parts.path, parse_qs(parts.query),
                                                  {k.lower(): v for k, v in self.headers.items()}, raw, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def up(self) -> None:
        if not self._server:
            self.start()

    def ok(self) -> List[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]
