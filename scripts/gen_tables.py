"""Write infra/tables.json: the DynamoDB tables as CloudFormation, from the PynamoDB models.

The models are the one source of truth for keys, indexes and TTL; a test fails when the
committed file differs from what this prints. Run after changing a model:
    .venv/bin/python scripts/gen_tables.py > infra/tables.json
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Type

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CALLTRACK_STAGE", "prod")
os.environ["CALLTRACK_TABLE_PREFIX"] = "calltrack-"

from pynamodb.attributes import TTLAttribute  # noqa: E402
from pynamodb.models import Model  # noqa: E402

import chalicelib.all_models  # noqa: E402,F401
from chalicelib.db import MODELS  # noqa: E402

TYPES = {"S": "S", "N": "N", "B": "B"}


def logical_id(model: Type[Model]) -> str:
    short = model.Meta.table_name.removeprefix("calltrack-")
    return "".join(part.capitalize() for part in short.replace("-", "_").split("_")) + "Table"


def keys(schema: List[Dict[str, str]]) -> List[Dict[str, str]]:
    """CloudFormation wants HASH before RANGE."""
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
            for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH")]


def table(model: Type[Model]) -> Dict[str, Any]:
    schema = model._get_schema()
    props: Dict[str, Any] = {
        "TableName": model.Meta.table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(
            ({"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
             for a in schema["attribute_definitions"]), key=lambda a: a["AttributeName"]),
        "KeySchema": keys(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    gsis: List[Dict[str, Any]] = [
        {"IndexName": g["index_name"], "KeySchema": keys(g["key_schema"]), "Projection": g["projection"]}
        for g in schema.get("global_secondary_indexes", [])
    ]
    if gsis:
        props["GlobalSecondaryIndexes"] = sorted(gsis, key=lambda g: g["IndexName"])
    lsis: List[Dict[str, Any]] = [
        {"IndexName": i["index_name"], "KeySchema": keys(i["key_schema"]), "Projection": i["projection"]}
        for i in schema.get("local_secondary_indexes", [])
    ]
    if lsis:
        props["LocalSecondaryIndexes"] = sorted(lsis, key=lambda i: i["IndexName"])
    if getattr(model.Meta, "stream_view_type", None):
        props["StreamSpecification"] = {"StreamViewType": model.Meta.stream_view_type}
    ttl = [name for name, attr in model.get_attributes().items() if isinstance(attr, TTLAttribute)]
    if ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": model.get_attributes()[ttl[0]].attr_name, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": props}


def template() -> Dict[str, Any]:
    resources = {logical_id(m): table(m) for m in sorted(MODELS, key=lambda m: m.Meta.table_name)}
    return {"Resources": resources}


if __name__ == "__main__":
    print(json.dumps(template(), indent=2))
