"""Routes of reports, manual tags, recordings, pool health and the dashboard."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from chalice import Blueprint, Response

from chalicelib import web
from chalicelib.auth import require_account, require_own_call
from chalicelib.errors import BadRequest, NotFound
from chalicelib.lazy import lazy
from chalicelib.reports import schemas

# Domain modules load on first use (chalicelib/lazy.py): a cold start pays for routes only.
archive = lazy("chalicelib.reports.archive")
export = lazy("chalicelib.reports.export")
pools = lazy("chalicelib.reports.pools")
recordings = lazy("chalicelib.reports.recordings")
service = lazy("chalicelib.reports.service")
tags = lazy("chalicelib.reports.tags")
intelligence = lazy("chalicelib.intelligence.analysis")
spam = lazy("chalicelib.calls.spam")
calls_store = lazy("chalicelib.calls.store")

bp = Blueprint(__name__)
STATIC = Path(__file__).resolve().parent / "dashboard_static"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}
CALL_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _authorised(account_id: str, call_id: Optional[str] = None) -> None:
    """The caller may act on the account (and, for an agent, on this call: one they answered)."""
    principal = require_account(web.header(bp.current_request, "authorization"), account_id)
    if call_id is not None and principal.role == "agent":
        require_own_call(principal, calls_store.get_call(account_id, _call_id(call_id)))


def _call_id(call_id: str) -> str:
    """Ids we hand out are short and plain; anything else names no call (and never
    reaches DynamoDB, which refuses keys over 2 KB)."""
    if not CALL_ID.match(call_id):
        raise NotFound(f"no call '{call_id[:64]}'")
    return call_id


@bp.route("/v1/accounts/{account_id}/reports", methods=["GET"])
def get_report(account_id: str) -> Response:
    _authorised(account_id)
    params = bp.current_request.query_params or {}
    web.refuse_unknown(params, service.REPORT_PARAMETERS)
    report = service.run_report(account_id, params)
    fmt = params.get("format") or "json"
    if fmt == "json":
        return Response(body=report, headers=web.json_headers())
    if fmt != "csv":
        raise BadRequest("format: use json or csv")
    body = export.calls_csv(report["calls"]) if "calls" in report else export.report_csv(report)
    name = f"calltrack-{account_id}-{'calls' if 'calls' in report else report['group_by']}.csv"
    return Response(body=body, headers={"Content-Type": "text/csv; charset=utf-8",
                                        "Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/v1/accounts/{account_id}/calls/{call_id}/tags", methods=["PUT"])
def put_call_tags(account_id: str, call_id: str) -> dict:
    _authorised(account_id, call_id)
    body = web.json_body(bp.current_request, schemas.TAGS_REQUEST)
    return tags.tag_call(account_id, _call_id(call_id), body)


@bp.route("/v1/accounts/{account_id}/calls/{call_id}/spam", methods=["PUT"])
def put_call_spam(account_id: str, call_id: str) -> dict:
    """A person's verdict: spam (optionally blocking the caller) or not spam (docs/intelligence.md)."""
    _authorised(account_id, call_id)
    _no_parameters()
    body = web.json_body(bp.current_request, spam.MARK_SCHEMA)
    return spam.mark(account_id, _call_id(call_id), body)


@bp.route("/v1/accounts/{account_id}/calls/{call_id}/recording", methods=["GET"])
def get_call_recording(account_id: str, call_id: str) -> Response:
    """The archived recording (a redirect to a short-lived S3 link), else Vonage's bytes."""
    _authorised(account_id, call_id)
    _no_parameters()
    try:
        found = archive.link_of(account_id, _call_id(call_id))
    except archive.NotArchived:
        recording = recordings.recording_of(account_id, _call_id(call_id))
        return Response(body=recording.body, headers={"Content-Type": recording.content_type,
                                                      "Cache-Control": "private, max-age=300"})
    return Response(body="", status_code=302, headers={"Location": found["url"], "Cache-Control": "no-store"})


@bp.route("/v1/accounts/{account_id}/calls/{call_id}/recording-link", methods=["GET"])
def get_call_recording_link(account_id: str, call_id: str) -> Response:
    """A presigned link to the archived recording, valid five minutes (docs/intelligence.md)."""
    _authorised(account_id, call_id)
    _no_parameters()
    return Response(body=archive.link_of(account_id, _call_id(call_id)),
                    headers={**web.json_headers(), "Cache-Control": "no-store"})


def _no_parameters() -> None:
    web.refuse_unknown(bp.current_request.query_params)


@bp.route("/v1/accounts/{account_id}/calls/{call_id}/transcript", methods=["GET"])
def get_call_transcript(account_id: str, call_id: str) -> dict:
    """The call's redacted transcript and the rules' analysis of it (docs/intelligence.md)."""
    _authorised(account_id, call_id)
    _no_parameters()
    return intelligence.transcript_view(account_id, _call_id(call_id))


@bp.route("/v1/accounts/{account_id}/pool-health", methods=["GET"])
def get_pool_health(account_id: str) -> dict:
    _authorised(account_id)
    params = bp.current_request.query_params or {}
    web.refuse_unknown(params, ("days", "pool"))
    raw_days = params.get("days") or str(pools.DEFAULT_WINDOW_DAYS)
    try:
        days = float(raw_days)
    except ValueError as err:
        raise BadRequest(f"days: '{raw_days}' is not a number") from err
    if not 0 < days <= 90:
        raise BadRequest("days: from more than 0 up to 90")
    pool = params.get("pool")
    if pool is not None and not pool.replace("-", "").replace("_", "").isalnum():
        raise BadRequest("pool: letters, digits, - and _ only")
    return pools.pool_health(account_id, days, pool)


def _static(name: str) -> Response:
    if not SAFE_NAME.fullmatch(name):  # NUL bytes or over-long names made the filesystem raise (500)
        raise NotFound(f"no dashboard file '{name[:80]}'")
    path = (STATIC / name).resolve()
    if path.parent != STATIC or not path.is_file() or path.suffix not in STATIC_TYPES:
        raise NotFound(f"no dashboard file '{name}'")
    return Response(body=path.read_text(encoding="utf-8"),
                    headers={"Content-Type": STATIC_TYPES[path.suffix], "Cache-Control": "no-cache",
                             "X-Content-Type-Options": "nosniff"})


@bp.route("/dashboard", methods=["GET"])
def dashboard() -> Response:
    return _static("index.html")


@bp.route("/dashboard/{name}", methods=["GET"])
def dashboard_file(name: str) -> Response:
    return _static(name)
