"""Account configuration sections and the JSON Schema that validates each.

Each domain owns its sections' schemas; the admin API serves
`GET|PUT /v1/accounts/{id}/config/{section}` validated by the schema registered here.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

PAGE_NUMBERS_SCHEMA: Dict[str, Any] = {
    "type": "array", "maxItems": 20, "uniqueItems": True,
    "items": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"},
}
# Where the snippet's session cookie lives: one of the account's domains (the page's host
# must be on it), or "host" for the page's own host only; unset: the broadest listed domain.
COOKIE_DOMAIN_SCHEMA: Dict[str, Any] = {
    "type": ["string", "null"], "maxLength": 253,
    "pattern": "^(host|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)$",
}
DEFAULT_POOL_SCHEMA: Dict[str, Any] = {"type": ["string", "null"], "pattern": "^[a-z0-9_-]{1,32}$"}


def with_defaults(raw: Any, defaults: Dict[str, Any]) -> Dict[str, Any]:
    """A section's value with every default filled in, nested objects merged one level
    deep (what is missing falls back, so adding a setting never needs a migration)."""
    raw = dict(raw or {})
    out: Dict[str, Any] = {}
    for key, default in defaults.items():
        value = raw.get(key, default)
        out[key] = {**default, **value} if isinstance(default, dict) and isinstance(value, dict) else value
    return out


@lru_cache(maxsize=1)
def _sections() -> Dict[str, Dict[str, Any]]:
    # Imported when a section is first read or written, not on every cold start: the
    # integration modules are only needed by the admin API's config routes and consumers.
    from chalicelib.calls.routing import ROUTING_SCHEMA
    from chalicelib.calls.spam import SCHEMA as SPAM_SCHEMA
    from chalicelib.integrations.analytics import ANALYTICS_SCHEMA
    from chalicelib.integrations.bi import BI_SCHEMA
    from chalicelib.integrations.bidding import GOOGLE_ADS_SCHEMA, MICROSOFT_ADS_SCHEMA
    from chalicelib.integrations.ga4 import GA4_SCHEMA
    from chalicelib.integrations.hubspot import HUBSPOT_SCHEMA
    from chalicelib.integrations.webhooks import WEBHOOKS_SCHEMA
    from chalicelib.intelligence.redaction import SCHEMA as REDACTION_SCHEMA
    from chalicelib.intelligence.rules import RULES_SCHEMA as CALL_RULES_SCHEMA
    from chalicelib.reports.archive import SCHEMA as RECORDINGS_SCHEMA
    from chalicelib.reports.schemas import TAG_CATEGORIES_SCHEMA

    return {
        "page_numbers": PAGE_NUMBERS_SCHEMA,
        "default_pool": DEFAULT_POOL_SCHEMA,
        "cookie_domain": COOKIE_DOMAIN_SCHEMA,
        "tag_categories": TAG_CATEGORIES_SCHEMA,
        "routing": ROUTING_SCHEMA,
        "ga4": GA4_SCHEMA,
        "webhooks": WEBHOOKS_SCHEMA,
        "hubspot": HUBSPOT_SCHEMA,
        "google_ads": GOOGLE_ADS_SCHEMA,
        "microsoft_ads": MICROSOFT_ADS_SCHEMA,
        "bi": BI_SCHEMA,
        "analytics": ANALYTICS_SCHEMA,
        "call_rules": CALL_RULES_SCHEMA,        # conversation rules (docs/intelligence.md)
        "redaction": REDACTION_SCHEMA,
        "recordings": RECORDINGS_SCHEMA,        # the recordings archive (docs/intelligence.md)
        "spam": SPAM_SCHEMA,                    # block list, bursts, press-a-key check (docs/intelligence.md)
    }


def __getattr__(name: str) -> Any:
    """`sections.SECTIONS`: every section name → its owner's JSON Schema (loaded lazily)."""
    if name == "SECTIONS":
        return _sections()
    raise AttributeError(name)
