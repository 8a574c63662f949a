"""Routes for bid management: ad platforms' offline-conversion upload files and the
conversion feed bid tools poll. Authorised by the account's API key."""
from __future__ import annotations

from typing import Dict, Optional

from chalice import Blueprint, Response

from chalicelib import web
from chalicelib.auth import require_account
from chalicelib.errors import BadRequest
from chalicelib.lazy import lazy

bidding = lazy("chalicelib.integrations.bidding")

bp = Blueprint(__name__)
MAX_FEED_LIMIT = 500


def _query(name: str) -> Optional[str]:
    return (bp.current_request.query_params or {}).get(name)


def _authorise(account_id: str) -> None:
    require_account(web.header(bp.current_request, "authorization"), account_id)


def _csv(export: bidding.Export, filename: str) -> Response:
    headers: Dict[str, str] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Calltrack-Rows": str(export.rows),
        "X-Calltrack-Held-Back": str(export.held_back),
        "X-Calltrack-Skipped": str(export.skipped),
    }
    return Response(body=export.text, status_code=200, headers=headers)


@bp.route("/v1/accounts/{account_id}/exports/google-ads.csv", methods=["GET"])
def google_ads_export(account_id: str) -> Response:
    _authorise(account_id)
    kind = _query("kind") or "click"
    if kind not in ("click", "call"):
        raise BadRequest("kind must be 'click' (gclid) or 'call' (caller id)")
    export = bidding.export(account_id, bidding.GOOGLE, kind, _query("since"), _query("until"))
    return _csv(export, f"google-ads-{kind}-conversions.csv")


@bp.route("/v1/accounts/{account_id}/exports/microsoft-ads.csv", methods=["GET"])
def microsoft_ads_export(account_id: str) -> Response:
    _authorise(account_id)
    export = bidding.export(account_id, bidding.MICROSOFT, "click", _query("since"), _query("until"))
    return _csv(export, "microsoft-ads-conversions.csv")


@bp.route("/v1/accounts/{account_id}/feeds/conversions", methods=["GET"])
def conversion_feed(account_id: str) -> dict:
    _authorise(account_id)
    raw_limit = _query("limit") or "100"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_FEED_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_FEED_LIMIT}")
    return bidding.conversion_feed(account_id, _query("after"), int(raw_limit), _query("platform"))
