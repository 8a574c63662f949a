"""`make run`: the whole product on this machine.

Starts the AWS emulator (moto, 127.0.0.1:$MOTO_PORT), creates every table, the event
bus and the consumer queues, seeds the demo account (and a month of demo traffic),
serves the API with `chalice local` (127.0.0.1:$PORT), the snippet and its demo page
(127.0.0.1:$DEMO_PORT) and the local consumer worker. Ctrl-C stops everything it
started. Running it again starts afresh: tables and seed are idempotent.
"""
from __future__ import annotations

import functools
import http.server
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("PORT", "8000"))
MOTO_PORT = int(os.environ.get("MOTO_PORT", "5000"))
DEMO_PORT = int(os.environ.get("DEMO_PORT", "8001"))
HOST = "127.0.0.1"

ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1", "CALLTRACK_STAGE": "local", "CALLTRACK_AWS_ENDPOINT": f"http://{HOST}:{MOTO_PORT}",
    "NO_PROXY": "127.0.0.1,localhost", "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
    # Seeding here, like the API and the worker, logs warnings and errors only (not each call).
    "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
}


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) == 0


def wait_port(port: int, what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while not port_busy(port):
        if time.time() > deadline:
            raise SystemExit(f"{what} did not start on {HOST}:{port} within {timeout:.0f}s")
        time.sleep(0.1)


def spawn(args: List[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=os.environ.copy(),
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def prepare() -> None:
    """Tables, bus and queues, the demo account and its month of traffic (idempotent)."""
    from chalicelib import db, demo
    import chalicelib.all_models  # noqa: F401

    created = db.create_tables()
    print(f"  tables: {len(created)} created, {len(db.MODELS) - len(created)} already there")
    demo.seed_account()
    print("  demo account 'demo' seeded (admin key: $DEMO_API_KEY, default demo-secret-key)")
    demo.seed_users()
    print(f"  demo users seeded: one per role, password {demo.DEMO_PASSWORD}")
    optional_step("chalicelib.integrations.bus", "bootstrap", "  event bus, rules and consumer queues ready")
    optional_step("chalicelib.reports.archive", "bootstrap", "  recordings bucket ready")
    optional_step("chalicelib.demo_traffic", "seed_month", "  a month of demo sessions and calls seeded")
    optional_step("chalicelib.dni.advisor", "refresh_all", "  pool advice computed (the daily schedule's job)")


def optional_step(module: str, function: str, done: str) -> None:
    """Steps owned by other parts of the product; skipped with a word when absent."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError:
        print(f"  ({module} not available: skipped)")
        return
    getattr(mod, function)()
    print(done)


def serve_snippet() -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT / "snippet"))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer((HOST, DEMO_PORT), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    for port, name in ((MOTO_PORT, "MOTO_PORT"), (PORT, "PORT"), (DEMO_PORT, "DEMO_PORT")):
        if port_busy(port):
            raise SystemExit(f"{HOST}:{port} is in use: stop what runs there or set {name}=<free port>")
    logs = ROOT / ".run"
    logs.mkdir(exist_ok=True)
    children: List[subprocess.Popen] = []
    try:
        print(f"starting the AWS emulator on {HOST}:{MOTO_PORT} (log: .run/emulator.log)")
        children.append(spawn(["scripts/emulator.py", "--port", str(MOTO_PORT)], logs / "emulator.log"))
        wait_port(MOTO_PORT, "the emulator")
        prepare()
        print(f"starting the API on {HOST}:{PORT} (log: .run/api.log)")
        children.append(spawn(["scripts/chalice_local.py", "local", "--host", HOST, "--port", str(PORT),
                               "--stage", "local", "--no-autoreload"], logs / "api.log"))
        if (ROOT / "scripts" / "worker.py").exists():
            children.append(spawn(["scripts/worker.py"], logs / "worker.log"))
            print("starting the consumer worker (log: .run/worker.log)")
        serve_snippet()
        wait_port(PORT, "the API", timeout=60)
        banner()
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a service stopped unexpectedly: see the logs in .run/")
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping…")
        for child in reversed(children):
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


def banner() -> None:
    from chalicelib.demo import DEMO_PASSWORD

    api = f"http://{HOST}:{PORT}"
    demo = f"http://{HOST}:{DEMO_PORT}/demo/" + ("" if PORT == 8000 else f"?api={api}")
    # The CLI's default is port 8000: elsewhere it needs to be told.
    cli = "" if PORT == 8000 else f"\n  CLI on this API: export CALLTRACK_API={api}   (or calltrack --api {api} …)"
    print(f"""
Calltrack is running.
  demo page (number swap + attribution): {demo}
  dashboard:                              {api}/dashboard
    sign in as admin@demo.calltrack.local, marketer@…, agent@… or viewer@… (read-only),
    password {DEMO_PASSWORD}; or account "demo" with the API key demo-secret-key
  API:                                    {api}{cli}
Try a lease:
  curl -s -X POST {api}/v1/sessions -H 'Content-Type: text/plain' -H 'User-Agent: Mozilla/5.0 Chrome/126' \\
       -d '{{"account":"demo","url":"http://localhost/?utm_source=google&utm_medium=cpc","referrer":""}}'
Ctrl-C stops everything.""", flush=True)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    main()
