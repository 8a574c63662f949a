"""The local stand-in for Lambda's SQS event source mappings (`make run`, tests).

`chalice local` serves HTTP only, so this polls each consumer's queue on the emulator,
builds the SQS event Lambda would send, calls the same Lambda handler the deployed function
runs (`app.handler_map["consume_<name>"]`, middleware included) and, like the event source
mapping with ReportBatchItemFailures, deletes only the messages that were not reported
failed. Failed ones come back after their (backoff) visibility timeout; SQS moves them to
the DLQ after maxReceiveCount.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from chalice.local import LambdaContext

from chalicelib import aws, config
from chalicelib.integrations import registry
from chalicelib.integrations.consumers import queue_url
from chalicelib.observability import logger

LambdaHandler = Callable[[Dict[str, Any], Any], Any]


def sqs_record(message: Dict[str, Any], queue_arn: str) -> Dict[str, Any]:
    """One record shaped like Lambda's SQS event."""
    return {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType")}
                              for k, v in (message.get("MessageAttributes") or {}).items()},
        "md5OfBody": message.get("MD5OfBody"), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": config.region(),
    }


def lambda_handler(consumer: registry.Consumer) -> LambdaHandler:
    from app import app  # the deployed handlers; imported late (the worker runs from the repo root)
    return app.handler_map[consumer.lambda_name]


def poll_once(consumer: registry.Consumer, wait_seconds: int = 0, sqs: Any = None,
              handler: Optional[LambdaHandler] = None) -> Tuple[int, int]:
    """Receive up to one batch, run it, delete what succeeded: (succeeded, failed)."""
    sqs = sqs or aws.client("sqs")
    url = queue_url(consumer.queue)
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, consumer.batch_size),
                                 WaitTimeSeconds=wait_seconds, AttributeNames=["All"],
                                 MessageAttributeNames=["All"])
    messages = answer.get("Messages") or []
    if not messages:
        return 0, 0
    arn = queue_arn(url, sqs)
    event = {"Records": [sqs_record(m, arn) for m in messages]}
    context = LambdaContext(consumer.lambda_name, memory_size=256, max_runtime_ms=consumer.visibility_timeout * 1000)
    result = (handler or lambda_handler(consumer))(event, context) or {}
    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
    return len(done), len(failed)


_arns: Dict[str, str] = {}


def queue_arn(url: str, sqs: Any) -> str:
    if url not in _arns:
        _arns[url] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return _arns[url]


def drain(names: Optional[Iterable[str]] = None, rounds: int = 20, idle_rounds: int = 2,
          pause: float = 0.05) -> Dict[str, List[int]]:
    """Poll the named consumers (default all) until `idle_rounds` empty polls in a row or
    `rounds` polls; returns {name: [succeeded, failed]} (tests use this as the worker)."""
    consumers = [registry.get(n) for n in (names or registry.CONSUMERS)]
    totals = {c.name: [0, 0] for c in consumers}
    idle = 0
    for _ in range(rounds):
        busy = False
        for c in consumers:
            ok, bad = poll_once(c)
            totals[c.name][0] += ok
            totals[c.name][1] += bad
            busy = busy or bool(ok or bad)
        idle = 0 if busy else idle + 1
        if idle >= idle_rounds:
            break
        time.sleep(pause)
    return totals


def run(stop: Optional[threading.Event] = None, wait_seconds: int = 2) -> None:
    """Poll every consumer's queue (one long-polling thread each, as Lambda's pollers do)
    until `stop` is set; errors are logged, never fatal. `wait_seconds` stays under the
    AWS client's 5 s read timeout."""
    stop = stop or threading.Event()

    def loop(consumer: registry.Consumer) -> None:
        while not stop.is_set():
            try:
                poll_once(consumer, wait_seconds=wait_seconds)
            except Exception:  # noqa: BLE001 — the emulator restarting must not kill the worker
                logger.exception("worker poll failed", extra={"consumer": consumer.name})
                stop.wait(1.0)

    lambda_handler(next(iter(registry.CONSUMERS.values())))  # import the app once, up front
    threads = [threading.Thread(target=loop, args=(c,), name=f"worker-{c.name}", daemon=True)
               for c in registry.CONSUMERS.values()]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        stop.wait(0.5)
    for thread in threads:
        thread.join(timeout=wait_seconds + 2)
