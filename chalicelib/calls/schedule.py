"""The sweeper's schedule: every 5 minutes, settle the calls whose last webhook never came
(calls/sweeper.py, loaded when the schedule first fires, not when the app is imported)."""
from __future__ import annotations

from typing import Any, Dict

from chalice import Blueprint, Rate

from chalicelib.lazy import lazy

sweeper = lazy("chalicelib.calls.sweeper")
bp = Blueprint(__name__)


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def settle_overdue_calls(event: Any) -> Dict[str, int]:
    return sweeper.sweep(clock=sweeper.clock)
