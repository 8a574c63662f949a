"""All configuration in one place.

Environment variable names are constants here; per-stage values live in
`.chalice/config.json`. A missing required setting fails fast, naming it.
"""
from __future__ import annotations

import os
from typing import Optional

STAGE = "CALLTRACK_STAGE"
AWS_ENDPOINT = "CALLTRACK_AWS_ENDPOINT"
TABLE_PREFIX = "CALLTRACK_TABLE_PREFIX"
EVENT_BUS = "CALLTRACK_EVENT_BUS"
DEMO_API_KEY = "DEMO_API_KEY"
ACCOUNT_CACHE_SECONDS = "CALLTRACK_ACCOUNT_CACHE_SECONDS"
DYNAMODB_READ_TIMEOUT = "CALLTRACK_DYNAMODB_READ_TIMEOUT"
REGION = "AWS_DEFAULT_REGION"
RETRY_BASE_SECONDS = "CALLTRACK_RETRY_BASE_SECONDS"
# Bootstrap operator token: creates accounts (POST /v1/accounts). Required outside local.
ADMIN_TOKEN = "CALLTRACK_ADMIN_TOKEN"

LOCAL_STAGE = "local"
# The emulator `make run` starts; tests point CALLTRACK_AWS_ENDPOINT at their own port.
LOCAL_DEFAULT_ENDPOINT = "http://127.0.0.1:5000"


class MissingSetting(RuntimeError):
    """A required setting is absent: deployment is misconfigured."""


def required(name: str) -> str:
    """A required setting: the environment variable, or — for secrets in AWS — the
    SecureString SSM parameter whose name is in `<NAME>_SSM` (read once per container)."""
    value = os.environ.get(name) or _from_ssm(os.environ.get(f"{name}_SSM"))
    if not value:
        raise MissingSetting(f"required setting {name} is not set (nor {name}_SSM)")
    return value


_ssm_cache: dict = {}


def _from_ssm(parameter: Optional[str]) -> Optional[str]:
    if not parameter:
        return None
    if parameter not in _ssm_cache:
        from chalicelib import aws  # late: aws imports this module

        _ssm_cache[parameter] = aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    return _ssm_cache[parameter]


def stage() -> str:
    return os.environ.get(STAGE, LOCAL_STAGE)


def is_local() -> bool:
    return stage() == LOCAL_STAGE


def aws_endpoint() -> Optional[str]:
    """The emulator's URL on the local stage; None (real AWS) elsewhere."""
    if is_local():
        return os.environ.get(AWS_ENDPOINT) or LOCAL_DEFAULT_ENDPOINT
    return os.environ.get(AWS_ENDPOINT) or None


def region() -> str:
    return os.environ.get(REGION) or os.environ.get("AWS_REGION") or "us-east-1"


def table_name(short: str) -> str:
    return f"{os.environ.get(TABLE_PREFIX, 'calltrack-')}{short}"


def stream_arn_placeholder(table: str) -> str:
    """The stream ARN written into the Chalice app for `table`'s consumer. Chalice needs a
    literal at import; infra/streams.json replaces it with the table's real StreamArn
    (GetAtt) when the template is packaged, and locally the poller finds the stream itself."""
    return f"arn:aws:dynamodb:{region()}:000000000000:table/{table_name(table)}/stream/packaged-by-infra"


def event_bus_name() -> str:
    return os.environ.get(EVENT_BUS, "calltrack")


def dynamodb_read_timeout() -> float:
    """Seconds a DynamoDB request may take to answer (default 5). The test suite raises it
    for its `chalice local`: its shared emulator serialises 50 concurrent lease
    transactions that each copy whole tables."""
    return float(os.environ.get(DYNAMODB_READ_TIMEOUT, "5"))


def account_cache_seconds() -> float:
    return float(os.environ.get(ACCOUNT_CACHE_SECONDS, "30"))


def demo_api_key() -> str:
    """The demo account's admin key: local stage only, never a production default."""
    if not is_local():
        return required(DEMO_API_KEY)
    return os.environ.get(DEMO_API_KEY, "demo-secret-key")


def admin_token() -> str:
    """The operator's bootstrap token; a fixed default only on the local stage."""
    if not is_local():
        return required(ADMIN_TOKEN)
    return os.environ.get(ADMIN_TOKEN, "local-admin-token")


