"""Secrets the consumers read from SSM Parameter Store (a webhook's signing secret, GA4's API
secret, a HubSpot token), through Powertools `parameters`: cached for `MAX_AGE_SECONDS`, so
a rotated secret is used within minutes, not after the next cold start.

A parameter that does not exist, or that the function may not read, is a configuration
error: `PermanentError` (to the DLQ at once with the reason, no retries that cannot help).
Anything else (throttling, a network blip) is retried."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib import aws
from chalicelib.integrations.errors import PermanentError, RetryableError

MAX_AGE_SECONDS = 300
MISCONFIGURED = {"ParameterNotFound", "ParameterVersionNotFound", "AccessDeniedException", "InvalidKeyId",
                 "ValidationException"}


@lru_cache(maxsize=1)
def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=aws.client("ssm"))


def secret(name: str, max_age: int = MAX_AGE_SECONDS) -> str:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        return str(_provider().get(name, decrypt=True, max_age=max_age))
    except GetParameterError as err:
        cause = err.__context__
        code = getattr(cause, "response", {}).get("Error", {}).get("Code") if cause is not None else None
        if code in MISCONFIGURED:
            raise PermanentError(f"misconfigured: SSM parameter {name} cannot be read ({code})") from err
        raise RetryableError(f"SSM parameter {name}: {err}") from err


def reset() -> None:
    """Forget the provider and its cache (tests repoint the endpoint)."""
    _provider.cache_clear()
