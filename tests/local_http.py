"""A throwaway HTTP server on 127.0.0.1 for the stubs tests stand in for vendors with."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, Type


@contextmanager
def serve(handler: Type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free port; yields the base URL, stops and closes on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
