"""`calltrack dlq`: inspect and replay a consumer's dead-letter queue.

    calltrack dlq list                      # messages waiting in each consumer's DLQ
    calltrack dlq replay --consumer ga4     # move them back to the consumer's queue
    calltrack dlq replay --stream           # handle the stream batches that kept failing

The stream consumers' on-failure queue (`calltrack-stream-dlq`) holds pointers to batches,
not events: `--stream` reads those records back from the table's stream (which keeps them
24 h) and handles them again (chalicelib/streams.py `replay_dead_letters`); a batch older
than that is reported with the times to rebuild (`calltrack rollups rebuild`), and kept
unless `--drop-expired`.

Replay re-sends each message body unchanged (same EventBridge event id) to the consumer's
queue and deletes it from the DLQ only after the send succeeded, so a message is never lost
in between; the consumer's idempotency makes anything already delivered a no-op. One run
sends each event once: what fails again while it runs stays in the DLQ for the next run.
Talks to AWS (or the emulator on the local stage) with the environment's credentials.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Dict, List, Optional

from chalicelib import aws, config
from chalicelib.integrations import registry
from chalicelib.integrations.consumers import queue_url


HOLD_SECONDS = 900     # messages read stay invisible this long during a run (released at its end)


def depth(queue_name: str, sqs: Any = None) -> int:
    sqs = sqs or aws.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url(queue_name),
                                     AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0))


def _event_key(message: Dict[str, Any]) -> str:
    """The event a message carries (its EventBridge id), else the message itself."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        return message["MessageId"]
    return str(body.get("id") or message["MessageId"]) if isinstance(body, dict) else message["MessageId"]


def _sent_at(message: Dict[str, Any]) -> float:
    """When the message entered SQS (our resend, for a message that failed again meanwhile)."""
    try:
        return int((message.get("Attributes") or {})["SentTimestamp"]) / 1000.0
    except (KeyError, ValueError):
        return 0.0


def replay(consumer_name: str, limit: Optional[int] = None, sqs: Any = None) -> Dict[str, int]:
    """Send each event waiting in the consumer's DLQ back to its queue once.

    Messages are held invisible for the run while they are read; a message carrying an
    event this run already sent is not sent again — it failed again meanwhile (left in the
    DLQ, visible again at the end) or is a second copy (skipped, left too). Returns
    `{"sent", "failed_again", "skipped"}`; with `limit`, messages past it are left as they are."""
    consumer = registry.get(consumer_name)
    sqs = sqs or aws.client("sqs")
    source, target = queue_url(consumer.dlq), queue_url(consumer.queue)
    sent: Dict[str, str] = {}                 # event key → id of the message that carried it
    report = {"sent": 0, "failed_again": 0, "skipped": 0}
    held: List[str] = []                      # receipt handles to make visible again
    started = time.time() - 1.0               # (SQS stamps in milliseconds; a second of skew)
    while limit is None or report["sent"] < limit:
        messages = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=HOLD_SECONDS, MessageAttributeNames=["All"],
                                       AttributeNames=["SentTimestamp"]).get("Messages") or []
        if not messages:
            break
        for message in messages:
            key = _event_key(message)
            if limit is not None and report["sent"] >= limit and key not in sent:
                held.append(message["ReceiptHandle"])
            elif key in sent and _sent_at(message) < started:
                # A second copy that was there before the run (the event went once already):
                # left in the DLQ rather than deleted, since a clock skewed against SQS's
                # could make a message that failed again look older than the run.
                report["skipped"] += 1
                held.append(message["ReceiptHandle"])
            elif key in sent:
                report["failed_again"] += 1   # our own resend came back: not sent twice in one run
                held.append(message["ReceiptHandle"])
            else:
                sqs.send_message(QueueUrl=target, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
                sent[key] = message["MessageId"]
                report["sent"] += 1
    for handle in held:
        sqs.change_message_visibility(QueueUrl=source, ReceiptHandle=handle, VisibilityTimeout=0)
    return report


def _list(args: argparse.Namespace) -> int:
    try:
        from chalicelib import streams

        rows = [(c.name, c.dlq, depth(c.dlq)) for c in registry.CONSUMERS.values()]
        rows.append(("streams", streams.STREAM_DLQ, _stream_depth(streams.STREAM_DLQ)))
    except Exception as err:  # noqa: BLE001 — one clear line, not a traceback
        return _unreachable(err)
    for name, dlq_name, waiting in rows:
        print(f"{name:12} {dlq_name:32} {waiting}")
    return 0


def _stream_depth(name: str) -> int:
    """The stream consumers' on-failure queue; locally it exists once something failed."""
    try:
        return depth(name)
    except Exception as err:  # noqa: BLE001
        if "NonExistentQueue" in str(err) or type(err).__name__ == "QueueDoesNotExist":
            return 0
        raise


def _usage(message: str) -> int:
    print(f"calltrack dlq replay: {message}", file=sys.stderr)
    return 2


def _unreachable(err: Exception) -> int:
    where = config.aws_endpoint() or f"AWS ({config.region()})"
    print(f"calltrack dlq: cannot read the queues at {where}: {type(err).__name__}: {err}. "
          f"Locally, start the stack with `make run`; against AWS, set AWS credentials and CALLTRACK_STAGE.",
          file=sys.stderr)
    return 1


def _replay(args: argparse.Namespace) -> int:
    if args.stream and args.limit is not None:
        return _usage("--limit counts consumer messages; a stream replay takes every batch waiting")
    if args.drop_expired and not args.stream:
        return _usage("--drop-expired goes with --stream")
    if args.stream:
        return _replay_stream(args)
    try:
        report = replay(args.consumer, args.limit)
    except Exception as err:  # noqa: BLE001
        return _unreachable(err)
    consumer = registry.get(args.consumer)
    print(f"{report['sent']} sent from {consumer.dlq} back to {consumer.queue}, {report['failed_again']} failed again "
          f"during the run (left in the DLQ), {report['skipped']} skipped (second copies of a sent event)")
    return 0


def _replay_stream(args: argparse.Namespace) -> int:
    from chalicelib import streams

    try:
        report = streams.replay_dead_letters(drop_expired=args.drop_expired)
    except Exception as err:  # noqa: BLE001
        return _unreachable(err)
    print(f"{report['replayed']} stream batches handled again ({report['records']} records), "
          f"{report['failed_again']} failed again (left in {streams.STREAM_DLQ}), {len(report['expired'])} expired"
          f"{' (dropped)' if args.drop_expired and report['expired'] else ''}, "
          f"{report['unreadable']} unreadable")
    for gone in report["expired"]:
        print(f"  expired: shard {gone['shard']}, records from {gone['from']} to {gone['to']}: rebuild those days "
              f"with `calltrack rollups rebuild`; their events were not sent", file=sys.stderr)
    return 1 if report["failed_again"] else 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dlq", help="inspect and replay consumer dead-letter queues")
    sub = parser.add_subparsers(dest="dlq_command", required=True)
    sub.add_parser("list", help="messages waiting in each DLQ").set_defaults(func=_list)
    rep = sub.add_parser("replay", help="move a consumer's DLQ messages back to its queue")
    which = rep.add_mutually_exclusive_group(required=True)
    which.add_argument("--consumer", choices=sorted(registry.CONSUMERS))
    which.add_argument("--stream", action="store_true", help="the stream consumers' on-failure queue")
    rep.add_argument("--drop-expired", action="store_true",
                     help="with --stream: delete messages whose records the stream no longer holds")
    rep.add_argument("--limit", type=int, default=None, help="at most this many messages")
    rep.set_defaults(func=_replay)
