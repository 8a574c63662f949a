"""Local consumer worker for `make run`: polls the emulator's consumer queues and the
sessions/calls streams (roll-ups, outbox events) and runs the same handlers the deployment
runs (see chalicelib/integrations/worker.py and chalicelib/streams.py).

    python scripts/worker.py            # bootstrap the bus/queues (idempotent), then poll
    python scripts/worker.py --no-bootstrap

Environment as for the app (CALLTRACK_STAGE=local, CALLTRACK_AWS_ENDPOINT, AWS_* testing
credentials); defaults point at the emulator `make run` starts.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("CALLTRACK_STAGE", "local")


def chalice_environment(stage: str) -> dict:
    """The environment Chalice gives the functions on `stage` (top level, then the stage's)."""
    cfg = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return {**cfg.get("environment_variables", {}),
            **cfg.get("stages", {}).get(stage, {}).get("environment_variables", {})}


for _name, _value in chalice_environment(os.environ["CALLTRACK_STAGE"]).items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("CALLTRACK_RETRY_BASE_SECONDS", "2")
# Outside Lambda nothing collects EMF metrics; Powertools would warn on every empty flush.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the integration consumers against the local emulator")
    parser.add_argument("--no-bootstrap", action="store_true", help="do not create the bus, queues and rules")
    args = parser.parse_args()
    from chalicelib.integrations import bus, worker

    if not args.no_bootstrap:
        for name, urls in bus.bootstrap().items():
            print(f"worker: {name} ← {urls['queue']}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    from chalicelib import streams
    from chalicelib.calls import sweeper

    for seconds, job, what in ((300.0, sweeper.sweep, "calls sweep"), (1.0, streams.catch_up, "stream consumers")):
        threading.Thread(target=every, args=(stop, seconds, job, what), name=what, daemon=True).start()
    worker.run(stop)
    return 0


def every(stop: threading.Event, seconds: float, job: Callable[[], object], what: str) -> None:
    """Locally, a job the deployment schedules or triggers (the calls sweep every 5
    minutes, the stream consumers): run it every `seconds` until `stop`."""
    from chalicelib.observability import logger

    while not stop.wait(seconds):
        try:
            job()
        except Exception:  # noqa: BLE001 — the emulator restarting must not kill the worker
            logger.exception(f"{what} failed")


if __name__ == "__main__":
    sys.exit(main())
