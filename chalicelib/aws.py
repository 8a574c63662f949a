"""AWS clients, created lazily once per container and pointed at the emulator locally."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib import config

_BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5)


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name=config.region(),
        endpoint_url=config.aws_endpoint(),
        config=_BOTO_CONFIG,
    )


def reset_clients() -> None:
    """Forget cached clients (tests that repoint the endpoint call this)."""
    client.cache_clear()
