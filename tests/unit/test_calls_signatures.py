"""Signed Vonage webhooks: HS256 signature, payload_hash of the raw body, freshness."""
from __future__ import annotations

import hashlib

import jwt
import pytest

from chalicelib.calls.signatures import verify
from chalicelib.errors import InvalidSignature

SECRET = "test-signature-secret-0123456789abcdef"
NOW = 1_800_000_000.0
BODY = b'{"status":"answered","uuid":"u"}'


def token(body: bytes = BODY, secret: str = SECRET, iat: float = NOW, **claims) -> str:
    payload = {"iat": int(iat), "jti": "j-1", "application_id": "app", "payload_hash": hashlib.sha256(body).hexdigest()}
    payload.update(claims)
    return "Bearer " + jwt.encode(payload, secret, algorithm="HS256")


def test_a_fresh_token_for_this_body_passes():
    assert verify(token(), BODY, SECRET, clock=lambda: NOW + 5)["jti"] == "j-1"


@pytest.mark.parametrize("header, body, now", [
    (None, BODY, NOW),                                               # unsigned
    ("Bearer not-a-jwt", BODY, NOW),                                 # malformed
    (token(secret="another-secret-0123456789abcdef0"), BODY, NOW),   # wrong secret
    (token(), b'{"status":"completed","uuid":"u"}', NOW),            # body tampered
    (token(), BODY, NOW + 3600),                                     # stale
    (token(payload_hash=None), BODY, NOW),                           # no hash for a body
])
def test_anything_else_is_rejected(header, body, now):
    with pytest.raises(InvalidSignature):
        verify(header, body, SECRET, clock=lambda: now)


def test_signing_is_off_without_a_secret():
    assert verify(None, BODY, "", clock=lambda: NOW) is None
