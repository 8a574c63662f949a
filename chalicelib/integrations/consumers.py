"""The generic SQS consumer every integration runs behind.

`consume(name, sqs_event, context)` is what each Lambda (`consume_<name>` in api.py) and the
local worker (scripts/worker.py) call with an SQS event. For each record it

1. parses the EventBridge envelope from the body (a rule targets the queue with the whole
   event: `{"id", "detail-type", "source", "time", "detail", ...}`);
2. claims `<consumer>#<detail-type>#<hash of the detail>` with a conditional write
   (idempotency.once, idempotency.content_key), so the same event delivered twice runs
   once: EventBridge/SQS at-least-once, a DLQ replay, and also a stream batch published
   again under new EventBridge ids after a retry (chalicelib/streams.py). A changed detail
   (a call reclassified) is a new event;
3. calls the consumer's `handle(event)` (registry.py documents the interface);
4. on `RetryableError` (or any unexpected exception) reports the record as a batch item
   failure and pushes its visibility out exponentially with the receive count, so SQS
   redelivers it later and, after the queue's maxReceiveCount, moves it to the DLQ;
5. on `PermanentError` sends it to the DLQ at once (with the reason as message attributes)
   and reports success, so nothing is dropped silently and nothing is retried in vain.

The answer is Powertools' partial batch response `{"batchItemFailures": [...]}`; the event
source mapping must enable `ReportBatchItemFailures` (infra/events.json does).
"""
from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any, Callable, Dict, Optional


from chalicelib import aws, config
from chalicelib.integrations import idempotency, registry, status
from chalicelib.integrations.errors import PermanentError
from chalicelib.observability import count, logger

# Seconds before the first redelivery; doubles per receive (capped). Tests set it to 0.
RETRY_MAX_SECONDS = 900


def retry_delay(receive_count: int, base: Optional[float] = None) -> int:
    """Exponential backoff: base·2^(n-1) seconds for the n-th receive, capped at 15 minutes."""
    if base is None:
        base = config.retry_base_seconds()
    return int(min(RETRY_MAX_SECONDS, base * 2 ** max(0, receive_count - 1)))


@lru_cache(maxsize=None)
def queue_url(queue_name: str) -> str:
    return aws.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]


def parse_envelope(body: str) -> Dict[str, Any]:
    """The EventBridge event in an SQS body; PermanentError if it is not one."""
    try:
        event = json.loads(body)
    except ValueError as err:
        raise PermanentError(f"body is not JSON: {err}") from err
    if not isinstance(event, dict) or not event.get("id") or not isinstance(event.get("detail"), dict) \
            or not event.get("detail-type"):
        raise PermanentError("body is not an EventBridge event (id, detail-type, detail)")
    return event


def consume(name: str, sqs_event: Dict[str, Any], context: Any = None,
            clock: Callable[[], float] = time.time) -> Dict[str, Any]:
    """Process one SQS batch for consumer `name`; returns the partial batch response."""
    consumer = registry.get(name)
    handler = consumer.load_handler()
    # Here, not at import: only the consumers' Lambdas need Powertools' batch utility.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: Any) -> None:
        process_record(consumer, handler, record.raw_event, clock)

    return process_partial_response(event=sqs_event, record_handler=record_handler,
                                    processor=processor, context=context)


def process_record(consumer: registry.Consumer, handler: registry.Handler, record: Dict[str, Any],
                   clock: Callable[[], float] = time.time) -> None:
    event_id = None
    receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
    try:
        event = parse_envelope(record["body"])
        event_id = event["id"]
        with idempotency.once(f"{consumer.name}#{idempotency.content_key(event)}", clock) as fresh:
            if fresh:
                handler(event)
                status.record(event["detail"].get("account_id"), consumer.name, at=clock())
            else:
                count(f"ConsumerDuplicateSkipped_{consumer.name}")
                logger.info("duplicate event skipped", extra={"consumer": consumer.name, "event_id": event_id})
    except PermanentError as err:
        logger.warning("permanent failure: to the DLQ", extra={"consumer": consumer.name, "event_id": event_id,
                                                               "reason": str(err)})
        count(f"ConsumerPermanentFailure_{consumer.name}")
        send_to_dlq(consumer, record, str(err))
        status.record(_account_of(record), consumer.name, str(err), permanent=True, at=clock())
    except Exception as err:
        logger.warning("retryable failure", extra={"consumer": consumer.name, "event_id": event_id,
                                                   "receive_count": receives, "reason": repr(err)})
        count(f"ConsumerRetry_{consumer.name}")
        status.record(_account_of(record), consumer.name, str(err) or type(err).__name__, at=clock())
        backoff(consumer, record, receives)
        raise


def _account_of(record: Dict[str, Any]) -> Any:
    try:
        return (json.loads(record["body"]).get("detail") or {}).get("account_id")
    except (ValueError, AttributeError, KeyError):
        return None


def backoff(consumer: registry.Consumer, record: Dict[str, Any], receive_count: int) -> None:
    """Push the failed message's next delivery out exponentially. Best effort: if this call
    fails the queue's own visibility timeout still brings the message back."""
    try:
        aws.client("sqs").change_message_visibility(
            QueueUrl=queue_url(consumer.queue), ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=retry_delay(receive_count))
    except Exception:  # noqa: BLE001 — the redelivery still happens, later
        logger.exception("could not set retry backoff", extra={"consumer": consumer.name})


def send_to_dlq(consumer: registry.Consumer, record: Dict[str, Any], reason: str) -> None:
    """Move a message to the consumer's DLQ now; raising here leaves it on the queue (retried)."""
    aws.client("sqs").send_message(
        QueueUrl=queue_url(consumer.dlq), MessageBody=record["body"],
        MessageAttributes={
            "calltrack_consumer": {"DataType": "String", "StringValue": consumer.name},
            "calltrack_error": {"DataType": "String", "StringValue": reason[:1000] or "permanent failure"},
        })
