"""Admin API routes under /v1/accounts: every account route is authorised by
`Authorization: Bearer <api key>` of that very account; creating an account needs
the operator's admin token. Views only read the request and shape the answer."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import auth, web
from chalicelib.admin import schemas
from chalicelib.lazy import lazy

# Domain modules load on first use (chalicelib/lazy.py): a cold start pays for routes only.
accounts = lazy("chalicelib.admin.accounts")
configuration = lazy("chalicelib.admin.configuration")
keys = lazy("chalicelib.admin.keys")
numbers = lazy("chalicelib.admin.numbers")
purchases = lazy("chalicelib.admin.purchases")
intelligence = lazy("chalicelib.intelligence.analysis")
learning = lazy("chalicelib.intelligence.learning")

bp = Blueprint(__name__)
ACCOUNT = "/v1/accounts/{account_id}"


def _authorised(account_id: str) -> auth.Principal:
    return auth.require_account(web.header(bp.current_request, "authorization"), account_id)


def _body(schema: Any, allow_empty: bool = False) -> Any:
    return web.json_body(bp.current_request, schema, allow_empty=allow_empty)


def created(body: Any) -> Response:
    return Response(body=body, status_code=201, headers=web.json_headers())


@bp.route("/v1/accounts", methods=["POST"])
def create_account() -> Response:
    accounts.require_admin(web.header(bp.current_request, "authorization"))
    body = _body(schemas.CREATE_ACCOUNT)
    configuration.check_settings(body.get("settings") or {})
    return created(accounts.create(body))


@bp.route(ACCOUNT, methods=["GET"])
def get_account(account_id: str) -> dict:
    _authorised(account_id)
    return accounts.profile(accounts.load(account_id))


@bp.route(ACCOUNT, methods=["PATCH"])
def update_account(account_id: str) -> dict:
    _authorised(account_id)
    return accounts.update_profile(account_id, _body(schemas.UPDATE_ACCOUNT))


# API keys -------------------------------------------------------------------------
@bp.route(ACCOUNT + "/keys", methods=["GET"])
def list_keys(account_id: str) -> dict:
    _authorised(account_id)
    return {"keys": keys.list_keys(account_id)}


@bp.route(ACCOUNT + "/keys", methods=["POST"])
def create_key(account_id: str) -> Response:
    _authorised(account_id)
    body = _body(schemas.CREATE_KEY, allow_empty=True)
    return created(keys.create(account_id, body.get("label", "")))


@bp.route(ACCOUNT + "/keys/{key_id}/rotate", methods=["POST"])
def rotate_key(account_id: str, key_id: str) -> Response:
    _authorised(account_id)
    return created(keys.rotate(account_id, key_id))


@bp.route(ACCOUNT + "/keys/{key_id}", methods=["DELETE"])
def revoke_key(account_id: str, key_id: str) -> dict:
    _authorised(account_id)
    return keys.revoke(account_id, key_id)


# Settings, rules, geo, configuration sections -----------------------------------------
@bp.route(ACCOUNT + "/settings", methods=["GET"])
def get_settings(account_id: str) -> dict:
    _authorised(account_id)
    return configuration.get_settings(account_id)


@bp.route(ACCOUNT + "/settings", methods=["PATCH"])
def patch_settings(account_id: str) -> dict:
    _authorised(account_id)
    return configuration.patch_settings(account_id, _body(schemas.SETTINGS_SCHEMA))


@bp.route(ACCOUNT + "/rules", methods=["GET"])
def get_rules(account_id: str) -> dict:
    _authorised(account_id)
    return configuration.get_rules(account_id)


@bp.route(ACCOUNT + "/rules", methods=["PUT"])
def put_rules(account_id: str) -> dict:
    _authorised(account_id)
    return configuration.put_rules(account_id, _body(schemas.RULES)["rules"])


@bp.route(ACCOUNT + "/geo", methods=["GET"])
def get_geo(account_id: str) -> dict:
    _authorised(account_id)
    return configuration.get_geo(account_id)


@bp.route(ACCOUNT + "/geo", methods=["PUT"])
def put_geo(account_id: str) -> dict:
    _authorised(account_id)
    return configuration.put_geo(account_id, _body(schemas.GEO)["geo"])


@bp.route(ACCOUNT + "/config", methods=["GET"])
def get_config(account_id: str) -> dict:
    _authorised(account_id)
    return configuration.get_config(account_id)


@bp.route(ACCOUNT + "/config/{section}", methods=["GET"])
def get_section(account_id: str, section: str) -> dict:
    _authorised(account_id)
    return configuration.get_section(account_id, section)


@bp.route(ACCOUNT + "/config/{section}", methods=["PUT"])
def put_section(account_id: str, section: str) -> dict:
    _authorised(account_id)
    return configuration.put_section(account_id, section, _body(schemas.SECTION_VALUE)["value"])


@bp.route(ACCOUNT + "/call-rules/dry-run", methods=["POST"])
def call_rules_dry_run(account_id: str) -> dict:
    """Which of a range's calls these conversation rules (or the saved ones) would tag, label
    and score; nothing is changed (docs/intelligence.md)."""
    _authorised(account_id)
    return intelligence.dry_run(account_id, _body(intelligence.DRY_RUN_SCHEMA))


@bp.route(ACCOUNT + "/learned-score/train", methods=["POST"])
def train_learned_score(account_id: str) -> dict:
    """Fit the account's learned lead score on a range's manually tagged calls (docs/intelligence.md)."""
    _authorised(account_id)
    return learning.train_account(account_id, _body(learning.TRAIN_SCHEMA))


@bp.route(ACCOUNT + "/learned-score", methods=["GET"])
def get_learned_score(account_id: str) -> dict:
    _authorised(account_id)
    _no_query()
    return learning.view(account_id)


@bp.route(ACCOUNT + "/learned-score", methods=["DELETE"])
def delete_learned_score(account_id: str) -> dict:
    _authorised(account_id)
    _no_query()
    return learning.delete(account_id)


def _no_query() -> None:
    web.refuse_unknown(bp.current_request.query_params)


@bp.route(ACCOUNT + "/config/{section}", methods=["DELETE"])
def delete_section(account_id: str, section: str) -> dict:
    _authorised(account_id)
    return configuration.delete_section(account_id, section)


# Numbers and pools ------------------------------------------------------------------
@bp.route(ACCOUNT + "/numbers", methods=["GET"])
def list_numbers(account_id: str) -> dict:
    _authorised(account_id)
    return {"numbers": numbers.list_view(account_id)}


@bp.route(ACCOUNT + "/numbers", methods=["POST"])
def add_number(account_id: str) -> Response:
    _authorised(account_id)
    answer = numbers.add_number(account_id, _body(schemas.ADD_NUMBER), exist_ok=True)
    return Response(body=answer, status_code=201 if answer["created"] else 200, headers=web.json_headers())


@bp.route(ACCOUNT + "/numbers/{number}", methods=["GET"])
def get_number(account_id: str, number: str) -> dict:
    _authorised(account_id)
    return numbers.get_number(account_id, numbers.parse_path_number(number))


@bp.route(ACCOUNT + "/numbers/{number}", methods=["PATCH"])
def update_number(account_id: str, number: str) -> dict:
    _authorised(account_id)
    return numbers.update_number(account_id, numbers.parse_path_number(number), _body(schemas.UPDATE_NUMBER))


@bp.route(ACCOUNT + "/numbers/{number}", methods=["DELETE"])
def remove_number(account_id: str, number: str) -> dict:
    _authorised(account_id)
    return numbers.remove_number(account_id, numbers.parse_path_number(number))


# GET /pools (pool health: utilisation, peaks, recommended size) is served by reports.
@bp.route(ACCOUNT + "/pools/{pool_id}", methods=["GET"])
def get_pool(account_id: str, pool_id: str) -> dict:
    _authorised(account_id)
    return numbers.pool_view(account_id, pool_id)


@bp.route(ACCOUNT + "/pools/{pool_id}/numbers", methods=["POST"])
def add_pool_numbers(account_id: str, pool_id: str) -> dict:
    _authorised(account_id)
    web.validate(pool_id, schemas.POOL_ID, what="pool_id")
    body = _body(schemas.ADD_POOL_NUMBERS)
    return numbers.add_to_pool(account_id, pool_id, body["numbers"], body.get("country"))


@bp.route(ACCOUNT + "/pools/{pool_id}/numbers/{number}", methods=["DELETE"])
def remove_pool_number(account_id: str, pool_id: str, number: str) -> dict:
    _authorised(account_id)
    return numbers.remove_number(account_id, numbers.parse_path_number(number), pool_id=pool_id)


# Buying numbers from Vonage (off unless CALLTRACK_NUMBER_PURCHASES is on) -------------
@bp.route(ACCOUNT + "/vonage/numbers", methods=["GET"])
def search_vonage_numbers(account_id: str) -> dict:
    _authorised(account_id)
    query = web.validate(dict(bp.current_request.query_params or {}), schemas.VONAGE_SEARCH_QUERY, what="query")
    return {"numbers": purchases.search(query)}


@bp.route(ACCOUNT + "/vonage/numbers", methods=["POST"])
def buy_vonage_number(account_id: str) -> Response:
    _authorised(account_id)
    return created(purchases.buy(account_id, _body(schemas.BUY_NUMBER)))
