"""What an operator configures on an account beyond its profile: settings checks the
schema cannot express, tracking rules, geo rules, and the registered config sections
(`chalicelib.sections.SECTIONS`, each validated by its owner's schema)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, List, Mapping, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib import accounts as account_cache
from chalicelib import sections, web
from chalicelib.admin import accounts, numbers, secrets
from chalicelib.dni.models import Account
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.integrations import outbound
from chalicelib.integrations.errors import RetryableError
from chalicelib.settings import Settings


def check_settings(changes: Mapping[str, Any]) -> None:
    """Semantic checks on top of SETTINGS_SCHEMA: a real time zone, opening before closing."""
    if "timezone" in changes:
        try:
            ZoneInfo(changes["timezone"])
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValidationFailed(f"timezone: '{changes['timezone']}' is not an IANA time zone") from err
    for day, (opens, closes) in (changes.get("working_hours") or {}).items():
        if not opens < closes or closes > "24:00":
            raise ValidationFailed(f"working_hours/{day}: '{opens}'–'{closes}' is not an opening time before a closing time")


def get_settings(account_id: str) -> Dict[str, Any]:
    """Every setting, stored or default: what the account runs with."""
    return Settings.from_map(accounts.load(account_id).settings).as_dict()


def patch_settings(account_id: str, changes: Mapping[str, Any]) -> Dict[str, Any]:
    """Merge `changes` (already schema-valid) into the stored settings."""
    check_settings(changes)

    def mutate(item: Account) -> None:
        item.settings = {**(item.settings or {}), **changes}

    return Settings.from_map(accounts.update(account_id, mutate).settings).as_dict()


def _check_numbers_owned(account_id: str, wanted: Iterable[str], where: str) -> None:
    for number in sorted(set(wanted)):
        try:
            numbers.owned(account_id, number)
        except NotFound as err:
            raise ValidationFailed(f"{where}: {number} is not a number of this account; add it first") from err


def _rule_numbers(rules: Iterable[Mapping[str, Any]]) -> List[str]:
    return [r[k] for r in rules for k in ("number", "fallback") if r.get(k)]


def get_rules(account_id: str) -> Dict[str, Any]:
    return {"rules": list(accounts.load(account_id).rules or [])}


def put_rules(account_id: str, rules: List[Dict[str, Any]]) -> Dict[str, Any]:
    ids = [r["id"] for r in rules if "id" in r]
    if len(ids) != len(set(ids)):
        raise ValidationFailed("rules: rule ids must be unique")
    _check_numbers_owned(account_id, _rule_numbers(rules), "rules")

    def mutate(item: Account) -> None:
        item.rules = rules

    return {"rules": list(accounts.update(account_id, mutate).rules)}


def get_geo(account_id: str) -> Dict[str, Any]:
    return {"geo": list(accounts.load(account_id).geo or [])}


def put_geo(account_id: str, geo: List[Dict[str, Any]]) -> Dict[str, Any]:
    countries = [g["country"] for g in geo]
    if len(countries) != len(set(countries)):
        raise ValidationFailed("geo: one rule per country")
    _check_numbers_owned(account_id, _rule_numbers(geo), "geo")

    def mutate(item: Account) -> None:
        item.geo = geo

    return {"geo": list(accounts.update(account_id, mutate).geo)}


def _schema(section: str) -> Mapping[str, Any]:
    schema = sections.SECTIONS.get(section)
    if schema is None:
        raise NotFound(f"no configuration section '{section}'; known: {', '.join(sorted(sections.SECTIONS))}")
    return schema


def get_config(account_id: str) -> Dict[str, Any]:
    from chalicelib.admin import schemas

    stored = accounts.load(account_id).config or {}
    return {"sections": {name: secrets.mask(stored.get(name)) for name in sorted(sections.SECTIONS)},
            # What the dashboard draws its forms from: each section's schema, and the bodies
            # of the tracking rules (PUT /rules) and geo rules (PUT /geo).
            "schemas": {name: sections.SECTIONS[name] for name in sorted(sections.SECTIONS)},
            "resources": {"rules": schemas.RULES, "geo": schemas.GEO}}


def get_section(account_id: str, section: str) -> Dict[str, Any]:
    _schema(section)
    return {"section": section, "value": secrets.mask((accounts.load(account_id).config or {}).get(section))}


def outbound_urls(value: Any, path: str = "value") -> Iterator[Tuple[str, str]]:
    """(pointer, url) of every outbound target in a section: any string under a key named
    `url`, `endpoint` or ending in `_url` (webhooks, GA4, HubSpot, analytics, future ones)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key in ("url", "endpoint") or key.endswith("_url")):
                yield f"{path}/{key}", item
            else:
                yield from outbound_urls(item, f"{path}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from outbound_urls(item, f"{path}/{i}")


def check_targets(value: Any) -> None:
    """The outbound guard at save time: a 400 naming the field (integrations/outbound.py)."""
    for pointer, url in outbound_urls(value):
        try:
            outbound.check_target(url)
        except (outbound.UnsafeTarget, RetryableError) as err:
            raise ValidationFailed(f"{pointer}: {err}") from err


def put_section(account_id: str, section: str, value: Any) -> Dict[str, Any]:
    schema = _schema(section)
    check_targets(web.validate(value, schema, what="value") if not _has_masks(value) else value)
    if section == "call_rules":
        from chalicelib.intelligence import rules

        try:
            rules.check(value)
        except rules.RuleError as err:
            raise ValidationFailed(f"value: {err}") from err

    def mutate(item: Account) -> None:
        current = (item.config or {}).get(section)
        if section == "cookie_domain" and value not in (None, "host") and not any(
                account_cache.on_domain(value, d.lower().removeprefix("www.")) for d in item.domains or []):
            raise ValidationFailed(f"value: '{value}' is not one of the account's domains or under one "
                                   f"({', '.join(item.domains or []) or 'none listed'}); \"host\" keeps the cookie "
                                   "on the page's own host")
        item.config = {**(item.config or {}), section: web.validate(secrets.keep_stored(value, current), schema,
                                                                    what="value")}

    return {"section": section, "value": secrets.mask(accounts.update(account_id, mutate).config.get(section))}


def _has_masks(value: Any) -> bool:
    """A value the dashboard sent back with masked secrets (validated once they are restored)."""
    if isinstance(value, dict):
        return any(_has_masks(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_masks(v) for v in value)
    return isinstance(value, str) and value.startswith(secrets.MASK)


def delete_section(account_id: str, section: str) -> Dict[str, Any]:
    _schema(section)

    def mutate(item: Account) -> None:
        item.config = {k: v for k, v in (item.config or {}).items() if k != section}

    accounts.update(account_id, mutate)
    return {"section": section, "value": None}