# Vonage (calls). One Vonage application serves every account: its answer/event URLs
# point at this app. The private key is PEM text (or a file path); the signature secret,
# when set, makes every /vonage/ webhook require Vonage's signed JWT.
VONAGE_APPLICATION_ID = "VONAGE_APPLICATION_ID"
VONAGE_PRIVATE_KEY = "VONAGE_PRIVATE_KEY"
VONAGE_PRIVATE_KEY_PATH = "VONAGE_PRIVATE_KEY_PATH"
VONAGE_SIGNATURE_SECRET = "VONAGE_SIGNATURE_SECRET"
VONAGE_API_HOST = "VONAGE_API_HOST"
# The app's public base URL (e.g. https://abc.execute-api.eu-west-1.amazonaws.com/v1) for the
# absolute webhook URLs inside NCCOs; derived from the request when unset.
PUBLIC_BASE_URL = "CALLTRACK_PUBLIC_BASE_URL"


def optional(name: str) -> Optional[str]:
    """An optional setting, from the environment or the SSM parameter named by `<NAME>_SSM`."""
    return os.environ.get(name) or _from_ssm(os.environ.get(f"{name}_SSM")) or None


def vonage_signature_secret() -> Optional[str]:
    return optional(VONAGE_SIGNATURE_SECRET)


def vonage_private_key() -> str:
    path = os.environ.get(VONAGE_PRIVATE_KEY_PATH)
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    return required(VONAGE_PRIVATE_KEY)


def vonage_api_host() -> str:
    return os.environ.get(VONAGE_API_HOST) or "api.nexmo.com"


def public_base_url() -> Optional[str]:
    return os.environ.get(PUBLIC_BASE_URL) or None


# Buying and linking numbers through Vonage's Numbers API (basic auth: the Vonage
# account's API key and secret, or their `_SSM` parameter names). Off unless
# CALLTRACK_NUMBER_PURCHASES is on: buying a number costs money.
NUMBER_PURCHASES = "CALLTRACK_NUMBER_PURCHASES"
VONAGE_API_KEY = "VONAGE_API_KEY"
VONAGE_API_SECRET = "VONAGE_API_SECRET"
VONAGE_REST_HOST = "VONAGE_REST_HOST"


def number_purchases_enabled() -> bool:
    return os.environ.get(NUMBER_PURCHASES, "").strip().lower() in ("1", "on", "true", "yes")


def vonage_rest_host() -> str:
    return os.environ.get(VONAGE_REST_HOST) or "rest.nexmo.com"


def retry_base_seconds() -> float:
    """First backoff of a consumer whose target failed; doubles per receive (default 10 s)."""
    return float(os.environ.get(RETRY_BASE_SECONDS, "10"))


TRUSTED_PROXIES = "CALLTRACK_TRUSTED_PROXIES"


def trusted_proxies() -> int:
    """How many proxies of ours append to `X-Forwarded-For` in front of the API (default 0:
    API Gateway's own `sourceIp` is the client). The header's first entries are whatever the
    client sent, so only the entry our nearest trusted proxy added is believed."""
    try:
        return max(0, int(os.environ.get(TRUSTED_PROXIES, "0")))
    except ValueError:
        return 0


# Where a call goes when the database cannot tell us (docs/vonage.md, "Outages"): the business
# line (E.164) a container that has not answered for the number yet connects callers to.
FALLBACK_DESTINATION = "CALLTRACK_FALLBACK_DESTINATION"


def fallback_destination() -> Optional[str]:
    return os.environ.get(FALLBACK_DESTINATION) or None


# The recordings archive (docs/intelligence.md, "Recordings"): the S3 bucket every recording
# is copied to. Unset: `calltrack-recordings-<aws account>-<region>` (infra/recordings.json
# creates it); locally the emulator's `calltrack-recordings-local`.
RECORDINGS_BUCKET = "CALLTRACK_RECORDINGS_BUCKET"
LOCAL_RECORDINGS_BUCKET = "calltrack-recordings-local"


def recordings_bucket() -> Optional[str]:
    """The bucket named by the setting, the local one, or None (derived from the AWS account)."""
    return os.environ.get(RECORDINGS_BUCKET) or (LOCAL_RECORDINGS_BUCKET if is_local() else None)


# People who sign in: the Cognito user pool and the dashboard's app client (infra/users.json
# sets both on the API function). Locally, when unset, the pool named USER_POOL_NAME is used.
USER_POOL_ID = "CALLTRACK_USER_POOL_ID"
USER_POOL_CLIENT_ID = "CALLTRACK_USER_POOL_CLIENT_ID"
USER_POOL_NAME = "calltrack-users"


def user_pool_id() -> Optional[str]:
    return os.environ.get(USER_POOL_ID) or None


def user_pool_client_id() -> Optional[str]:
    return os.environ.get(USER_POOL_CLIENT_ID) or None
