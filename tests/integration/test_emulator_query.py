"""The emulator's Query reads one partition (scripts/emulator.py `partition_query`), not the
whole sorted table as moto does: the answers must be DynamoDB's all the same, on the table
and on an index, in both directions, with conditions, filters and pages."""
from __future__ import annotations

import uuid
from typing import Any, Dict, List

import boto3
import pytest


@pytest.fixture()
def table(moto_endpoint: str) -> Any:
    name = "emulator-query-" + uuid.uuid4().hex[:8]
    ddb = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    t = ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                                       {"AttributeName": "sk", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    with t.batch_writer() as w:
        for p in range(6):
            for s in range(40):
                w.put_item(Item={"pk": f"p{p}", "sk": f"{(s * 7) % 40:03d}", "g": f"g{(p + s) % 3}", "n": s})
    yield t
    t.delete()


def _all(table: Any, **kw: Any) -> List[Dict[str, Any]]:
    items, start = [], None
    while True:
        page = table.query(**kw, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def test_partition_queries_answer_as_dynamodb(table: Any) -> None:
    from boto3.dynamodb.conditions import Attr, Key

    got = _all(table, KeyConditionExpression=Key("pk").eq("p2"), Limit=7)
    assert [i["sk"] for i in got] == [f"{s:03d}" for s in range(40)]
    assert {i["pk"] for i in got} == {"p2"}

    got = _all(table, KeyConditionExpression=Key("pk").eq("p4") & Key("sk").between("010", "019"),
               ScanIndexForward=False, Limit=3)
    assert [i["sk"] for i in got] == [f"{s:03d}" for s in range(19, 9, -1)]

    got = _all(table, KeyConditionExpression=Key("pk").eq("p1") & Key("sk").begins_with("02"),
               FilterExpression=Attr("n").gt(20))
    assert all(i["n"] > 20 and i["sk"].startswith("02") and i["pk"] == "p1" for i in got) and got

    assert _all(table, KeyConditionExpression=Key("pk").eq("nobody")) == []


def test_index_queries_still_see_every_partition(table: Any) -> None:
    from boto3.dynamodb.conditions import Key

    got = _all(table, IndexName="by-g", KeyConditionExpression=Key("g").eq("g0"), Limit=11)
    expected = sorted(((f"p{p}", f"{(s * 7) % 40:03d}") for p in range(6) for s in range(40) if (p + s) % 3 == 0),
                      key=lambda k: k[1])
    assert sorted((i["pk"], i["sk"]) for i in got) == sorted(expected)
    assert [i["sk"] for i in got] == sorted(i["sk"] for i in got)
    assert len(got) == 80


def test_the_emulator_the_tests_use_has_the_partition_query(moto_endpoint: str) -> None:
    from moto.dynamodb.models.table import Table

    assert hasattr(Table.query, "__wrapped__")
