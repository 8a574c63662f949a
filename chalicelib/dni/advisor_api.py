"""Admin route of the pool sizing advisor:
`GET /v1/accounts/{account_id}/pools/{pool_id}/advice?accuracy=0.99&days=14`, and its daily
schedule."""
from __future__ import annotations

from typing import Any, Dict

from chalice import Blueprint, Rate

from chalicelib import auth, web
from chalicelib.errors import ValidationFailed
from chalicelib.lazy import lazy

accounts = lazy("chalicelib.accounts")
advisor = lazy("chalicelib.dni.advisor")      # loads the simulator: only when advice is asked

bp = Blueprint(__name__)

ADVICE_QUERY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "accuracy": {"type": "string", "pattern": "^(0(\\.[0-9]{1,4})?|1(\\.0{1,4})?)$"},
        "days": {"type": "string", "pattern": "^[0-9]{1,2}(\\.[0-9]{1,2})?$"},
    },
}


@bp.route("/v1/accounts/{account_id}/pools/{pool_id}/advice", methods=["GET"])
def pool_advice(account_id: str, pool_id: str) -> dict:
    request = bp.current_request
    auth.require_account(web.header(request, "authorization"), account_id)
    query = web.validate(dict(request.query_params or {}), ADVICE_QUERY, "query")
    accuracy, days = float(query.get("accuracy", 0.99)), float(query.get("days", 14))
    if not 0 < accuracy <= 1 or not 0 < days <= 90:
        raise ValidationFailed("accuracy must be in (0, 1] and days in (0, 90]")
    return advisor.advise_account(account_id, pool_id, accuracy, days, accounts.get_account(account_id).settings)


@bp.schedule(Rate(1, unit=Rate.DAYS))
def refresh_pool_advice(event: Any) -> Dict[str, int]:
    """Daily: each pool's advice at the default accuracy and window, kept for pool health
    (chalicelib/dni/sizing.py), so no page replays sessions while a user waits."""
    return advisor.refresh_all()
