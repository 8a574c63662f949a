"""`calltrack dlq`: inspect and replay a consumer's dead-letter queue.

    calltrack dlq list                      # messages waiting in each consumer's DLQ
    calltrack dlq replay --consumer ga4     # move them back to the consumer's queue

Replay re-sends each message body unchanged (same EventBridge event id) to the consumer's
queue and deletes it from the DLQ only after the send succeeded, so a message is never lost
in between; the consumer's idempotency makes anything already delivered a no-op.
Talks to AWS (or the emulator on the local stage) with the environment's credentials.
"""
from __future__ import annotations

import argparse
from typing import Any, Optional

from chalicelib import aws
from chalicelib.integrations import registry
from chalicelib.integrations.consumers import queue_url


def depth(queue_name: str, sqs: Any = None) -> int:
    sqs = sqs or aws.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url(queue_name),
                                     AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0))


def replay(consumer_name: str, limit: Optional[int] = None, sqs: Any = None) -> int:
    """Move up to `limit` (default: all) messages from the consumer's DLQ back to its queue."""
    consumer = registry.get(consumer_name)
    sqs = sqs or aws.client("sqs")
    source, target = queue_url(consumer.dlq), queue_url(consumer.queue)
    moved = 0
    while limit is None or moved < limit:
        batch = min(10, limit - moved) if limit is not None else 10
        messages = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=batch, WaitTimeSeconds=0,
                                       VisibilityTimeout=30, MessageAttributeNames=["All"]).get("Messages") or []
        if not messages:
            break
        for message in messages:
            sqs.send_message(QueueUrl=target, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def _list(args: argparse.Namespace) -> int:
    for consumer in registry.CONSUMERS.values():
        print(f"{consumer.name:12} {consumer.dlq:32} {depth(consumer.dlq)}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    moved = replay(args.consumer, args.limit)
    print(f"{moved} message(s) moved from {registry.get(args.consumer).dlq} back to {registry.get(args.consumer).queue}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dlq", help="inspect and replay consumer dead-letter queues")
    sub = parser.add_subparsers(dest="dlq_command", required=True)
    sub.add_parser("list", help="messages waiting in each DLQ").set_defaults(func=_list)
    rep = sub.add_parser("replay", help="move a consumer's DLQ messages back to its queue")
    rep.add_argument("--consumer", required=True, choices=sorted(registry.CONSUMERS))
    rep.add_argument("--limit", type=int, default=None, help="at most this many messages")
    rep.set_defaults(func=_replay)
