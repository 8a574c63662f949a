"""The local API server keeps the terminal of `make run` quiet: no access line per request
(only server errors), unless CALLTRACK_ACCESS_LOG=1."""
from __future__ import annotations

import importlib.util
from http import HTTPStatus
from pathlib import Path


def _patched(monkeypatch):
    """The script's patched handler; everything it patches is put back after the test."""
    from chalice import local

    for owner, name in ((local.ThreadedHTTPServer, "request_queue_size"), (local.ThreadedHTTPServer, "daemon_threads"),
                        (local.LocalGateway, "handle_request"), (local.ChaliceRequestHandler, "log_request")):
        monkeypatch.setattr(owner, name, getattr(owner, name))
    path = Path(__file__).resolve().parents[2] / "scripts" / "chalice_local.py"
    spec = importlib.util.spec_from_file_location("chalice_local_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.local.ChaliceRequestHandler


def test_only_server_errors_are_logged_unless_asked(monkeypatch):
    handler = _patched(monkeypatch)
    lines = []

    class Fake:
        requestline = "GET /v1/sessions HTTP/1.1"

        def log_message(self, fmt, *args):
            lines.append(fmt % args)

    monkeypatch.delenv("CALLTRACK_ACCESS_LOG", raising=False)
    for code in (200, HTTPStatus.NOT_FOUND, 204):
        handler.log_request(Fake(), code)
    assert lines == []
    handler.log_request(Fake(), HTTPStatus.SERVICE_UNAVAILABLE)
    assert len(lines) == 1 and "503" in lines[0]
    monkeypatch.setenv("CALLTRACK_ACCESS_LOG", "1")
    handler.log_request(Fake(), 200)
    assert len(lines) == 2 and "200" in lines[1]
