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
    payload = {k: v for k, v in payload.items() if v is not None}
    return "Bearer " + jwt.encode(payload, secret, algorithm="HS256")


class Seen:
    """The replay guard's memory (DynamoDB in the service: tests/integration/test_calls_signed.py)."""

    def __init__(self) -> None:
        self.ids: dict = {}

    def __call__(self, jti: str, until: float) -> bool:
        if jti in self.ids:
            return False
        self.ids[jti] = until
        return True


def test_a_fresh_token_for_this_body_passes():
    assert verify(token(), BODY, SECRET, clock=lambda: NOW + 5, remember=Seen())["jti"] == "j-1"


def test_a_token_is_accepted_once_and_remembered_until_it_would_be_stale():
    seen = Seen()
    verify(token(), BODY, SECRET, clock=lambda: NOW + 5, remember=seen)
    with pytest.raises(InvalidSignature, match="replay"):
        verify(token(), BODY, SECRET, clock=lambda: NOW + 6, remember=seen)
    assert seen.ids["j-1"] >= NOW + 300                                  # as long as iat keeps it fresh
    assert verify(token(jti="j-2"), BODY, SECRET, clock=lambda: NOW + 6, remember=seen)["jti"] == "j-2"


def test_a_token_without_jti_cannot_be_told_from_its_replay():
    with pytest.raises(InvalidSignature, match="jti"):
        verify(token(jti=None), BODY, SECRET, clock=lambda: NOW, remember=Seen())


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
        verify(header, body, SECRET, clock=lambda: now, remember=Seen())


def test_signing_is_off_without_a_secret():
    assert verify(None, BODY, "", clock=lambda: NOW) is None
