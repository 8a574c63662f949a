"""schemathesis drives every operation of openapi.yaml against the app served over
HTTP (`chalice local` on moto): no input, valid or not, may get a 5xx, and every 4xx
must be the `{"error", "message"}` JSON the design promises. Bounded: a few examples
per operation, derandomised so a run is repeatable."""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 8
ADMIN_TOKEN = "local-admin-token"

schema = schemathesis.openapi.from_path(str(ROOT / "openapi.yaml"))
schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES, deterministic=True)
# TRACE/CONNECT answer 501 from the local dev server itself (API Gateway never forwards
# them to the app): probe wrong methods with the ones a client could really send.
schema.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "patch"}


class FuzzAccount:
    """A demo-shaped account of its own with a key, a spare key, a visit and a call: the
    fuzzer acts inside it, and half of the generated ids are swapped for real ones so
    that operations on existing keys, numbers, sessions and calls are exercised too."""

    def __init__(self) -> None:
        from chalicelib import demo
        from chalicelib.auth import hash_key
        from chalicelib.dni.models import ApiKey

        self.account_id = "fz-" + uuid.uuid4().hex[:10]
        self.key = "fuzz-" + uuid.uuid4().hex
        self.pool = [f"+1628{uuid.uuid4().int % 10 ** 7:07d}" for _ in range(5)]
        demo.seed_account(self.account_id, pool=self.pool, api_key=self.key)
        spare = "fuzz-spare-" + uuid.uuid4().hex
        ApiKey(hash_key(spare), account_id=self.account_id, label="spare").save()
        self.real = {"number": self.pool, "key_id": [hash_key(spare)], "pool_id": ["main"],
                     "session_id": [self._session()], "call_id": [self._call()]}

    def _session(self) -> str:
        from chalicelib.dni import sessions

        lease = sessions.start(sessions.SessionRequest(
            account=self.account_id, url="http://localhost/?utm_source=fuzz", referrer=None, ga_client_id=None,
            session_id=None, country=None, header_country=None, ip="127.0.0.1",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36", origin=None))
        return lease.as_response()["session_id"]

    def _call(self) -> str:
        from chalicelib.calls.models import Call
        from chalicelib.calls.store import CALL_KEYS

        call_id, now = f"conv-{uuid.uuid4()}", time.time()
        rec = {k: None for k in CALL_KEYS}
        rec.update({"call_id": call_id, "account_id": self.account_id, "status": "answered", "direction": "inbound",
                    "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "tags": []})
        Call(call_id, account_id=self.account_id, started_at=now, direction="inbound", status="answered",
             rec=rec, tags=[]).save()
        return call_id

    def fill(self, case) -> None:
        params = case.path_parameters or {}
        if "account_id" in params:
            params["account_id"] = self.account_id
        body = case.body if isinstance(case.body, dict) else None
        if case.operation.path == "/v1/sessions" and body is not None and self._coin(body.get("account")):
            body["account"] = self.account_id      # the lease flow itself, not only "unknown account"
        for name, choices in self.real.items():
            if name in params and self._coin(params[name]):
                params[name] = choices[self._digest(params[name]) % len(choices)]

    @staticmethod
    def _digest(value) -> int:
        return int(hashlib.sha256(repr(value).encode()).hexdigest(), 16)

    def _coin(self, value) -> bool:
        """Heads for half of the generated values, the same half on every run."""
        return self._digest(value) % 2 == 0


@pytest.fixture(scope="module")
def fuzz_account(moto_endpoint):
    return FuzzAccount()


def _auth_header(case, key):
    security = case.operation.definition.raw.get("security", [])
    if {"adminToken": []} in security:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if {"apiKey": []} in security:
        return {"Authorization": f"Bearer {key}"}
    return {}


@schemathesis.check
def errors_are_json_with_error_and_message(ctx, response, case):
    # Chalice's own 405 (method) and 415 (content type) are reshaped by web.error_middleware.
    if 400 <= response.status_code < 500:
        body = json.loads(response.content)
        assert isinstance(body, dict) and set(body) >= {"error", "message"}, (
            f"{response.status_code} without {{error, message}}: {response.content[:200]!r}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case, api_server, fuzz_account):
    fuzz_account.fill(case)
    headers = {**(case.headers or {}), **_auth_header(case, fuzz_account.key)}
    response = case.call(base_url=api_server, headers=headers, timeout=10)
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error,
                                             errors_are_json_with_error_and_message])
