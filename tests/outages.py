"""A database that stalls or refuses, for tests and `make bench`: every table of the app
reached at another address for a while (tests/integration/test_calls_outage.py)."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, List, Optional

from chalicelib import db


class BlackHole:
    """A TCP server that accepts every connection and never says a word: a stalled database."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: List[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.open = False
        for conn in self.held:
            conn.close()
        self.sock.close()


def free_closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"    # nobody listens there once closed


@contextmanager
def database(url: str, models: Optional[Iterable[Any]] = None) -> Iterator[None]:
    """Every table of the app (or just `models`) reached at `url` for the duration (the
    connection objects are rebuilt, as in a container whose network path to DynamoDB broke)."""
    saved = [(m, m.Meta.host, m._connection) for m in (models or db.MODELS)]
    for model, _, _ in saved:
        model.Meta.host = url
        model._connection = None
    try:
        yield
    finally:
        for model, host, connection in saved:
            model.Meta.host = host
            model._connection = connection


@contextmanager
def stalled(models: Optional[Iterable[Any]] = None) -> Iterator[None]:
    hole = BlackHole()
    try:
        with database(hole.url, models):
            yield
    finally:
        hole.close()
