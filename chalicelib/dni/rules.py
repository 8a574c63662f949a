"""Tracking rules: which number (static) or pool (dynamic) a visit gets.

Precedence (docs/leases.md): landing-page parameter > specific referrer > referrer group >
static source > the account's pool. Within one kind, the account's order decides.
A country with a geo rule of its own overrides source rules: a German visitor must
see a German number, whatever the ad that brought them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional

from chalicelib.dni.sources import Visit, host_of

PRECEDENCE = ("param", "referrer", "group", "source")


@dataclass(frozen=True)
class Plan:
    """What to show: lease from `pool_id`, else `number` (static), else the default."""
    method: str                      # dynamic | static | default
    pool_id: Optional[str] = None
    number: Optional[str] = None     # static number, or the fallback when the pool is exhausted
    rule_id: Optional[str] = None

    @property
    def fallback_method(self) -> str:
        return "static" if self.number else "default"


def _kind(rule: Mapping[str, Any]) -> str:
    match = rule.get("match", {})
    return next((k for k in PRECEDENCE if k in match), "source")


def _matches(rule: Mapping[str, Any], visit: Visit) -> bool:
    match = rule.get("match", {})
    if "param" in match:
        want = match["param"]
        have = visit.params.get(str(want.get("name", "")).lower())
        return have is not None and ("value" not in want or have.lower() == str(want["value"]).lower())
    if "referrer" in match:
        host, want = visit.referrer_host or "", host_of("//" + str(match["referrer"])) or ""
        return bool(host) and (host == want or host.endswith("." + want))
    if "group" in match:
        return visit.group == match["group"]
    if "source" in match:
        ok = visit.source == str(match["source"]).lower()
        return ok and ("medium" not in match or visit.medium == str(match["medium"]).lower())
    return False


def ordered(rules: Iterable[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    return sorted(rules, key=lambda r: PRECEDENCE.index(_kind(r)))  # stable: keeps account order


def _plan_for(target: Mapping[str, Any], rule_id: Optional[str], fallback: Optional[str]) -> Plan:
    if target.get("pool"):
        return Plan("dynamic", pool_id=target["pool"], number=target.get("fallback") or fallback, rule_id=rule_id)
    if target.get("number"):
        return Plan("static", number=target["number"], rule_id=rule_id)
    return Plan("default", rule_id=rule_id)


def static_number_for(rules: Iterable[Mapping[str, Any]], visit: Visit) -> Optional[str]:
    """The static number of the visit's source: the fallback when its pool is exhausted."""
    for rule in ordered(rules):
        if rule.get("number") and _matches(rule, visit):
            return rule["number"]
    return None


def decide(visit: Visit, rules: Iterable[Mapping[str, Any]], default_pool: Optional[str],
           geo: Optional[Dict[str, Any]] = None) -> Plan:
    """The plan for one visit. `rules` items: {"id", "match": {...}, "pool"|"number", "fallback"?}."""
    rules = list(rules)
    fallback = static_number_for(rules, visit)
    if geo:
        return _plan_for(geo, f"geo:{geo.get('country')}", geo.get("fallback"))
    for rule in ordered(rules):
        if _matches(rule, visit):
            return _plan_for(rule, rule.get("id"), fallback)
    if default_pool:
        return Plan("dynamic", pool_id=default_pool, number=fallback)
    return Plan("default")


RULE_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "required": ["match"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "maxLength": 64},
        "match": {
            "type": "object", "minProperties": 1, "maxProperties": 2, "additionalProperties": False,
            "properties": {
                "param": {
                    "type": "object", "required": ["name"], "additionalProperties": False,
                    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 64},
                                   "value": {"type": "string", "maxLength": 256}},
                },
                "referrer": {"type": "string", "minLength": 1, "maxLength": 253},
                "group": {"enum": ["organic", "social", "referral", "direct", "paid", "paid_social",
                                   "email", "display", "affiliate", "sms", "offline", "video", "other"]},
                "source": {"type": "string", "minLength": 1, "maxLength": 100},
                "medium": {"type": "string", "minLength": 1, "maxLength": 100},
            },
        },
        "pool": {"type": "string", "pattern": "^[a-z0-9_-]{1,32}$"},
        "number": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"},
        "fallback": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"},
    },
    "oneOf": [{"required": ["pool"]}, {"required": ["number"]}],
}
