"""Domain modules load where they are first used (chalicelib/lazy.py), not with `import app`:
every Lambda function imports the whole app, so its cold start pays only for the routes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from chalicelib.lazy import lazy

ROOT = Path(__file__).resolve().parents[2]
# Heavy, and needed by some requests only: none of them may load with the app itself.
DEFERRED = ("chalicelib.calls.state", "chalicelib.calls.models", "chalicelib.dni.sessions", "chalicelib.dni.models",
            "chalicelib.reports.service", "chalicelib.reports.rollup_store", "chalicelib.sim.engine",
            "chalicelib.integrations.consumers", "chalicelib.integrations.bidding", "chalicelib.admin.numbers",
            "pynamodb.models", "phonenumbers", "jsonschema", "vonage", "jwt")


def test_import_app_loads_no_domain_module_a_route_defers() -> None:
    code = "import sys, json, app; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                           check=True).stdout.strip().splitlines()[-1]))
    assert sorted(m for m in DEFERRED if m in loaded) == []
    assert "chalicelib.lazy" in loaded


def test_a_lazy_module_loads_on_first_use_and_patches_pass_through() -> None:
    proxy = lazy("json.decoder")
    assert "not loaded" not in repr(proxy) and "(loaded)" not in repr(proxy)
    assert proxy.JSONDecodeError is sys.modules["json.decoder"].JSONDecodeError
    assert "(loaded)" in repr(proxy)
    proxy.calltrack_probe = 1
    try:
        assert sys.modules["json.decoder"].calltrack_probe == 1    # set on the module itself
    finally:
        del proxy.calltrack_probe
    assert not hasattr(sys.modules["json.decoder"], "calltrack_probe")


def test_the_routes_still_answer_through_lazy_modules(moto_endpoint: str) -> None:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        r = client.http.get("/v1/accounts/demo/reports", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and json.loads(r.body)["error"]
