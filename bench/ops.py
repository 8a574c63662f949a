"""The measured operations. Each runs in-process (chalice.test.Client, or the consumer's
own entry point) against the bench's emulator; DynamoDB requests are counted at
botocore's client, which both PynamoDB and boto3 go through."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional
from urllib.parse import urlencode

import botocore.client

from bench.env import ROOT
from tests.events.loader import answered_call

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
JSON = {"Content-Type": "application/json"}


# Counting DynamoDB requests -------------------------------------------------------------
class RequestCounter:
    """Counts every API call made through any botocore client, by service and operation."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.aws_seconds = 0.0
        self._lock = threading.Lock()
        self._original = botocore.client.BaseClient._make_api_call

    def install(self) -> None:
        counter, original = self, self._original

        def counted(client: Any, operation_name: str, api_params: Dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            with counter._lock:
                counter.calls[(service, operation_name)] += 1
            start = time.perf_counter()
            try:
                return original(client, operation_name, api_params)
            finally:
                with counter._lock:                 # every AWS call: DynamoDB, EventBridge, SQS
                    counter.aws_seconds += time.perf_counter() - start

        botocore.client.BaseClient._make_api_call = counted

    def dynamodb(self) -> int:
        return sum(n for (service, _), n in self.calls.items() if service == "dynamodb")

    def other(self) -> int:
        """Calls to any other service (EventBridge, SQS…)."""
        return sum(n for (service, _), n in self.calls.items() if service != "dynamodb")

    def dynamodb_ops(self) -> Dict[str, int]:
        return {op: n for (service, op), n in self.calls.items() if service == "dynamodb"}


COUNTER = RequestCounter()


@dataclass
class Measured:
    name: str
    times_ms: List[float] = field(default_factory=list)
    own_ms: List[float] = field(default_factory=list)      # minus the wait on AWS (emulator)
    dynamodb: int = 0
    other: int = 0                                          # requests to other AWS services
    ops: Dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def n(self) -> int:
        return len(self.times_ms)

    def p(self, q: float, own: bool = False) -> Optional[float]:
        xs = sorted(self.own_ms if own else self.times_ms)
        if not xs:
            return None
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]

    @property
    def per_op(self) -> Optional[float]:
        return self.dynamodb / self.n if self.n else None

    def as_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "n": self.n, "p50_ms": self.p(0.5), "p99_ms": self.p(0.99),
                "own_p50_ms": self.p(0.5, own=True), "own_p99_ms": self.p(0.99, own=True),
                "dynamodb_per_op": self.per_op, "dynamodb_ops": self.ops, "note": self.note,
                "other_per_op": self.other / self.n if self.n else None}


@contextmanager
def timed(m: Measured) -> Iterator[None]:
    before, ops_before, other_before = COUNTER.dynamodb(), dict(COUNTER.dynamodb_ops()), COUNTER.other()
    waited = COUNTER.aws_seconds
    start = time.perf_counter()
    yield
    m.times_ms.append((time.perf_counter() - start) * 1000)
    m.own_ms.append(m.times_ms[-1] - (COUNTER.aws_seconds - waited) * 1000)
    m.dynamodb += COUNTER.dynamodb() - before
    m.other += COUNTER.other() - other_before
    for op, n in COUNTER.dynamodb_ops().items():
        if n - ops_before.get(op, 0):
            m.ops[op] = m.ops.get(op, 0) + n - ops_before.get(op, 0)


# Accounts ---------------------------------------------------------------------------------
_next_number = 0            # numbers are global keys: every bench account gets its own


