"""Routes of people: sign-in (a thin, validated front of Cognito, so the dashboard talks to
one origin), who am I, the account's users and its audit log (docs/admin.md)."""
from __future__ import annotations

import time
from typing import Any, Dict

from chalice import Blueprint, Response

from chalicelib import auth, web
from chalicelib.errors import BadRequest, Unauthorized
from chalicelib.lazy import lazy
from chalicelib.observability import logger

accounts = lazy("chalicelib.admin.accounts")
audit = lazy("chalicelib.people.audit")
directory = lazy("chalicelib.people.directory")
tokens = lazy("chalicelib.people.tokens")
users = lazy("chalicelib.people.users")

bp = Blueprint(__name__)
ACCOUNT = auth.ACCOUNT
EMAIL = {"type": "string", "minLength": 3, "maxLength": 254, "pattern": "^[^@\\s]+@[^@\\s]+$"}
PASSWORD = {"type": "string", "minLength": 1, "maxLength": 256}


def _obj(required: tuple, **properties: Any) -> Dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(required), "properties": properties}


SIGN_IN = _obj(("email", "password"), email=EMAIL, password=PASSWORD)
CHALLENGE = _obj(("challenge", "session", "email", "answer"),
                 challenge={"enum": ["NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA"]},
                 session={"type": "string", "minLength": 20, "maxLength": 2048}, email=EMAIL,
                 answer={"type": "string", "minLength": 1, "maxLength": 256,
                         "description": "The new password, or the authenticator app's six-digit code"})
REFRESH = _obj(("refresh_token",), refresh_token={"type": "string", "minLength": 1, "maxLength": 8192})
FORGOT = _obj(("email",), email=EMAIL)
RESET = _obj(("email", "code", "password"), email=EMAIL,
             code={"type": "string", "minLength": 1, "maxLength": 32}, password=PASSWORD)
AUDIT_PARAMETERS = ("since", "until", "limit", "next")


def _body(schema: Dict[str, Any]) -> Any:
    web.refuse_unknown(bp.current_request.query_params)
    return web.json_body(bp.current_request, schema)


def _signed_in(answer: Dict[str, Any]) -> Dict[str, Any]:
    """A sign-in answer: tokens plus the accounts the person may open (or the next challenge)."""
    if "access_token" in answer:
        claims = tokens.verify(answer["access_token"])
        answer["accounts"] = users.accounts_of(claims["sub"])
    return answer


@bp.route("/v1/auth/sign-in", methods=["POST"])
def sign_in() -> Dict[str, Any]:
    body = _body(SIGN_IN)
    return _signed_in(directory.sign_in(body["email"].strip().lower(), body["password"]))


@bp.route("/v1/auth/challenge", methods=["POST"])
def challenge() -> Dict[str, Any]:
    body = _body(CHALLENGE)
    return _signed_in(directory.respond(body["challenge"], body["session"], body["email"].strip().lower(),
                                        body["answer"]))


@bp.route("/v1/auth/refresh", methods=["POST"])
def refresh() -> Dict[str, Any]:
    return _signed_in(directory.refresh(_body(REFRESH)["refresh_token"]))


@bp.route("/v1/auth/forgot-password", methods=["POST"])
def forgot_password() -> Response:
    directory.forgot_password(_body(FORGOT)["email"].strip().lower())
    return Response(body={"sent": "if that email has an account, a code is on its way"}, status_code=202,
                    headers=web.json_headers())


@bp.route("/v1/auth/reset-password", methods=["POST"])
def reset_password() -> Dict[str, Any]:
    body = _body(RESET)
    directory.reset_password(body["email"].strip().lower(), body["code"], body["password"])
    return {"reset": True}


MFA_CODE = _obj(("code",), code={"type": "string", "pattern": "^[0-9]{6}$"})


