"""Named traffic scenarios for `calltrack simulate --scenario` and `make bench`.

A scenario is a set of TrafficModel overrides (chalicelib/sim/traffic.py). The presets
below are harder than the default model in one respect each, and `hard` combines them;
none is fitted to a result. One's own scenario is a JSON file of the same shape:

    {"description": "our spring campaign",
     "traffic": {"visits_per_day": 3000, "bursts_per_day": 3, "burst_factor": 8},
     "settings": {"idle_seconds": 900}}

`traffic` names TrafficModel fields, `settings` lease settings (chalicelib.settings.Settings);
both are optional, and an unknown name is an error.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict

from chalicelib.errors import ValidationFailed


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    traffic: Dict[str, float] = field(default_factory=dict)
    settings: Dict[str, Any] = field(default_factory=dict)


BURSTS = {"bursts_per_day": 2.0, "burst_factor": 5.0, "burst_minutes": 30.0}
CLICK_TO_CALL = {"mobile_share": 0.55, "mobile_call_factor": 2.0}
LEFT_OPEN = {"background_share": 0.12, "background_median_s": 7200.0, "background_sigma": 1.2}
RETURNING = {"return_share": 0.25, "return_gap_mean_s": 10800.0, "weekend_factor": 0.6}
LATE_CALLERS = {"during_share": 0.5, "soon_share": 0.3, "long_late_share": 0.6, "repeat_share": 0.15}

PRESETS: Dict[str, Scenario] = {s.name: s for s in (
    Scenario("default", "the simulator's default model (docs/accuracy.md)"),
    Scenario("bursts", "advertising bursts: twice a day, 30 minutes at 5x the hour's traffic", BURSTS),
    Scenario("click-to-call", "55% phones, which call twice as often as desktops (the tap ends the visit)",
             CLICK_TO_CALL),
    Scenario("left-open", "12% of desktop tabs stay visible for hours (median 2 h)", LEFT_OPEN),
    Scenario("late-callers", "20% of calls later than 10 min, most 1-72 h; 15% of callers call again",
             LATE_CALLERS),
    Scenario("hard", "all of the above, plus returning visitors and quiet weekends",
             {**BURSTS, **CLICK_TO_CALL, **LEFT_OPEN, **RETURNING, **LATE_CALLERS}),
)}

FILE_KEYS = {"description", "traffic", "settings"}


def load(name_or_path: str) -> Scenario:
    """A preset by name, or a scenario file (JSON, the shape in this module's docstring)."""
    if name_or_path in PRESETS:
        return PRESETS[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ValidationFailed(f"unknown scenario '{name_or_path}': a preset ({', '.join(PRESETS)}) "
                               f"or a JSON file")
    try:
        raw = json.loads(path.read_text())
    except ValueError as err:
        raise ValidationFailed(f"{path}: not JSON ({err})") from err
    if not isinstance(raw, dict) or set(raw) - FILE_KEYS:
        raise ValidationFailed(f"{path}: a scenario is an object with {', '.join(sorted(FILE_KEYS))}")
    traffic, settings = raw.get("traffic") or {}, raw.get("settings") or {}
    if not isinstance(traffic, dict) or not isinstance(settings, dict):
        raise ValidationFailed(f"{path}: traffic and settings are objects")
    try:
        numbers = {k: float(v) for k, v in traffic.items()}
    except (TypeError, ValueError) as err:
        raise ValidationFailed(f"{path}: traffic values are numbers ({err})") from err
    return Scenario(path.stem, str(raw.get("description") or path.stem), numbers, dict(settings))
