"""JSON Schemas of the admin API's request bodies (the OpenAPI document mirrors them)."""
from __future__ import annotations

from typing import Any, Dict

from chalicelib.dni.rules import RULE_SCHEMA
from chalicelib.settings import SETTINGS_SCHEMA

E164 = {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"}
POOL_ID = {"type": "string", "pattern": "^[a-z0-9_-]{1,32}$"}
ACCOUNT_ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{2,39}$"}
COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$"}
HOSTNAME = {"type": "string", "minLength": 1, "maxLength": 253,
            "pattern": "^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$"}
LABEL = {"type": "string", "maxLength": 64}
MAX_RULES = 100
MAX_BULK_NUMBERS = 100

CREATE_ACCOUNT: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["name", "domains", "default_number"],
    "properties": {
        "account_id": ACCOUNT_ID,
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "domains": {"type": "array", "minItems": 1, "maxItems": 50, "uniqueItems": True, "items": HOSTNAME},
        "default_number": E164,
        "settings": SETTINGS_SCHEMA,
        "key_label": LABEL,
    },
}

UPDATE_ACCOUNT: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {k: CREATE_ACCOUNT["properties"][k] for k in ("name", "domains", "default_number")},
}

CREATE_KEY: Dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {"label": LABEL}}

ADD_NUMBER: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["number", "kind"],
    "properties": {
        "number": E164,
        "kind": {"enum": ["pool", "static", "default"]},
        "pool_id": POOL_ID,
        "source": {"type": "string", "minLength": 1, "maxLength": 100},
        "country": COUNTRY,
    },
    "allOf": [
        {"if": {"properties": {"kind": {"const": "pool"}}},
         "then": {"required": ["pool_id"], "not": {"required": ["source"]}},
         "else": {"not": {"required": ["pool_id"]}}},
    ],
}

ADD_POOL_NUMBERS: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["numbers"],
    "properties": {
        "numbers": {"type": "array", "minItems": 1, "maxItems": MAX_BULK_NUMBERS, "uniqueItems": True, "items": E164},
        "country": COUNTRY,
    },
}

UPDATE_NUMBER: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {
        "enabled": {"type": "boolean"},
        "source": {"type": ["string", "null"], "minLength": 1, "maxLength": 100},
        "country": {"type": ["string", "null"], "pattern": "^[A-Z]{2}$"},
    },
}

RULES: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["rules"],
    "properties": {"rules": {"type": "array", "maxItems": MAX_RULES, "items": RULE_SCHEMA}},
}

GEO_RULE: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["country"],
    "properties": {"country": COUNTRY, "pool": POOL_ID, "number": E164, "fallback": E164},
    "oneOf": [{"required": ["pool"]}, {"required": ["number"]}],
}

GEO: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["geo"],
    "properties": {"geo": {"type": "array", "maxItems": 250, "items": GEO_RULE}},
}

SECTION_VALUE: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["value"], "properties": {"value": {}},
}

VONAGE_SEARCH_QUERY: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["country"],
    "properties": {
        "country": COUNTRY,
        "pattern": {"type": "string", "pattern": "^[0-9]{1,10}$"},
        "type": {"enum": ["landline", "mobile-lvn", "landline-toll-free"]},
        "size": {"type": "string", "pattern": "^([1-9]|[1-9][0-9]|100)$"},
    },
}

BUY_NUMBER: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["number", "country"],
    "properties": {
        "number": E164, "country": COUNTRY,
        "kind": {"enum": ["pool", "static"]}, "pool_id": POOL_ID,
        "source": {"type": "string", "minLength": 1, "maxLength": 100},
    },
    "allOf": [
        {"if": {"properties": {"kind": {"const": "static"}}, "required": ["kind"]},
         "then": {"required": ["source"], "not": {"required": ["pool_id"]}},
         "else": {"required": ["pool_id"], "not": {"required": ["source"]}}},
    ],
}
