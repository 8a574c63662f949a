"""The bus, its rules and the consumer queues, from one definition (registry.CONSUMERS).

- `cloudformation()` is the `infra/events.json` fragment `scripts/package.sh` merges into the
  template `chalice package` writes: the custom bus, per consumer a DLQ (and an alarm when
  it is not empty), a queue with a RedrivePolicy, a queue policy letting the rule's
  EventBridge send, the rule, and
  `FunctionResponseTypes: [ReportBatchItemFailures]` merged onto Chalice's generated SQS
  event source (`ConsumeGa4` → `ConsumeGa4SqsEventSource`).
- `bootstrap()` creates the same things on the emulator, idempotently (`make run`, tests).

`python -m chalicelib.integrations.bus --write-infra` rewrites infra/events.json;
`python -m chalicelib.integrations.bus` bootstraps the emulator named by the environment.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

from chalicelib import aws, config
from chalicelib.integrations import registry
from chalicelib.integrations.registry import Consumer

INFRA_FILE = Path(__file__).resolve().parents[2] / "infra" / "events.json"
DLQ_RETENTION_SECONDS = 14 * 86400


def cfn_name(name: str) -> str:
    """Chalice's to_cfn_resource_name: `consume_ga4` → `ConsumeGa4`."""
    return "".join(p[:1].upper() + p[1:] for p in name.replace("-", "_").split("_") if p)


def cloudformation(consumers: Iterable[Consumer] = ()) -> Dict[str, Any]:
    consumers = list(consumers) or list(registry.CONSUMERS.values())
    resources: Dict[str, Any] = {
        "CalltrackEventBus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": config.event_bus_name()}},
    }
    for c in consumers:
        base = cfn_name(c.name)
        fn = cfn_name(c.lambda_name)
        resources[f"{base}DeadLetterQueue"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": c.dlq, "MessageRetentionPeriod": DLQ_RETENTION_SECONDS},
        }
        resources[f"{base}Queue"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": c.queue, "VisibilityTimeout": c.visibility_timeout,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [f"{base}DeadLetterQueue", "Arn"]},
                                  "maxReceiveCount": c.max_receive_count},
            },
        }
        resources[f"{base}Rule"] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": c.rule, "Description": c.description or c.name,
                "EventBusName": {"Ref": "CalltrackEventBus"}, "State": "ENABLED",
                "EventPattern": c.event_pattern(),
                "Targets": [{"Id": f"{base}Queue", "Arn": {"Fn::GetAtt": [f"{base}Queue", "Arn"]}}],
            },
        }
        resources[f"{base}QueuePolicy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": f"{base}Queue"}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "EventBridgeRule", "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                    "Resource": {"Fn::GetAtt": [f"{base}Queue", "Arn"]},
                    "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [f"{base}Rule", "Arn"]}}},
                }]},
            },
        }
        resources[f"{base}DeadLetterAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": f"{c.dlq}-not-empty",
                "AlarmDescription": f"{c.name}: events in the DLQ; fix the cause, then `calltrack dlq replay "
                                    f"--consumer {c.name}`",
                "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [f"{base}DeadLetterQueue", "QueueName"]}}],
                "Statistic": "Maximum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            },
        }
        # Merged onto the function `chalice package` generates for @bp.on_sqs_message(name=...).
        resources[fn] = {
            "DependsOn": [f"{base}Queue"],
            "Properties": {"Events": {f"{fn}SqsEventSource": {
                "Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}}},
        }
    outputs = {"CalltrackEventBusArn": {"Value": {"Fn::GetAtt": ["CalltrackEventBus", "Arn"]}}}
    return {"Resources": resources, "Outputs": outputs}


def write_infra(path: Path = INFRA_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cloudformation(), indent=2) + "\n")
    return path


def bootstrap(max_receive_count: Optional[int] = None, visibility_timeout: Optional[int] = None,
              events_client: Any = None, sqs_client: Any = None) -> Dict[str, Dict[str, str]]:
    """Create (or update) the bus, queues, DLQs, rules and targets; returns queue URLs by consumer.
    Tests pass a small `max_receive_count` and a short `visibility_timeout`."""
    events = events_client or aws.client("events")
    sqs = sqs_client or aws.client("sqs")
    bus = config.event_bus_name()
    try:
        events.create_event_bus(Name=bus)
    except events.exceptions.ResourceAlreadyExistsException:
        pass
    out = {}
    for c in registry.CONSUMERS.values():
        dlq_url = sqs.create_queue(QueueName=c.dlq)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(QueueName=c.queue)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count or c.max_receive_count}
        rule_arn = events.put_rule(Name=c.rule, EventBusName=bus, EventPattern=json.dumps(c.event_pattern()),
                                   State="ENABLED", Description=c.description or c.name)["RuleArn"]
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "EventBridgeRule", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]}
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={
            "RedrivePolicy": json.dumps(redrive), "Policy": json.dumps(policy),
            "VisibilityTimeout": str(c.visibility_timeout if visibility_timeout is None else visibility_timeout),
        })
        events.put_targets(Rule=c.rule, EventBusName=bus, Targets=[{"Id": f"{cfn_name(c.name)}Queue", "Arn": queue_arn}])
        out[c.name] = {"queue": queue_url, "dlq": dlq_url}
    return out


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-infra", action="store_true", help="rewrite infra/events.json and exit")
    args = parser.parse_args(argv)
    if args.write_infra:
        print(write_infra())
        return 0
    for name, urls in bootstrap().items():
        print(f"{name}: {urls['queue']} (DLQ {urls['dlq']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
