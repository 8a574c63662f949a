"""JSON Schemas owned by reports: the `tag_categories` config section and the manual
tag request. Kept free of imports so `chalicelib.sections` can load it cheaply."""
from __future__ import annotations

from typing import Any, Dict

# The account's tag categories. `code` is what the agent keys in on the post-call voice
# menu; `values` (optional) restricts the labels a tag of that category may carry;
# `default_value` is the nominal value a call gets when tagged without one.
TAG_CATEGORIES_SCHEMA: Dict[str, Any] = {
    "type": "array",
    "maxItems": 50,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 40},
            "code": {"type": "string", "pattern": "^[0-9]{1,4}$"},
            "values": {
                "type": "array", "maxItems": 50, "uniqueItems": True,
                "items": {"type": "string", "minLength": 1, "maxLength": 40},
            },
            "default_value": {"type": "number", "minimum": 0},
        },
    },
}

# PUT /v1/accounts/{account_id}/calls/{call_id}/tags
TAGS_REQUEST: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["tags"],
    "properties": {
        "tags": {
            "type": "array", "maxItems": 20,
            "items": {
                "type": "object", "additionalProperties": False, "required": ["category"],
                "properties": {
                    "category": {"type": "string", "minLength": 1, "maxLength": 40},
                    "value": {"type": ["string", "null"], "maxLength": 40},
                },
            },
        },
        "value": {"type": ["number", "null"], "minimum": 0, "maximum": 1e12},
    },
}
