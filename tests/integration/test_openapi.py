"""openapi.yaml describes exactly the app's routes, and is a valid OpenAPI 3.1 document."""
from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def documented() -> set:
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    return {(path, m.upper()) for path, item in doc["paths"].items() for m in item if m in METHODS}


def served() -> set:
    from app import app

    return {(path, m) for path, methods in app.routes.items() for m in methods}


def test_openapi_document_matches_the_app_routes():
    doc, app_routes = documented(), served()
    missing = sorted(app_routes - doc)
    stale = sorted(doc - app_routes)
    hint = ("add the route to chalicelib/admin/openapi.py OPERATIONS, then "
            "`.venv/bin/python -m chalicelib.admin.openapi` rewrites openapi.yaml")
    assert not missing, f"routes the app serves but openapi.yaml lacks: {missing}; {hint}"
    assert not stale, f"openapi.yaml documents routes the app does not serve: {stale}; {hint}"


def test_openapi_document_is_valid_and_every_operation_declares_errors():
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    validate(doc)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (method, path)
            if path.startswith("/v1/accounts/{account_id}"):
                assert {"401", "403"} <= codes and op["security"] == [{"apiKey": []}], (method, path)


def test_written_document_is_what_the_generator_builds_now():
    """Schemas in the document are the very constants the routes validate with."""
    from chalicelib.admin import openapi

    assert (ROOT / "openapi.yaml").read_text(encoding="utf-8") == openapi.render(openapi.build()), (
        "openapi.yaml is stale: run `.venv/bin/python -m chalicelib.admin.openapi`")
