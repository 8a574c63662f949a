"""Merge every CloudFormation fragment in infra/ into one template for
`chalice package --merge-template` (Chalice takes a single file).

Sections (Resources, Outputs, Parameters, Conditions, Mappings) are deep-merged; a
logical id defined by two fragments is an error, except where a fragment only adds
properties to a resource Chalice generates (those fragments nest under the same id).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict

SECTIONS = ("Parameters", "Conditions", "Mappings", "Resources", "Outputs")


def deep_merge(into: Dict[str, Any], extra: Dict[str, Any], path: str) -> None:
    for key, value in extra.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            deep_merge(into[key], value, f"{path}.{key}")
        elif key in into and into[key] != value:
            raise SystemExit(f"infra: {path}.{key} is defined twice with different values")
        else:
            into[key] = value


def merge(folder: Path) -> Dict[str, Any]:
    merged: Dict[str, Any] = {}
    for fragment in sorted(folder.glob("*.json")):
        document = json.loads(fragment.read_text())
        for section in SECTIONS:
            if section in document:
                deep_merge(merged.setdefault(section, {}), document[section], f"{fragment.name}:{section}")
    return merged


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    json.dump(merge(root / "infra"), sys.stdout, indent=2)
