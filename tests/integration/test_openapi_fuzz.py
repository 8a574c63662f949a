"""schemathesis drives every operation of openapi.yaml against the app served over
HTTP (`chalice local` on moto): no input, valid or not, may get a 5xx, and every 4xx
must be the `{"error", "message"}` JSON the design promises. Bounded: a few examples
per operation, derandomised so a run is repeatable."""
from __future__ import annotations

import json
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


@pytest.fixture(scope="module")
def fuzz_account(moto_endpoint):
    """A demo-shaped account of its own, with a key: the fuzzer acts inside it."""
    from chalicelib import demo

    account_id = "fz-" + uuid.uuid4().hex[:10]
    key = "fuzz-" + uuid.uuid4().hex
    base = int(uuid.uuid4().hex[:4], 16) % 9000
    demo.seed_account(account_id, pool=[f"+1415558{base + i:04d}" for i in range(5)], api_key=key)
    return account_id, key


def _auth_header(case, key):
    security = case.operation.definition.raw.get("security", [])
    if {"adminToken": []} in security:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if {"apiKey": []} in security:
        return {"Authorization": f"Bearer {key}"}
    return {}


@schemathesis.check
def errors_are_json_with_error_and_message(ctx, response, case):
    # 405 (method) and 415 (content type) come from the framework (Chalice; API Gateway
    # likewise) before the app runs, in its own shape.
    if 400 <= response.status_code < 500 and response.status_code not in (405, 415):
        body = json.loads(response.content)
        assert isinstance(body, dict) and set(body) >= {"error", "message"}, (
            f"{response.status_code} without {{error, message}}: {response.content[:200]!r}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case, api_server, fuzz_account):
    account_id, key = fuzz_account
    if "account_id" in (case.path_parameters or {}):
        case.path_parameters["account_id"] = account_id
    headers = {**(case.headers or {}), **_auth_header(case, key)}
    response = case.call(base_url=api_server, headers=headers, timeout=10)
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error,
                                             errors_are_json_with_error_and_message])
