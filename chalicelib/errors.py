"""One exception tree for the whole app.

Every domain error carries the HTTP status and a stable error code; the single
middleware in `chalicelib.web` turns them into `{"error", "message"}` answers.
They derive from Chalice's `ChaliceUnhandledError` only so that Chalice hands
them to that middleware instead of answering 500 itself.
"""
from __future__ import annotations

from chalice import ChaliceUnhandledError


class CalltrackError(ChaliceUnhandledError):
    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(CalltrackError):
    status = 400
    code = "bad_request"


class InvalidJson(BadRequest):
    code = "invalid_json"


class ValidationFailed(BadRequest):
    code = "validation_failed"


class PayloadTooLarge(CalltrackError):
    status = 413
    code = "payload_too_large"


class Unauthorized(CalltrackError):
    status = 401
    code = "unauthorized"


class InvalidSignature(Unauthorized):
    code = "invalid_signature"


class Forbidden(CalltrackError):
    status = 403
    code = "forbidden"


class NotFound(CalltrackError):
    status = 404
    code = "not_found"


class UnknownAccount(NotFound):
    code = "unknown_account"


class UnknownSession(NotFound):
    code = "unknown_session"


class Conflict(CalltrackError):
    status = 409
    code = "conflict"


class TooManyRequests(CalltrackError):
    """The caller asked too often (sign-in attempts, new sessions from one address)."""
    status = 429
    code = "rate_limited"


class LeaseGone(CalltrackError):
    """The session's lease expired or the number changed hands: lease again."""
    status = 410
    code = "lease_gone"


class LeaseConflict(Conflict):
    """Another session took the number first (a conditional write failed)."""
    code = "lease_conflict"


class PoolExhausted(CalltrackError):
    """No number of the pool can be leased now; callers fall back, never surface it."""
    status = 503
    code = "pool_exhausted"


class ServiceUnavailable(CalltrackError):
    """A dependency of ours (the database) did not answer in time: try again."""
    status = 503
    code = "unavailable"


class BadGateway(CalltrackError):
    """A service we asked on the caller's behalf (Vonage, GA4's validation server) refused or
    did not answer."""
    status = 502
    code = "bad_gateway"
