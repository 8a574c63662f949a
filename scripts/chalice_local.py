"""`chalice local`, unchanged but for a listen backlog fit for bursts of visitors and the
answer to an unknown route.

The stock dev server listens with socketserver's default backlog of 5: fifty visitors
arriving together get connection resets before the app ever sees them. In AWS, API
Gateway fronts the app and this does not arise.

An unknown route answers `404 {"error": "not_found", "message": …}` like every other error
of the API, as the gateway responses in infra/gateway.json make API Gateway answer
(stock: `403 {"message": "Missing Authentication Token"}`).
Usage: python scripts/chalice_local.py local --host 127.0.0.1 --port 8000 --stage local
"""
import json
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

from chalice.cli import main  # noqa: E402  (after the patch)

if __name__ == "__main__":
    sys.exit(main())
