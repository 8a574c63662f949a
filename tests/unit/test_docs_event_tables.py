"""docs/events.md lists every field each event's schema has, no more, no less."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.integrations import events

DOC = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()


def documented_fields(detail_type: str) -> dict:
    """field → whether the table says it is required."""
    section = DOC.split(f"### `{detail_type}`", 1)[1].split("\n### ", 1)[0]
    table = section.split("| field | type | required |", 1)[1].split("\n\n", 1)[0]
    return {name: required.strip() == "yes"
            for name, required in re.findall(r"^\| `([a-z_]+)` \|.*\|([^|]*)\|$", table, flags=re.M)}


@pytest.mark.parametrize("detail_type", sorted(events.DETAIL_TYPES))
def test_each_event_table_matches_its_schema(detail_type):
    schema = events.schema(detail_type)
    required = set(schema.get("required", ()))
    assert documented_fields(detail_type) == {name: name in required for name in schema["properties"]}
