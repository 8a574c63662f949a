"""`chalice local`, unchanged but for a listen backlog fit for bursts of visitors.

The stock dev server listens with socketserver's default backlog of 5: fifty visitors
arriving together get connection resets before the app ever sees them. In AWS, API
Gateway fronts the app and this does not arise.
Usage: python scripts/chalice_local.py local --host 127.0.0.1 --port 8000 --stage local
"""
import sys

from chalice import local

local.ThreadedHTTPServer.request_queue_size = 256
local.ThreadedHTTPServer.daemon_threads = True

from chalice.cli import main  # noqa: E402  (after the patch)

if __name__ == "__main__":
    sys.exit(main())
