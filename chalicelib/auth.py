"""Who is asking, and what they may do (docs/admin.md, "Users, roles and the audit log").

Every `/v1/accounts/{account_id}/…` request carries `Authorization: Bearer <credential>`:
- an **API key** of that account (machines, the CLI): stored as a SHA-256 hash only, and
  acts as the account's admin;
- a **Cognito token** of a person (the dashboard): its signature, issuer, expiry and
  client are checked (chalicelib/people/tokens.py), then the person's membership of the
  account gives their role: admin, marketer, agent or read_only.

`middleware` authorises every account route in one place, before the view runs — a route
added later is admin-only until POLICY names it — and records changes in the audit log.
The tenant check comes first: a credential of another account is refused (403) before
anything of the request is looked at.
"""
from __future__ import annotations

import contextvars
import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, Optional, Tuple

from chalicelib.errors import Forbidden, NotFound, Unauthorized
from chalicelib.lazy import lazy

models = lazy("chalicelib.dni.models")      # the tables load with the first authorised request
people = lazy("chalicelib.people.models")
tokens = lazy("chalicelib.people.tokens")
audit = lazy("chalicelib.people.audit")

ACCOUNT = "/v1/accounts/{account_id}"
ROLES = ("admin", "marketer", "agent", "read_only")
EVERYONE: FrozenSet[str] = frozenset(ROLES)
READERS: FrozenSet[str] = frozenset({"admin", "marketer", "read_only"})
MARKETING: FrozenSet[str] = frozenset({"admin", "marketer"})
ADMIN: FrozenSet[str] = frozenset({"admin"})

# (method, route) → the roles that may call it. Routes not named here are the admin's:
# keys, users, the audit log, numbers and pools, settings, configuration, integrations
# and their secrets. An agent sees only calls they answered (`agent` = their number).
POLICY: Dict[Tuple[str, str], FrozenSet[str]] = {
    ("GET", ACCOUNT): EVERYONE,
    ("GET", ACCOUNT + "/me"): EVERYONE,
    ("GET", ACCOUNT + "/calls"): EVERYONE,
    ("GET", ACCOUNT + "/calls/{call_id}"): EVERYONE,
    ("GET", ACCOUNT + "/calls/{call_id}/story"): EVERYONE,
    ("GET", ACCOUNT + "/calls/{call_id}/recording"): EVERYONE,
    ("GET", ACCOUNT + "/calls/{call_id}/recording-link"): EVERYONE,
    ("GET", ACCOUNT + "/calls/{call_id}/transcript"): EVERYONE,
    ("PUT", ACCOUNT + "/calls/{call_id}/tags"): frozenset({"admin", "marketer", "agent"}),
    ("PUT", ACCOUNT + "/calls/{call_id}/spam"): MARKETING,
    ("GET", ACCOUNT + "/reports"): READERS,
    ("GET", ACCOUNT + "/exports/google-ads.csv"): MARKETING,
    ("GET", ACCOUNT + "/exports/microsoft-ads.csv"): MARKETING,
    ("GET", ACCOUNT + "/feeds/conversions"): MARKETING,
}
# POSTs that change nothing (they try something out): not audited.
TRIALS = frozenset({("POST", ACCOUNT + "/call-rules/dry-run"), ("POST", ACCOUNT + "/integrations/ga4/validate")})
# Configuration sections every role may read (what tagging a call needs).
SHARED_SECTIONS = frozenset({"tag_categories"})


@dataclass(frozen=True)
class Principal:
    """The authorised caller of one request."""
    account_id: str
    role: str
    kind: str                      # "key" | "user"
    id: str                        # the key's hash, or the user's Cognito sub
    name: str = ""                 # the key's label, or the user's email
    agent: Optional[str] = None    # an agent's number (E.164)

    def audit_actor(self) -> Dict[str, Any]:
        return {"kind": self.kind, "id": self.id if self.kind == "user" else self.id[:12], "name": self.name,
                "role": self.role}

    def view(self) -> Dict[str, Any]:
        return {"account_id": self.account_id, "role": self.role, "kind": self.kind, "name": self.name,
                "agent": self.agent, "can": sorted(f"{m} {p[len(ACCOUNT):] or '/'}" for (m, p), roles
                                                   in POLICY.items() if self.role in roles)
                if self.role != "admin" else ["*"]}


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def bearer(authorization: Optional[str]) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <API key or sign-in token>'")
    return token.strip()


