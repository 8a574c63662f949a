"""Vonage signed webhooks: `Authorization: Bearer <JWT>` signed HS256 with the
signature secret of the Vonage account; its claims carry `iat` and `payload_hash`
(SHA-256 hex of the request body). The SDK's `verify_signature` checks the signature
only, so the body hash and the token's freshness are checked here too.

Signing is enforced when `VONAGE_SIGNATURE_SECRET` is set; unset (local development),
webhooks are accepted unsigned.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, Callable, Dict, Optional

from chalicelib import config
from chalicelib.errors import InvalidSignature

MAX_AGE_SECONDS = 300
CLOCK_SKEW_SECONDS = 60
Clock = Callable[[], float]


def verify(authorization: Optional[str], raw_body: bytes, secret: Optional[str] = None,
           clock: Clock = time.time) -> Optional[Dict[str, Any]]:
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
    return claims
