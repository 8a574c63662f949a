"""`chalice local`, unchanged but for a listen backlog fit for bursts of visitors and the
answer to an unknown route.

The stock dev server listens with socketserver's default backlog of 5: fifty visitors
arriving together get connection resets before the app ever sees them. In AWS, API
Gateway fronts the app and this does not arise.

Access logs: a line per request fills the terminal of `make run` (the snippet heartbeats
every minute per open tab), so only server errors are logged unless
CALLTRACK_ACCESS_LOG=1.

An unknown route answers `404 {"error": "not_found", "message": …}` like every other error
of the API, as the gateway responses in infra/gateway.json make API Gateway answer
(stock: `403 {"message": "Missing Authentication Token"}`).
Usage: python scripts/chalice_local.py local --host 127.0.0.1 --port 8000 --stage local
"""
import json
import os
import sys

from chalice import local

local.ThreadedHTTPServer.request_queue_size = 256
local.ThreadedHTTPServer.daemon_threads = True


class RouteNotFound(local.LocalGatewayException):
    CODE = 404


_handle_request = local.LocalGateway.handle_request


def handle_request(self, method, path, headers, body):  # type: ignore[no-untyped-def]
    try:
        self._generate_lambda_event(method, path, headers, body)
    except ValueError:   # no route matches: what chalice answers as a 403 "Missing Authentication Token"
        message = {"error": "not_found", "message": f"no route {method} {path.split('?', 1)[0]}"}
        raise RouteNotFound({"Content-Type": "application/json"}, json.dumps(message).encode())
    return _handle_request(self, method, path, headers, body)


local.LocalGateway.handle_request = handle_request

_log_request = local.ChaliceRequestHandler.log_request


def log_request(self, code="-", size="-"):  # type: ignore[no-untyped-def]
    status = getattr(code, "value", code)
    if os.environ.get("CALLTRACK_ACCESS_LOG") == "1" or (isinstance(status, int) and status >= 500):
        _log_request(self, code, size)


local.ChaliceRequestHandler.log_request = log_request

from chalice.cli import main  # noqa: E402  (after the patch)

if __name__ == "__main__":
    sys.exit(main())
