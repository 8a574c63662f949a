"""`python scripts/worker.py` (what `make run` starts) delivers from the emulator's queues."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from integrations_stub import StubServer
from test_integrations_bus import SECRET, bus, call_detail, monkeypatch_module  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_process_runs_the_consumers(bus, account, tmp_path):  # noqa: F811
    from chalicelib.integrations import events

    stub = StubServer().start()
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen([sys.executable, "scripts/worker.py", "--no-bootstrap"], cwd=ROOT,
                            env={**os.environ, "CALLTRACK_RETRY_BASE_SECONDS": "0"},
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        acc = account(extra_config={"webhooks": [
            {"id": "crm", "url": stub.url, "events": ["call_completed"], "secret": SECRET}]})
        events.publish("Call Completed", call_detail(acc.account_id))
        deadline = time.time() + 20
        while not stub.requests and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert [r.json()["account_id"] for r in stub.requests] == [acc.account_id], \
            (tmp_path / "worker.log").read_text()[-2000:]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        stub.down()
    assert proc.returncode == 0          # SIGTERM stops it cleanly
