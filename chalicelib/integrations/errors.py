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


class ConsumerError(Exception):
    """Base of the errors a consumer handler raises on purpose."""


class RetryableError(ConsumerError):
    pass


class PermanentError(ConsumerError):
    pass
