"""Per-account settings: defaults, and the typed view the code reads.

Stored as a map on the account; anything missing falls back to the default here,
so adding a setting never needs a data migration.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Mapping

DEFAULT_WORKING_HOURS: Dict[str, List[str]] = {
    day: ["09:00", "18:00"] for day in ("mon", "tue", "wed", "thu", "fri")
}


@dataclass(frozen=True)
class Settings:
    # Classification (docs/architecture.md, "Concepts"): talk seconds that make a target call; sales cycle.
    target_seconds: int = 30
    sales_cycle_days: int = 7
    # Working hours in the account's timezone; a day absent is closed.
    timezone: str = "UTC"
    working_hours: Dict[str, List[str]] = field(default_factory=lambda: dict(DEFAULT_WORKING_HOURS))
    # A caller who hangs up within this many seconds of the greeting "abandoned in greeting".
    greeting_seconds: int = 10
    retention_days: int = 90
    # Leases: the snippet beats every heartbeat_seconds; a lease lives lease_ttl_seconds
    # after the last beat (the visitor may have switched to the phone app to call).
    heartbeat_seconds: int = 60
    # A visible tab with no input (pointer, key, scroll, touch) for this long stops
    # beating, so a left-open tab gives its number back after the hold; the next input
    # resumes the session (or leases again). 0: beat while visible, however idle.
    # 30 min: the simulator's measure (docs/accuracy.md, "Idle tabs").
    idle_seconds: int = 1800
    lease_ttl_seconds: int = 300
    # A released number rests this long before another visitor gets it. "soft": under
    # pool pressure a resting number is reused before a visitor is refused; "hard": never.
    cooldown_seconds: int = 600
    cooldown_mode: str = "soft"
    # Attribution: a call up to grace_seconds after a lease ended still matches it.
    # 20 min, not 30: in the simulator (docs/accuracy.md) calls 20-30 min after a lease
    # ended were more often late calls from an earlier holder than from that visitor,
    # so the longer window added more wrong answers than right ones.
    grace_seconds: int = 1200
    # A caller who phoned a pool number before goes to the session of that earlier call
    # for this many days, whoever holds the number now (0: off). 30 days: ASSUMPTION, a
    # month of repeat calls about the same enquiry; bounded by retention_days.
    repeat_caller_days: int = 30
    # New leases per client IP per hour; 0 switches the limit off.
    ip_lease_limit: int = 0
    default_value: float = 0.0
    currency: str = "USD"
    # Caller numbers to partners: "hash" (default) or "plain" (account opted in).
    pii_policy: str = "hash"

    @classmethod
    def from_map(cls, raw: Mapping[str, Any] | None) -> "Settings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (raw or {}).items() if k in known})

    def as_dict(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SETTINGS_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "target_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "sales_cycle_days": {"type": "integer", "minimum": 0, "maximum": 3650},
        "timezone": {"type": "string", "minLength": 1, "maxLength": 64},
        "working_hours": {
            "type": "object",
            "propertyNames": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
            "additionalProperties": {
                "type": "array", "minItems": 2, "maxItems": 2,
                "items": {"type": "string", "pattern": "^([01][0-9]|2[0-4]):[0-5][0-9]$"},
            },
        },
        "greeting_seconds": {"type": "integer", "minimum": 0, "maximum": 120},
        "retention_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        "heartbeat_seconds": {"type": "integer", "minimum": 5, "maximum": 3600},
        "idle_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "lease_ttl_seconds": {"type": "integer", "minimum": 10, "maximum": 86400},
        "cooldown_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "cooldown_mode": {"enum": ["soft", "hard"]},
        "grace_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "repeat_caller_days": {"type": "integer", "minimum": 0, "maximum": 365},
        "ip_lease_limit": {"type": "integer", "minimum": 0, "maximum": 100000},
        "default_value": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "pii_policy": {"enum": ["hash", "plain"]},
    },
}
