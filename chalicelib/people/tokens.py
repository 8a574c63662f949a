"""Verify a person's Cognito token: RS256 signature against the user pool's JWKS, issuer,
expiry, token use and our app client. The JWKS is fetched once per container and again
(at most once a minute) when a token names a key we have not seen — Cognito rotates keys
by adding one first."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any, Dict, Optional

from chalicelib import config
from chalicelib.errors import ServiceUnavailable, Unauthorized
from chalicelib.people import directory

REFETCH_SECONDS = 60.0
LEEWAY_SECONDS = 30

_lock = threading.Lock()
_keys: Dict[str, Any] = {}
_fetched_at = 0.0


def jwks_url(pool_id: str) -> str:
    endpoint = config.aws_endpoint()
    if endpoint:                       # the emulator serves it at its root
        return f"{endpoint.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    return f"{issuer(pool_id)}/.well-known/jwks.json"


def issuer(pool_id: str) -> str:
    return f"https://cognito-idp.{config.region()}.amazonaws.com/{pool_id}"


def _refresh(pool_id: str) -> None:
    global _fetched_at
    import jwt

    with urllib.request.urlopen(jwks_url(pool_id), timeout=3) as answer:   # noqa: S310 (AWS's own URL)
        document = json.loads(answer.read())
    _keys.clear()
    for jwk in document.get("keys", []):
        if jwk.get("kid"):
            _keys[jwk["kid"]] = jwt.PyJWK(jwk).key
    _fetched_at = time.monotonic()


def jwt_errors() -> type:
    import jwt

    return jwt.PyJWTError


def _key(kid: Optional[str], pool_id: str) -> Any:
    with _lock:
        if kid not in _keys and (not _fetched_at or time.monotonic() - _fetched_at > REFETCH_SECONDS):
            try:
                _refresh(pool_id)
            except (OSError, ValueError, jwt_errors()) as err:
                # Our side could not check the token: not the person's fault, not "sign in again".
                raise ServiceUnavailable("the sign-in keys could not be read; retry shortly") from err
        key = _keys.get(kid or "")
    if key is None:
        raise Unauthorized("sign-in token signed by an unknown key")
    return key


def verify(token: str) -> Dict[str, Any]:
    """The token's claims, or Unauthorized saying why (expired, wrong pool or client, forged)."""
    import jwt

    pool = directory.pool()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise Unauthorized("not a sign-in token") from err
    if header.get("alg") != "RS256":
        raise Unauthorized("sign-in token: unexpected algorithm")
    try:
        claims = jwt.decode(token, _key(header.get("kid"), pool.pool_id), algorithms=["RS256"],
                            issuer=issuer(pool.pool_id), leeway=LEEWAY_SECONDS,
                            options={"verify_aud": False, "require": ["exp", "iss", "sub", "token_use"]})
    except jwt.ExpiredSignatureError as err:
        raise Unauthorized("your sign-in has expired; sign in again") from err
    except jwt.PyJWTError as err:
        raise Unauthorized(f"sign-in token refused: {err}") from err
    use = claims.get("token_use")
    client = claims.get("client_id") if use == "access" else claims.get("aud") if use == "id" else None
    if client != pool.client_id:
        raise Unauthorized("sign-in token of another application")
    return claims
