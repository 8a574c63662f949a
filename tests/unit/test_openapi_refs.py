"""Every `$ref` in openapi.yaml resolves inside the document (schemas with local `$defs`,
like the conversation rules', are hoisted to components)."""
from __future__ import annotations

from pathlib import Path

import yaml

DOC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())


def _refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                out.append(v)
            else:
                _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)
    return out


def test_every_reference_resolves() -> None:
    refs = _refs(DOC, [])
    assert "#/components/schemas/CallRuleCondition" in refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node = DOC
        for part in ref[2:].split("/"):
            node = node[part]
        assert isinstance(node, dict), ref