def _access_token() -> tuple:
    """The signed-in person's own access token (MFA is theirs to set, whatever the account);
    these routes take no query parameters."""
    web.refuse_unknown(bp.current_request.query_params)
    token = auth.bearer(web.header(bp.current_request, "authorization"))
    if not auth.looks_like_token(token):
        raise Unauthorized("send 'Authorization: Bearer <access token>' of the person signed in")
    claims = tokens.verify(token)
    if claims.get("token_use") != "access":
        raise Unauthorized("send the access token, not the ID token")
    return token, claims


@bp.route("/v1/auth/sign-out", methods=["POST"])
def sign_out() -> Dict[str, Any]:
    """End the person's sign-in everywhere: their refresh tokens stop working."""
    token, claims = _access_token()
    directory.sign_out(token)
    logger.info("signed out", extra={"user_id": claims.get("sub")})
    return {"signed_out": True}


@bp.route("/v1/auth/mfa", methods=["POST"])
def mfa_setup() -> Dict[str, Any]:
    """Start authenticator-app MFA: the secret to scan (otpauth URI); confirm with a code."""
    token, _ = _access_token()
    return directory.mfa_setup(token)


@bp.route("/v1/auth/mfa", methods=["PUT"])
def mfa_enable() -> Dict[str, Any]:
    body = _body(MFA_CODE)
    token, claims = _access_token()
    directory.mfa_enable(token, body["code"])
    logger.warning("MFA turned on", extra={"user_id": claims.get("sub")})   # a person's security setting: kept
    return {"mfa": "enabled"}


@bp.route("/v1/auth/mfa", methods=["DELETE"])
def mfa_disable() -> Dict[str, Any]:
    token, claims = _access_token()
    directory.mfa_disable(token)
    logger.warning("MFA turned off", extra={"user_id": claims.get("sub")})
    return {"mfa": "disabled"}


def _principal(account_id: str) -> auth.Principal:
    return auth.require_account(web.header(bp.current_request, "authorization"), account_id)


@bp.route(ACCOUNT + "/me", methods=["GET"])
def me(account_id: str) -> Dict[str, Any]:
    """Who is signed in, with which role, and what the role may do (the dashboard shows that)."""
    principal = _principal(account_id)
    web.refuse_unknown(bp.current_request.query_params)
    return {**principal.view(), "account_name": accounts.load(account_id).name or account_id}


@bp.route(ACCOUNT + "/users", methods=["GET"])
def list_users(account_id: str) -> Dict[str, Any]:
    _principal(account_id)
    web.refuse_unknown(bp.current_request.query_params)
    return {"users": users.list_users(account_id)}


@bp.route(ACCOUNT + "/users", methods=["POST"])
def add_user(account_id: str) -> Response:
    principal = _principal(account_id)
    return Response(body=users.add(account_id, _body(users.USER_SCHEMA), principal), status_code=201,
                    headers=web.json_headers())


@bp.route(ACCOUNT + "/users/{user_id}", methods=["PATCH"])
def update_user(account_id: str, user_id: str) -> Dict[str, Any]:
    _principal(account_id)
    return users.update(account_id, user_id, _body(users.UPDATE_SCHEMA))


@bp.route(ACCOUNT + "/users/{user_id}", methods=["DELETE"])
def remove_user(account_id: str, user_id: str) -> Dict[str, Any]:
    _principal(account_id)
    web.refuse_unknown(bp.current_request.query_params)
    return users.remove(account_id, user_id)


@bp.route(ACCOUNT + "/audit", methods=["GET"])
def audit_log(account_id: str) -> Dict[str, Any]:
    """Who changed what, newest first (docs/admin.md)."""
    from chalicelib.calls.api import timestamp

    _principal(account_id)
    q = dict(bp.current_request.query_params or {})
    web.refuse_unknown(q, AUDIT_PARAMETERS)
    until = timestamp(q.get("until"), "until", time.time())
    since = timestamp(q.get("since"), "since", until - 90 * 86400)
    if since > until:
        raise BadRequest("since must not be after until")
    try:
        limit = max(1, int(q.get("limit") or 50))
    except ValueError as err:
        raise BadRequest("limit: expected an integer") from err
    entries, cursor = audit.page(account_id, since, until, limit, q.get("next"))
    return {"entries": entries, "next": cursor}
