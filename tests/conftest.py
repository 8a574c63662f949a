"""Shared fixtures: a moto server on a free port (real DynamoDB conditional writes, real
EventBridge → SQS), the tables, the demo account, and the app served over HTTP.

Environment is set at import, before any chalicelib module reads configuration.
"""
from __future__ import annotations

import itertools
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MOTO_PORT = free_port()
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1", "CALLTRACK_STAGE": "local",
    "CALLTRACK_AWS_ENDPOINT": f"http://127.0.0.1:{MOTO_PORT}",
    "CALLTRACK_TABLE_PREFIX": "calltrack-", "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
    "DEMO_API_KEY": "demo-secret-key",
})
for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(proxy, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
# moto logs every request through werkzeug; keep test output readable.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto server on 127.0.0.1 with every table created and the demo account seeded."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import emulator

    server = emulator.start("127.0.0.1", MOTO_PORT)
    endpoint = os.environ["CALLTRACK_AWS_ENDPOINT"]
    wait_http(endpoint + "/moto-api/")
    from chalicelib import db, demo
    import chalicelib.all_models  # noqa: F401  every domain's tables

    from chalicelib.integrations import bus

    db.create_tables()
    bus.bootstrap()  # the bus, rules and consumer queues: events publish as in AWS
    from chalicelib.reports import archive

    archive.bootstrap()  # the recordings bucket, as infra/recordings.json declares it
    demo.seed_account()
    demo.seed_users()    # the user pool (infra/users.json) and a demo person per role
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def demo_account(moto_endpoint: str) -> str:
    from chalicelib import demo

    return demo.DEMO_ACCOUNT


# Numbers are global keys: every test account gets pool numbers no other account has.
_next_numbers = itertools.count(0, 5)


@pytest.fixture()
def account(moto_endpoint: str):
    """A fresh account shaped like the demo one, with its own id and pool: tests don't share leases."""
    from chalicelib import demo

    account_id = "t-" + uuid.uuid4().hex[:12]
    first = next(_next_numbers)
    pool = [f"+1415556{n:04d}" for n in range(first, first + 5)]

    def make(**kwargs):
        kwargs.setdefault("pool", pool)
        return demo.seed_account(account_id, **kwargs)

    return make


@pytest.fixture()
def client(moto_endpoint: str):
    """The Chalice app in-process (chalice.test.Client) against the emulator."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as c:
        yield c


@pytest.fixture(scope="session")
def api_server(moto_endpoint: str, tmp_path_factory) -> Iterator[str]:
    """`chalice local` on a free port, as `make run` serves it; yields its base URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("chalice") / "chalice-local.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "chalice_local.py"), "local", "--host", "127.0.0.1", "--port", str(port), "--stage", "local", "--no-autoreload"],
        # (50 concurrent lease transactions on the shared emulator can queue past 5 s)
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, CALLTRACK_DYNAMODB_READ_TIMEOUT="30"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/", timeout=30)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def pytest_collection_modifyitems(session, config, items):
    """Tests marked `heavy` run last: the emulator they fill stays shared by the session."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is not None)