def account_of_key(api_key: str) -> str:
    return _key(api_key).account_id


def _key(api_key: str) -> Any:
    try:
        item = models.ApiKey.get(hash_key(api_key))
    except models.ApiKey.DoesNotExist as err:
        raise Unauthorized("unknown or revoked API key") from err
    if item.revoked:
        raise Unauthorized("unknown or revoked API key")
    return item


def looks_like_token(credential: str) -> bool:
    """A JWT (three base64url parts, a JSON header): API keys never have that shape."""
    return credential.startswith("eyJ") and credential.count(".") == 2


def resolve(authorization: Optional[str], account_id: str) -> Principal:
    """The caller as a Principal of `account_id`, or Unauthorized (nothing valid sent) /
    Forbidden (valid, but not for this account)."""
    credential = bearer(authorization)
    if looks_like_token(credential):
        claims = tokens.verify(credential)
        if claims.get("token_use") != "access":
            raise Unauthorized("send the access token of your sign-in, not the ID token")
        try:
            member = people.Membership.get(account_id, claims["sub"])
        except people.Membership.DoesNotExist as err:
            raise Forbidden("you are not a user of that account") from err
        return Principal(account_id, member.role, "user", member.user_id, member.email, member.agent)
    item = _key(credential)
    if item.account_id != account_id:
        raise Forbidden("this API key does not belong to that account")
    return Principal(account_id, "admin", "key", item.key_hash, item.label or "")


_current: contextvars.ContextVar[Optional[Principal]] = contextvars.ContextVar("principal", default=None)


def current() -> Optional[Principal]:
    """The principal the middleware authorised for this request (None outside one)."""
    return _current.get()


def require_account(authorization: Optional[str], account_id: str) -> Principal:
    """The principal acting on `account_id` (the middleware's, when it ran), or Unauthorized /
    Forbidden. Views call it first: a view never runs for someone else's account."""
    principal = _current.get()
    if principal is not None and principal.account_id == account_id:
        return principal
    return resolve(authorization, account_id)


def allowed(role: str, method: str, route: str, params: Dict[str, str]) -> bool:
    if role == "admin":
        return True
    if route == ACCOUNT + "/config/{section}" and method == "GET":
        return params.get("section") in SHARED_SECTIONS
    return role in POLICY.get((method, route), ADMIN)


def require_own_call(principal: Principal, call: Dict[str, Any]) -> Dict[str, Any]:
    """An agent reaches only calls they answered; for them another call does not exist."""
    if principal.role == "agent" and (not principal.agent or call.get("agent") != principal.agent):
        raise NotFound(f"no call '{call.get('call_id')}'")
    return call


def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice HTTP middleware: authorise account routes by role, then audit what changed."""
    route = str((getattr(event, "context", None) or {}).get("resourcePath") or "")
    if not route.startswith(ACCOUNT):
        return get_response(event)
    params = dict(getattr(event, "uri_params", None) or {})
    headers = getattr(event, "headers", None) or {}
    principal = resolve(headers.get("authorization"), params.get("account_id", ""))
    method = str(event.method).upper()
    if not allowed(principal.role, method, route, params):
        raise Forbidden(f"the {principal.role} role may not {method} {route[len(ACCOUNT):] or '/'}")
    token = _current.set(principal)
    try:
        response = get_response(event)
    finally:
        _current.reset(token)
    if method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400 and (method, route) not in TRIALS:
        audit.record(principal, method, route[len(ACCOUNT):] or "/", params, event, response.status_code)
    return response
