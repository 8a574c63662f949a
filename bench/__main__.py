"""`make bench` (python -m bench): one table of what the app costs per operation, with
the machine it ran on; written to bench/results/latest.md and latest.json.

Starts its own emulator (scripts/emulator.py, moto) on a free port in a separate
process; the app runs in this process through chalice.test.Client. "app time" is the
wall time per request including the round trips to the local emulator (moto is far
slower than DynamoDB, and its transactions copy whole tables); "without AWS wait"
subtracts the time spent inside botocore calls (DynamoDB, EventBridge, SQS), leaving
what the code itself costs.

    python -m bench            # full run
    python -m bench --quick    # fewer iterations (smoke)
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import accuracy, env, intelligence, snippet

RESULTS = env.ROOT / "bench" / "results"
NOT_YET = "not available yet"


def _ms(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.1f} ms"


def table(machine: Dict[str, str], rows: List[Dict[str, Any]], extra: Dict[str, Any]) -> str:
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram']} RAM; "
        f"Python {machine['python']}; {machine['os']}",
        "",
        "| operation | n | app time p50 | app time p99 | without AWS wait p50 / p99 | DynamoDB requests / op | notes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.get("missing"):
            lines.append(f"| {r['name']} | – | {NOT_YET} | {NOT_YET} | {NOT_YET} | {NOT_YET} | {r['missing']} |")
            continue
        ops = ", ".join(f"{k} {v / r['n']:.2f}" for k, v in sorted(r["dynamodb_ops"].items()))
        per = "–" if r["dynamodb_per_op"] is None else f"{r['dynamodb_per_op']:.2f}"
        note = "; ".join(x for x in (r.get("note"), ops) if x)
        own = f"{_ms(r['own_p50_ms'])} / {_ms(r['own_p99_ms'])}"
        lines.append(f"| {r['name']} | {r['n']} | {_ms(r['p50_ms'])} | {_ms(r['p99_ms'])} | {own} | {per} | {note} |")
    t = extra["throughput"]
    lines.append(f"| leases/s against the emulator | {t['leases']} | {t['per_second']} leases/s | | | | "
                 f"{t['threads']} threads, {t['seconds']} s; DynamoDB writes serialised by the emulator |")
    c = extra["cold_start"]
    lines.append(f"| cold start: `import app` | {c['runs']} | {c['app']} ms, {c['app_mib']} MiB | | | | median of "
                 f"{c['runs']} fresh interpreters; `import boto3, chalice`: {c['bare']} ms, {c['bare_mib']} MiB; "
                 f"ratio {c['time_ratio']}× time, {c['memory_ratio']}× peak memory (target ≤ 1.5×); domain modules "
                 f"load with the first request that uses them: `import app` plus the lease's modules "
                 f"{c.get('lease', '–')} ms, {c.get('lease_mib', '–')} MiB |")
    for name, s in extra["snippet"].items() or []:
        lines.append(f"| snippet {name} | | {s['gzip']} B gzip | | | | {s['raw']} B minified |")
    if not extra["snippet"]:
        lines.append(f"| snippet | | {NOT_YET} | | | | snippet/dist missing: run `make snippet` |")
    a = extra["sim_agreement"]
    lines.append(f"| simulator vs emulator | {a['calls']} calls | {a['same']}/{a['calls']} same answer | | | | "
                 f"one trace through the in-memory model and through sessions.start/heartbeat + who_held |")
    lines += ["", "Reports at customer scale (in-process against the local stack; bytes as DynamoDB sizes the items "
              "read; roll-ups seeded through the rebuild's cube writer):", "",
              "| visits/day | months | report | p50 | max | without AWS wait p50 | items read | bytes read | requests "
              "| sessions counted |",
              "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in extra.get("reports", []):
        lines.append(f"| {r['visits_per_day']:,} | {r['months']} | {r['query']} | {r['p50_ms']} ms | {r['max_ms']} ms | "
                     f"{r['own_p50_ms']} ms | {r['items']} | {r['bytes'] / 1024:,.1f} KiB | {r['requests']} | {r['sessions']:,} |")
    lag = extra.get("stream_lag")
    if lag:
        lines += ["", f"Stream consumer on the local stack: {lag['records']:,} stream records (2 tables) from "
                  f"{lag['sessions']:,} batch-written sessions handled in {lag['batch_seconds']} s "
                  f"({lag['per_record_ms']} ms a record); one lease's session reached the roll-ups "
                  f"{lag['one_lease_lag_ms']} ms after its write once polled (the local worker polls every second; "
                  f"Lambda adds its batching window, up to 30 s). Report counted {lag['counted']:,} sessions."]
    lines += intelligence.lines(extra.get("intelligence"))
    lines += accuracy.lines(extra.get("accuracy"))
    lines += ["", *snippet.lines(extra.get("snippet_speed", {}))]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations (smoke run)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    n_lease, n_calls, per_thread = (40, 8, 10) if args.quick else (300, 60, 40)

    port = env.free_port()
    environment = env.prepare(port)
    machine = env.machine()
    sys.path.insert(0, str(env.ROOT))
    with env.Emulator(port):
        from bench import ops

        ops.COUNTER.install()
        from chalice.test import Client

        import chalicelib.all_models  # noqa: F401
        from app import app
        from chalicelib import db

        from chalicelib.integrations import bus

        db.create_tables()
        bus.bootstrap(visibility_timeout=0)      # sessions and calls announce themselves on the bus
        started = time.perf_counter()
        quiet = contextlib.redirect_stdout(io.StringIO())   # Powertools' metric flushes
        with contextlib.redirect_stdout(io.StringIO()):
            # First, while the emulator's tables are small: moto copies whole tables in
            # every transaction, so its lease rate falls as they grow.
            rate = ops.throughput(per_thread=per_thread)
        with quiet, Client(app, stage_name="local") as client:
            os.environ.update(environment)        # the stage config must not move us off our emulator
            lease, beat = ops.leases_and_heartbeats(client, n_lease)
            rows = [lease.as_dict(), beat.as_dict()]
            if ops.available("chalicelib.calls.api") and ops.available("chalicelib.integrations.consumers"):
                rows += [m.as_dict() for m in ops.vonage_and_consumer(client, n_calls)]
                rows += [m.as_dict() for m in ops.answer_in_outage(client, 3 if args.quick else 10)]
            if ops.available("chalicelib.people.api"):
                rows += [m.as_dict() for m in ops.people_requests(client, 5 if args.quick else 30)]
            else:
                rows += [{"name": name, "missing": "calls/integrations code not in the tree"}
                         for name in ("Vonage answer", "Vonage event", "consumer delivery")]
        with contextlib.redirect_stdout(io.StringIO()):
            extra = {
                "throughput": rate,
                "cold_start": ops.cold_start({**os.environ, **environment}, runs=3 if args.quick else 7),
                "snippet": ops.snippet_sizes(),
                "sim_agreement": ops.sim_agreement(),
            }
        from bench import reports

        with quiet, Client(app, stage_name="local") as client:
            os.environ.update(environment)
            extra["stream_lag"] = reports.stream_lag(client, 500 if args.quick else 2_000)
            extra["reports"] = reports.reports_at_scale(client, quick=args.quick)
        extra["intelligence"] = intelligence.measure()
        extra["accuracy"] = accuracy.measure(quick=args.quick)
        if snippet.available():
            extra["snippet_speed"] = snippet.measure(runs=3 if args.quick else 5)
        elapsed = time.perf_counter() - started
    text = table(machine, rows, extra)
    print(text)
    print(f"\n(bench ran {elapsed:.0f} s)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (out / "latest.md").write_text(f"# Calltrack benchmark ({stamp})\n\n{text}\n")
    (out / "latest.json").write_text(json.dumps({"when": stamp, "machine": machine, "operations": rows, **extra},
                                                indent=2, default=str) + "\n")
    print(f"written: {out / 'latest.md'}, {out / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
