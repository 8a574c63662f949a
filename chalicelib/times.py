"""Times, one way: written as UTC ISO 8601 with `Z`, read from ISO 8601 or epoch seconds.

A time written without an offset (`2026-11-26T10:00:00`) is UTC, never the machine's local
time: a Lambda runs in UTC but a laptop, a CI runner or a partner's export may not, and the
same call must land on the same instant everywhere. Every module that writes or reads a
time for the API, events or partners goes through here.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional


def iso(ts: Optional[float]) -> Optional[str]:
    """Epoch seconds → `2026-11-26T10:00:00Z` (whole seconds); None stays None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts), tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_ms(ts: float) -> str:
    """Epoch seconds → `2026-11-26T10:00:00.250Z` (milliseconds, truncated)."""
    at = datetime.fromtimestamp(float(ts), tz=timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S") + f".{int(float(ts) * 1000) % 1000:03d}Z"


def epoch(value: Any) -> Optional[float]:
    """ISO 8601 (with `Z`, an offset, or none: UTC) or epoch seconds → epoch seconds; None
    for an empty or unreadable value."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.timestamp()
    except (OverflowError, OSError):
        return None
