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
                assert {"401", "403"} <= codes and op["security"] == [{"apiKey": []}, {"userToken": []}], (method, path)
                assert op["x-roles"][0] == "admin" and set(op["x-roles"]) <= {"admin", "marketer", "agent",
                                                                               "read_only"}, (method, path)


ADMIN_TAGS = {"accounts", "keys", "settings", "configuration", "numbers"}


def test_admin_operations_in_the_document_are_what_the_generator_builds_now():
    """The admin API's schemas in the document are the very constants its routes validate
    with. (Other domains' entries are checked for presence above; their schema churn is
    picked up whenever the document is regenerated.)"""
    from chalicelib.admin import openapi

    written = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))["paths"]
    built = yaml.safe_load(openapi.render(openapi.build()))["paths"]
    for path, item in built.items():
        for method, op in item.items():
            if set(op["tags"]) & ADMIN_TAGS:
                assert written.get(path, {}).get(method) == op, (
                    f"{method.upper()} {path} is stale in openapi.yaml: run `.venv/bin/python -m chalicelib.admin.openapi`")