def fresh_account(pool_size: int, api_key: Optional[str] = None, extra_config: Optional[Dict[str, Any]] = None) -> tuple:
    from chalicelib import accounts, demo

    global _next_number
    account_id = "b-" + uuid.uuid4().hex[:12]
    numbers = [f"+1415{2000000 + _next_number + i:07d}" for i in range(pool_size)]
    _next_number += pool_size
    always = {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    demo.seed_account(account_id, pool=numbers, api_key=api_key, settings={"working_hours": always},
                      extra_config=extra_config)
    accounts.get_account(account_id)           # warm the container cache, as a busy Lambda has it
    return account_id, numbers


def lease_body(account_id: str, session_id: Optional[str] = None) -> str:
    body = {"account": account_id, "url": "http://localhost/boilers?utm_source=google&utm_medium=cpc",
            "referrer": "https://www.google.com/", "ga_client_id": "111.222"}
    if session_id:
        body["session_id"] = session_id
    return json.dumps(body)


def post_lease(client: Any, account_id: str) -> Dict[str, Any]:
    r = client.http.post("/v1/sessions", headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
                         body=lease_body(account_id))
    assert r.status_code == 200, r.body
    return r.json_body


# Lease and heartbeat -------------------------------------------------------------------------
def leases_and_heartbeats(client: Any, n: int, pool_size: int = 30, batch: int = 25) -> tuple:
    """`n` leases, `batch` per fresh account of `pool_size` numbers (pool never exhausted),
    then two heartbeats per session (with a page URL, as the snippet sends them)."""
    lease, beat = Measured("lease (POST /v1/sessions)"), Measured("heartbeat")
    sessions: List[str] = []
    while lease.n < n:
        account_id, _ = fresh_account(pool_size)
        for _ in range(min(batch, n - lease.n)):
            with timed(lease):
                got = post_lease(client, account_id)
            assert got["method"] == "dynamic", got
            sessions.append(got["session_id"])
    for round_ in range(2):
        for sid in sessions:
            with timed(beat):
                r = client.http.post(f"/v1/sessions/{sid}/heartbeat", headers={"Content-Type": "text/plain"},
                                     body=json.dumps({"url": f"http://localhost/page-{round_}"}))
            assert r.status_code == 200, r.body
    entry = pool_entry_bytes(account_id)
    lease.note = (f"pool of {pool_size}, {batch} leases per fresh account; other AWS requests / op "
                  f"{lease.other / max(1, lease.n):.2f} (Session Started leaves through the stream); pool index "
                  f"entry of a held number after two beats with pages: {entry} B, so one Query page (1 MB) "
                  f"holds {1_000_000 // entry:,} numbers")
    return lease, beat


def item_bytes(item: Dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it (attribute names plus values; numbers roughly
    one byte per two digits), from its wire form."""
    def value(v: Dict[str, Any]) -> int:
        (kind, x), = v.items()
        if kind == "N":
            return (len(x.replace("-", "").replace(".", "")) + 1) // 2 + 1
        if kind in ("S", "B"):
            return len(str(x).encode())
        if kind == "BOOL" or kind == "NULL":
            return 1
        if kind == "L":
            return 3 + sum(1 + value(i) for i in x)
        if kind == "M":
            return 3 + sum(len(k.encode()) + 1 + value(i) for k, i in x.items())
        return len(json.dumps(x))
    return sum(len(k.encode()) + value(v) for k, v in item.items())


def pool_entry_bytes(account_id: str) -> int:
    """The largest pool-index entry of the account's main pool, as a lease's Query reads it."""
    from chalicelib.dni.models import Number

    items = Number._get_connection().query(f"{account_id}#main", index_name="pool-index")["Items"]
    return max(item_bytes(i) for i in items)


# Vonage webhooks and the consumer ------------------------------------------------------------


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def vonage_and_consumer(client: Any, n: int) -> tuple:
    """`n` calls to leased numbers: the answer webhook, the five event webhooks of an
    answered call, then the webhooks consumer delivering each `Call Completed` to a
    local HTTP endpoint (signed POST), as its Lambda would from SQS."""
    from chalicelib import aws
    from chalicelib.integrations import bus, consumers, registry, worker

    answer_m, event_m, consumer_m = Measured("Vonage answer"), Measured("Vonage event"), Measured("consumer delivery")
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    urls = bus.bootstrap(visibility_timeout=0)
    sub = {"id": "bench", "url": f"http://127.0.0.1:{sink.server_port}/hook", "events": ["call_completed"],
           "secret": "bench-secret-0123456789"}
    account_id, _ = fresh_account(max(30, n), extra_config={"webhooks": [sub]})
    now = time.time()
    for i in range(n):
        session = post_lease(client, account_id)
        answer, events = answered_call(session["number"], f"+1415555{i:04d}", now + i, talk=40)
        with timed(answer_m):
            r = client.http.get("/vonage/answer?" + urlencode(answer))
        assert r.status_code == 200, r.body
        for query, body in events:
            with timed(event_m):
                r = client.http.post("/vonage/events" + ("?" + urlencode(query) if query else ""), headers=JSON,
                                     body=json.dumps(body))
            assert r.status_code in (200, 204), r.body
    from chalicelib import streams

    streams.catch_up()          # `Call Completed` leaves through the calls stream (calls/outbox.py)
    sqs = aws.client("sqs")
    consumer = registry.get("webhooks")
    url = urls["webhooks"]["queue"]
    arn = worker.queue_arn(url, sqs)
    seen, empty = 0, 0
    while seen < n and empty < 5:       # (on a busy machine a message can come a poll late)
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                       MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages") or []
        if not messages:
            empty += 1
            streams.catch_up()
            continue
        empty = 0
        for message in messages:
            envelope = json.loads(message["Body"])
            if envelope.get("detail", {}).get("account_id") != account_id:
                continue
            if envelope.get("detail-type") != "Call Completed":     # the subscription's moment only
                continue
            with timed(consumer_m):
                result = consumers.consume(consumer.name, {"Records": [worker.sqs_record(message, arn)]})
            assert not result.get("batchItemFailures"), result
            seen += 1
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(messages)])
    sink.shutdown()
    assert seen == n, f"{seen} Call Completed deliveries for {n} calls"
    event_m.note = "5 webhooks per answered call"
    consumer_m.note = ("webhooks consumer, one `Call Completed` from its SQS queue: idempotency claims, "
                       "signed POST to 127.0.0.1, delivery log")
    return answer_m, event_m, consumer_m


def answer_in_outage(client: Any, n: int) -> List[Measured]:
    """The answer webhook while DynamoDB is unreachable, as Vonage waits on it (at most 5 s):
    stalled (a server that accepts connections and never answers) and refused (nothing
    listens). The container answered for the number once before (it remembers the line)."""
    from chalicelib.calls import api as calls_api
    from tests.outages import database, free_closed_port, stalled

    account_id, _ = fresh_account(30)
    session = post_lease(client, account_id)
    calls_api.clock = time.time
    first, _ = answered_call(session["number"], "+14155550001", time.time(), talk=40)
    assert client.http.get("/vonage/answer?" + urlencode(first)).status_code == 200
    rows = []
    for name, outage in (("Vonage answer, DynamoDB stalled", stalled), ("Vonage answer, DynamoDB refused",
                                                                         lambda: database(free_closed_port()))):
        m = Measured(name)
        with outage():
            for i in range(n):
                answer, _ = answered_call(session["number"], f"+1415556{i:04d}", time.time(), talk=40)
                with timed(m):
                    r = client.http.get("/vonage/answer?" + urlencode(answer))
                assert r.status_code == 200 and r.json_body[0]["action"] == "connect", r.body
        m.note = ("connect to the business line without attribution (calls/outage.py); 3 s budget, "
                  "then recorded from the connect's events")
        if name.endswith("stalled"):
            # The stalled requests go on in their threads and end (time out) during later
            # measurements: the wait on AWS cannot be told apart from our own time here.
            m.own_ms = []
            m.note += "; own time not separable (the stalled requests run on in background threads)"
        rows.append(m)
    return rows


# Throughput --------------------------------------------------------------------------------
def throughput(threads: int = 8, per_thread: int = 40, pool_size: int = 60) -> Dict[str, Any]:
    """Leases per second against the emulator: `threads` concurrent visitors each leasing
    `per_thread` times on its own account's pool (direct function calls, no HTTP)."""
    from chalicelib.dni import sessions

    account_ids = [fresh_account(pool_size)[0] for _ in range(threads)]
    errors: List[BaseException] = []

    def worker_loop(account_id: str) -> None:
        try:
            for _ in range(per_thread):
                got = sessions.start(sessions.SessionRequest(account=account_id, url="http://localhost/",
                                                             user_agent=BROWSER))
                assert got.method == "dynamic"
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    workers = [threading.Thread(target=worker_loop, args=(a,)) for a in account_ids]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    total = threads * per_thread
    return {"leases": total, "threads": threads, "seconds": round(elapsed, 2), "per_second": round(total / elapsed, 1)}


# Cold start and snippet -------------------------------------------------------------------
# Peak resident memory of this process image: VmHWM (ru_maxrss would carry the parent's
# peak over the exec).
_PEAK = ("print(time.perf_counter() - t, next(int(l.split()[1]) for l in open('/proc/self/status') "
         "if l.startswith('VmHWM')))")
COLD_APP = "import time; t = time.perf_counter(); import app; " + _PEAK
COLD_BARE = "import time; t = time.perf_counter(); import boto3, chalice; " + _PEAK
# What the first lease of a container loads on top (the route's modules, chalicelib/lazy.py).
COLD_LEASE = "import time; t = time.perf_counter(); import app, chalicelib.dni.sessions; " + _PEAK


def cold_start(env: Dict[str, str], runs: int = 7) -> Dict[str, float]:
    """`import app` against `import boto3, chalice` in fresh interpreters: median time (ms)
    and peak resident memory (MiB), and their ratios (the target is 1.5 at most)."""
    out: Dict[str, float] = {}
    for name, code in (("app", COLD_APP), ("bare", COLD_BARE), ("lease", COLD_LEASE)):
        times, peaks = [], []
        for _ in range(runs):
            got = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                 check=True)
            seconds, peak_kib = got.stdout.strip().splitlines()[-1].split()
            times.append(float(seconds) * 1000)
            peaks.append(int(peak_kib) / 1024)
        out[name] = round(statistics.median(times), 1)
        out[f"{name}_mib"] = round(statistics.median(peaks), 1)
    out["time_ratio"] = round(out["app"] / out["bare"], 2)
    out["memory_ratio"] = round(out["app_mib"] / out["bare_mib"], 2)
    out["runs"] = runs
    return out


def snippet_sizes() -> Dict[str, Dict[str, int]]:
    import gzip

    dist = ROOT / "snippet" / "dist"
    sizes = {}
    for name in ("dni.js", "callback.js"):
        path = dist / name
        if path.exists():
            raw = path.read_bytes()
            sizes[name] = {"raw": len(raw), "gzip": len(gzip.compress(raw, compresslevel=9, mtime=0))}
    return sizes


def sim_agreement() -> Dict[str, Any]:
    from chalicelib.sim import replay

    account_id, numbers = fresh_account(3)
    visits = replay.small_trace(seed=3, hours=1.5, visits_per_day=1200.0)
    result = replay.agreement(account_id, numbers, visits, t0=time.time())
    return {"calls": result.calls, "same": result.same}


def available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None



# People: sign-in, a signed-in request, a call's story ------------------------------------
def people_requests(client: Any, n: int) -> List[Measured]:
    """What a person's requests cost: the sign-in (Cognito + the accounts they may open),
    an account request authorised by their token (JWKS cached: one GetItem of the
    membership), and a call's detail page (`…/story`: bounded whatever the account size)."""
    from chalicelib import demo
    from chalicelib.calls.models import CallerHistory
    from chalicelib.calls.record import caller_hash
    from chalicelib.demo_traffic import write_calls
    from tests.browser.test_dashboard import call as call_record

    account_id, numbers = fresh_account(3)
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    demo.seed_users(account_id, [(email, "marketer", None)])
    caller = "+12025550142"
    now = time.time()
    calls = [call_record(account_id, now - 3600 * (i + 1), caller=caller, caller_hash=caller_hash(caller),
                         tracking_number=numbers[0]) for i in range(20)]
    write_calls(calls)
    CallerHistory(f"{account_id}#{caller_hash(caller)}",
                  entries={f"{c['started_at']:.3f}|{c['call_id']}|1" for c in calls}).save()
    sign_in, request, story = (Measured("Sign-in (POST /v1/auth/sign-in)", note="Cognito InitiateAuth + "
                                        "the person's accounts (user-index Query)"),
                               Measured("Signed-in request (GET …/me)", note="token checked locally (JWKS "
                                        "cached), one membership GetItem"),
                               Measured("Call story (GET …/calls/{id}/story)", note="a caller with 20 calls"))
    body = json.dumps({"email": email, "password": demo.DEMO_PASSWORD})
    token = ""
    for i in range(n):
        with timed(sign_in):
            answer = client.http.post("/v1/auth/sign-in", headers=JSON, body=body)
        assert answer.status_code == 200, answer.body
        token = answer.json_body["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    client.http.get(f"/v1/accounts/{account_id}/me", headers=auth)           # the JWKS, once per container
    for i in range(n):
        with timed(request):
            answer = client.http.get(f"/v1/accounts/{account_id}/me", headers=auth)
        assert answer.status_code == 200, answer.body
        with timed(story):
            answer = client.http.get(f"/v1/accounts/{account_id}/calls/{calls[i % 20]['call_id']}/story",
                                     headers=auth)
        assert answer.status_code == 200 and len(answer.json_body["history"]) == 19, answer.body
    return [sign_in, request, story]
