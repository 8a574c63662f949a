"""AWS clients, created lazily once per container and pointed at the emulator locally."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib import config

_BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5)


# What the local emulator accepts, so the CLI works against `make run` with no AWS setup.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    credentials = {}
    if config.is_local() and not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
        credentials = LOCAL_CREDENTIALS
    return boto3.client(
        service,
        region_name=config.region(),
        endpoint_url=config.aws_endpoint(),
        config=_BOTO_CONFIG,
        **credentials,
    )


def reset_clients() -> None:
    """Forget cached clients (tests that repoint the endpoint call this)."""
    client.cache_clear()
