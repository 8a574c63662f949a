"""`calltrack advise` asks the admin API with the account's key and prints the advice."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from tests.local_http import serve

from chalicelib.cli import main

ADVICE = {"account_id": "acme", "pool_id": "main", "accuracy": 0.99, "sessions": 812, "days": 14,
          "current_size": 12, "recommended": 18, "fallback_sessions": 3, "measure": "…",
          "sizes": [{"size": 16, "right_near": 0.985, "right": 0.9, "wrong": 0.08, "exhaustion": 0.01},
                    {"size": 18, "right_near": 0.992, "right": 0.91, "wrong": 0.07, "exhaustion": 0.0}]}


def test_advise_calls_the_api_with_the_key_and_prints_the_smallest_pool(capsys, monkeypatch):
    seen = {}

    class Api(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen["path"], seen["auth"] = self.path, self.headers.get("Authorization")
            body = json.dumps(ADVICE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return

    monkeypatch.delenv("CALLTRACK_API_KEY", raising=False)
    with serve(Api) as url:
        code = main(["--api", url, "--key", "k-123", "advise", "--account", "acme", "--accuracy", "0.99",
                     "--days", "14"])
    out = capsys.readouterr().out
    assert code == 0 and seen["auth"] == "Bearer k-123"
    assert seen["path"] == "/v1/accounts/acme/pools/main/advice?accuracy=0.99&days=14.0"
    assert "812 sessions" in out and "smallest pool reaching 99.0% in the replay: 18" in out and "98.5% right" in out
