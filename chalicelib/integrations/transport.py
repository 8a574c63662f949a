"""Outbound HTTP for the vendor adapters (HubSpot, user analytics): JSON over the standard
library, one small seam tests replace.

A `Transport` takes (method, url, headers, body bytes, timeout) and returns (status, body
bytes); network failures raise `OSError`. Adapters turn answers into `DeliveryFailed`, whose
`retryable` flag tells the consumer framework whether to retry (then DLQ) or give up.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from chalicelib.errors import CalltrackError
from chalicelib.integrations.errors import ConsumerError, PermanentError, RetryableError
from chalicelib.integrations.outbound import OPENER, check_url, reason, where

Transport = Callable[[str, str, Mapping[str, str], Optional[bytes], float], Tuple[int, bytes]]
DEFAULT_TIMEOUT = 10.0


class DeliveryFailed(CalltrackError):
    """A vendor refused or could not take a delivery. `retryable`: network errors, 429, 5xx."""
    status = 502
    code = "delivery_failed"

    def __init__(self, message: str, retryable: bool, http_status: Optional[int] = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.http_status = http_status


def urllib_transport(method: str, url: str, headers: Mapping[str, str], body: Optional[bytes],
                     timeout: float = DEFAULT_TIMEOUT) -> Tuple[int, bytes]:
    check_url(url)   # https, or http to this machine on the local stage only
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    try:
        with OPENER.open(request, timeout=timeout) as answer:  # noqa: S310 (configured https URL; no redirects)
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read() or b""


def consumer_error(err: DeliveryFailed) -> ConsumerError:
    """The consumer framework's view: retry (then DLQ) or straight to the DLQ."""
    return (RetryableError if err.retryable else PermanentError)(err.message)


def retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def send_json(transport: Transport, method: str, url: str, headers: Mapping[str, str],
              document: Any = None, timeout: float = DEFAULT_TIMEOUT, what: str = "request") -> Tuple[int, Any]:
    """Send `document` as JSON; return (status, parsed JSON or None). Raises DeliveryFailed
    for network errors and non-2xx answers (retryable for 429/5xx)."""
    body = None if document is None else json.dumps(document, separators=(",", ":")).encode()
    all_headers: Dict[str, str] = {"Accept": "application/json", **headers}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    try:
        status, raw = transport(method, url, all_headers, body, timeout)
    except OSError as err:
        raise DeliveryFailed(f"{what}: {method} {where(url)} failed: {err}", retryable=True) from err
    parsed = _parse(raw)
    if status >= 300:
        # The status and its fixed phrase only: a target's body is not ours to keep or show.
        raise DeliveryFailed(f"{what}: {method} {where(url)} answered {reason(status)}",
                             retryable=retryable_status(status), http_status=status)
    return status, parsed


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
