"""Vonage signed webhooks: `Authorization: Bearer <JWT>` signed HS256 with the
signature secret of the Vonage account; its claims carry `iat` and `payload_hash`
(SHA-256 hex of the request body). The SDK's `verify_signature` checks the signature
only, so the body hash and the token's freshness are checked here too.

Every token carries a `jti` (its unique id): a token is accepted once. Seen ids are kept
(one conditional PutItem) until the token would be stale anyway; a second request with
the same token — a replay — is refused. If that table cannot be reached the token is
accepted (signature, body hash and freshness still checked): a caller is never dropped
because the replay guard is down.

Signing is enforced when `VONAGE_SIGNATURE_SECRET` is set; unset (local development),
webhooks are accepted unsigned.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, Callable, Dict, Optional

from pynamodb.exceptions import PutError, PynamoDBConnectionError

from chalicelib import config
from chalicelib.errors import InvalidSignature
from chalicelib.observability import count, logger

MAX_AGE_SECONDS = 300
CLOCK_SKEW_SECONDS = 60
Clock = Callable[[], float]
# (jti, keep until) → True the first time a token is used.
Remember = Callable[[str, float], bool]


def verify(authorization: Optional[str], raw_body: bytes, secret: Optional[str] = None,
           clock: Clock = time.time, remember: Optional[Remember] = None) -> Optional[Dict[str, Any]]:
    """The token's claims, or InvalidSignature (→ 401). None when signing is not configured."""
    secret = secret if secret is not None else config.vonage_signature_secret()
    if not secret:
        return None
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidSignature("a signed Vonage webhook (Authorization: Bearer <JWT>) is required")
    import jwt  # only where a signed webhook is checked: not on every cold start

    try:
        # Time claims are checked below against the injected clock, not PyJWT's.
        claims = jwt.decode(token.strip(), secret, algorithms=["HS256"],
                            options={"require": ["iat"], "verify_aud": False, "verify_iat": False,
                                     "verify_exp": False, "verify_nbf": False})
    except jwt.PyJWTError as err:
        raise InvalidSignature(f"webhook signature rejected: {err}") from err
    now = clock()
    try:
        age = now - float(claims["iat"])
    except (TypeError, ValueError) as err:
        raise InvalidSignature("webhook token has no valid iat") from err
    if age > MAX_AGE_SECONDS or age < -CLOCK_SKEW_SECONDS:
        raise InvalidSignature("webhook token is not fresh")
    if claims.get("exp") is not None and now > float(claims["exp"]) + CLOCK_SKEW_SECONDS:
        raise InvalidSignature("webhook token has expired")
    body = raw_body or b""
    expected = claims.get("payload_hash")
    if body and not expected:
        raise InvalidSignature("webhook token has no payload_hash for a request with a body")
    if expected and not hmac.compare_digest(str(expected).lower(), hashlib.sha256(body).hexdigest()):
        raise InvalidSignature("payload_hash does not match the request body")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise InvalidSignature("webhook token has no jti")
    until = float(claims["iat"]) + MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS
    if not (remember or first_use)(jti, until):
        count("WebhookReplayRefused")
        raise InvalidSignature("webhook token was already used (replay)")
    return claims


def first_use(jti: str, until: float) -> bool:
    """Remember `jti` until `until`; False if it was already there."""
    from chalicelib.calls.models import SeenToken
    from chalicelib.db import condition_failed
    from chalicelib.db import ttl

    from chalicelib.calls import outage

    def put() -> bool:
        try:
            SeenToken(jti, expires=ttl(until)).save(condition=SeenToken.jti.does_not_exist())
            return True
        except PutError as err:
            if condition_failed(err):
                return False
            raise

    try:
        done, first = outage.within(put, outage.GUARD_BUDGET_SECONDS)
    except PynamoDBConnectionError as err:
        logger.warning("replay guard unreachable: token accepted", extra={"error": str(err)})
        done, first = False, None
    if done:
        return bool(first)
    count("WebhookReplayGuardDown")
    return True


def forget(jti: Optional[str]) -> None:
    """Let a token be used again: the request it came with failed on our side (a 503), and
    Vonage's retry may carry the same token. Best effort, within the guard's budget."""
    if not jti:
        return
    from chalicelib.calls import outage
    from chalicelib.calls.models import SeenToken

    try:
        outage.within(lambda: SeenToken(jti).delete(), outage.GUARD_BUDGET_SECONDS)
    except PynamoDBConnectionError as err:
        logger.warning("replay guard: token not forgotten", extra={"error": str(err)})
