"""The local AWS emulator: moto server on 127.0.0.1, with DynamoDB writes serialised.

moto serves requests on threads, and its TransactWriteItems takes no lock: it deep-copies
whole tables for rollback and restores them when a condition fails, so two concurrent
transactions can both pass their conditions, and one's rollback can erase the other's
commit. DynamoDB itself serialises conditional writes per item — the property our
leases rely on. So DynamoDB requests pass through one lock here; everything else (SQS
long polls, EventBridge, S3) stays concurrent.

moto's Query also reads (and sorts) every item of the table to find one partition's, so
on a table holding months of roll-ups a report's Query costs what a full scan does, which
DynamoDB never charges. `partition_query` gives Query what DynamoDB reads: the items of
the partition asked for (on an index, the table's items unsorted, since moto sorts the
index's results itself). Answers are unchanged; only the emulator's time is.

Run: python scripts/emulator.py --port 5000 (what `make run` does); tests call start().
"""
from __future__ import annotations

import argparse
import os
import threading
from typing import Any, Callable, Iterable

from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

_dynamodb = threading.Lock()


def serialise_dynamodb(app: Callable) -> Callable:
    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB"):
            return app(environ, start_response)
        with _dynamodb:
            return list(app(environ, start_response))
    return wsgi


_asked = threading.local()     # the items a Query in progress on this thread reads, per table


def partition_query(query: Callable) -> Callable:
    """Table.query over the partition asked for rather than the sorted whole table. What it
    reads is kept per thread and per table (`_asked`), so other requests — scans, the
    moto-api, another thread's query — still see the whole table."""
    def wrapped(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name:
            items = [i for part in self.items.values() for i in (part.values() if self.range_key_attr else [part])]
        elif self.range_key_attr:
            items = list((self.items.get(hash_key) or {}).values())
        else:
            return query(self, hash_key, *args, **kwargs)
        asked = getattr(_asked, "tables", None)
        if asked is None:
            asked = _asked.tables = {}
        asked[id(self)] = items
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            asked.pop(id(self), None)
    wrapped.__wrapped__ = query              # type: ignore[attr-defined]
    return wrapped


def asked_items(all_items: Callable) -> Callable:
    def wrapped(self: Table) -> Any:
        items = (getattr(_asked, "tables", None) or {}).get(id(self))
        return all_items(self) if items is None else items
    wrapped.__wrapped__ = all_items          # type: ignore[attr-defined]
    return wrapped


if not hasattr(Table.query, "__wrapped__"):
    Table.query = partition_query(Table.query)   # type: ignore[method-assign]
    Table.all_items = asked_items(Table.all_items)   # type: ignore[method-assign]


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 5000) -> None:
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "Emulator":
        # Authenticator-app codes are checked for real (RFC 6238 against the secret the
        # emulator hands out), as Cognito does; otherwise any six digits would pass.
        os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
        app = serialise_dynamodb(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self.host, self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        app = serialise_dynamodb(DomainDispatcherApplication(create_backend_app))
        make_server(self.host, self.port, app, threaded=True).serve_forever()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


def start(host: str = "127.0.0.1", port: int = 5000) -> Emulator:
    return Emulator(host, port).start()


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    print(f"emulator on http://{args.host}:{args.port}", flush=True)
    Emulator(args.host, args.port).serve_forever()


if __name__ == "__main__":
    main()
