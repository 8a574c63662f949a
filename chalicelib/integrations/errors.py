"""How a consumer tells the framework what went wrong.

- `RetryableError`: transient (network, timeouts, 5xx, 429, throttling). The message is
  reported as a batch item failure and comes back after an exponential backoff; after the
  queue's maxReceiveCount SQS moves it to the DLQ.
- `PermanentError`: retrying cannot help (a 4xx from the target, a payload the vendor would
  refuse, an event too old to send). The framework moves the message to the DLQ at once,
  with the reason, so it is never dropped silently and can be replayed after a fix.
- Any other exception is a bug: treated as retryable (it ends in the DLQ if it persists).
"""
from __future__ import annotations

from chalicelib import accounts
from chalicelib.accounts import AccountView
from chalicelib.errors import UnknownAccount


class ConsumerError(Exception):
    """Base of the errors a consumer handler raises on purpose."""


class RetryableError(ConsumerError):
    pass


class PermanentError(ConsumerError):
    pass


def account_of(account_id: object) -> AccountView:
    """The account an event belongs to. An event of an unknown (deleted) account can never
    be delivered: PermanentError, so it goes to the DLQ at once instead of retrying."""
    try:
        return accounts.get_account(str(account_id))
    except UnknownAccount as err:
        raise PermanentError(str(err)) from err
