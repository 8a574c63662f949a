"""Keep it deployable: `chalice package` + infra/ gives a template cfn-lint accepts,
and the tables in infra/ are exactly the ones the models use."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import streams

ROOT = Path(__file__).resolve().parents[2]


def test_infra_tables_match_the_models():
    generated = subprocess.run([sys.executable, "scripts/gen_tables.py"], cwd=ROOT, check=True,
                               capture_output=True, text=True, env={**os.environ, "CALLTRACK_STAGE": "prod"}).stdout
    committed = (ROOT / "infra" / "tables.json").read_text()
    assert json.loads(committed) == json.loads(generated), \
        "infra/tables.json is stale: run .venv/bin/python scripts/gen_tables.py > infra/tables.json"


@pytest.mark.slow
def test_chalice_package_with_infra_passes_cfn_lint(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "VENV": str(Path(sys.executable).parent.parent)}
    run = subprocess.run(["bash", "scripts/package.sh", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    template = json.loads((out / "sam.json").read_text())
    resources = template["Resources"]
    tables = {r["Properties"]["TableName"] for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"}
    assert {"calltrack-accounts", "calltrack-numbers", "calltrack-leases", "calltrack-sessions"} <= tables
    for table in (r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"):
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    api = resources["APIHandler"]["Properties"]
    assert api["Environment"]["Variables"]["CALLTRACK_STAGE"] == "prod"
    assert "CALLTRACK_AWS_ENDPOINT" not in api["Environment"]["Variables"], "prod must talk to real AWS"
    # The stream consumers read the tables' real streams, report partial failures, bisect,
    # and hand what keeps failing to an on-failure queue.
    # Two consumers per stream: roll-ups (batched) and the outbox (events, no batching window).
    consumers = (("StreamSessions", "SessionsTable"), ("StreamCalls", "CallsTable"),
                 ("OutboxSessions", "SessionsTable"), ("OutboxCalls", "CallsTable"))
    for function, table in consumers:
        assert resources[table]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        (source,) = resources[function]["Properties"]["Events"].values()
        props = source["Properties"]
        assert source["Type"] == "DynamoDB" and props["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and props["BisectBatchOnFunctionError"]
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamDeadLetterQueue",
                                                                                         "Arn"]}
        assert {"Ref": f"{function}Role"} in resources["StreamReadPolicy"]["Properties"]["Roles"]
        assert props["MaximumRetryAttempts"] == streams.LOCAL_RETRIES   # the local poller retries alike
    assert resources["StreamDeadLetterQueue"]["Properties"]["QueueName"] == streams.STREAM_DLQ
    assert resources["OutboxCalls"]["Properties"]["Events"]["OutboxCallsDynamodbEventSource"]["Properties"][
        "MaximumBatchingWindowInSeconds"] == 0
    assert "ParkedEventsTable" not in resources      # the streams are the outbox
    assert "calltrack-webhook_tokens" in tables     # the replay guard of signed Vonage webhooks
    # Errors API Gateway answers itself keep the API's {error, message} shape.
    unknown = resources["UnknownRouteResponse"]["Properties"]
    assert (unknown["ResponseType"], unknown["StatusCode"]) == ("MISSING_AUTHENTICATION_TOKEN", "404")
    assert unknown["RestApiId"] == {"Ref": "RestAPI"}
    for name in ("UnknownRouteResponse", "Default4xxResponse", "Default5xxResponse"):
        template_text = resources[name]["Properties"]["ResponseTemplates"]["application/json"]
        assert '"error"' in template_text and '"message"' in template_text
    # Runtime dependencies only: the Chalice CLI's own (pip, setuptools, inquirer) stay out.
    import zipfile

    names = {n.split("/", 1)[0] for n in zipfile.ZipFile(out / "deployment.zip").namelist()}
    assert {"chalicelib", "pynamodb", "aws_lambda_powertools"} <= names
    assert not names & {"pip", "setuptools", "inquirer", "click"}, names & {"pip", "setuptools", "inquirer", "click"}
