"""DynamoDB Streams: the spine behind the requests.

Requests write DynamoDB and return. The sessions and calls tables have streams (new and
old images); one consumer per stream turns each batch of records into
- roll-up facts and recomputed day/month cubes (`reports.rollup_store`), whatever code
  wrote the item (the app, a script, a `BatchWriteItem` by hand);
- outbox events: `Session Started` for every new session item, so the lease path makes
  no call but its two DynamoDB requests; every call event (`Call Started`, `Call Routed`,
  `Call Completed`, `Call Tagged`, `Callback Requested`, `Callback Completed`) from the
  call item's changes (calls/outbox.py), so no webhook waits on the bus (docs/events.md).

Deployed, each stream has two Lambda consumers calling `handle_batch`: `stream_<table>`
(roll-ups: large batches, a 30 s batching window) and `outbox_<table>` (events: no
batching window, so partners hear of a call within a second or so). Batch size, bisect on
error, retries and the on-failure queue are in infra/streams.json. Locally `StreamPoller`
reads the same streams from the emulator with the `dynamodbstreams` client and calls the
same function for both parts. Every step is idempotent: records arrive at least once.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from chalice import Blueprint

from chalicelib import aws, config
from chalicelib.observability import count, logger

Clock = Callable[[], float]
TABLES = ("sessions", "calls")
BATCH_SIZE = 1000               # Lambda's event source mapping (DynamoDB Streams allow 10,000)
LOCAL_BATCH = 5000             # the local poller gathers several GetRecords pages into one batch
BATCHING_WINDOW_SECONDS = 30      # fewer, larger batches: each recomputes the days it touches
OUTBOX_BATCH_SIZE = 100           # events: small batches, no batching window
PARTS = ("rollups", "outbox")
TTL_PRINCIPAL = "dynamodb.amazonaws.com"
ANNOUNCE_WITHIN_SECONDS = 600
STREAM_DLQ = "calltrack-stream-dlq"   # the event source mappings' on-failure queue (infra/streams.json)
LOCAL_RETRIES = 20                    # polls a single failing record gets locally, as the mappings' 20 retries

bp = Blueprint(__name__)


def _model(table: str) -> Any:
    if table == "sessions":
        from chalicelib.dni.models import Session
        return Session
    from chalicelib.calls.models import Call
    return Call


def _expired(record: Mapping[str, Any]) -> bool:
    """A REMOVE made by DynamoDB's TTL (retention), not by anybody's request: roll-ups keep
    counting what expired (they hold no personal data and outlive raw retention)."""
    who = record.get("userIdentity") or {}
    return who.get("type") == "Service" and who.get("principalId") == TTL_PRINCIPAL


def _session_view(image: Mapping[str, Any]) -> Tuple[str, str, Dict[str, Any]]:
    from chalicelib.dni.models import Session
    from chalicelib.reports.rollups import session_view

    item = Session.from_raw_data(dict(image))
    return item.account_id, f"s#{item.session_id}", session_view(item)


def _call_view(image: Mapping[str, Any]) -> Tuple[Optional[str], str, Optional[Dict[str, Any]]]:
    from chalicelib.calls.models import Call
    from chalicelib.calls.store import to_api

    item = Call.from_raw_data(dict(image))
    if item.rec is None or not item.account_id:
        return item.account_id, f"c#{item.call_id}", None
    return item.account_id, f"c#{item.call_id}", to_api(item)


def _where(table: str, image: Optional[Mapping[str, Any]]) -> Tuple[Optional[str], Optional[str], Any, Any]:
    """(account, key, day, fact) of one image; day and fact None when reports do not count it."""
    from chalicelib.reports import rollup_store, rollups

    if not image:
        return None, None, None, None
    if table == "sessions":
        account_id, key, view = _session_view(image)
        fact = rollups.session_fact(view)
    else:
        account_id, key, call = _call_view(image)
        fact = rollups.call_fact(call) if call else None
    if not account_id or fact is None:
        return account_id, key, None, None
    return account_id, key, rollups.day_of(fact["started_at"], rollup_store.tz_of(account_id)), fact


def changes(table: str, records: Iterable[Mapping[str, Any]]) -> List[Any]:
    """The roll-up fact changes a batch of stream records makes."""
    from chalicelib.reports.rollup_store import FactChange

    out = []
    for record in records:
        if record.get("eventName") == "REMOVE" and _expired(record):
            continue
        ddb = record.get("dynamodb") or {}
        account_id, key, day, fact = _where(table, ddb.get("NewImage"))
        old_account, old_key, old_day, _ = _where(table, ddb.get("OldImage"))
        account_id, key = account_id or old_account, key or old_key
        if not account_id or not key:
            continue
        out.append(FactChange(account_id, key, int(ddb["SequenceNumber"]), day, fact, old_day))
    return out


def _written_at(record: Mapping[str, Any]) -> float:
    """When the record's write happened (Lambda gives epoch seconds, boto3 a datetime)."""
    when = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if hasattr(when, "timestamp"):
        return float(when.timestamp())
    return float(when) if isinstance(when, (int, float)) else time.time()


def outbox(table: str, records: Iterable[Mapping[str, Any]]) -> List[Tuple[str, Dict[str, Any]]]:
    """Events the records stand for, in stream order. Sessions: `Session Started` for each
    new session item that started at most ANNOUNCE_WITHIN_SECONDS before it was written
    (sessions written later — an import of past traffic, the demo seed, a restore — count in
    reports but are not announced: partners and GA4 would take them for visits happening
    now). Calls: what each write changed (calls/outbox.py)."""
    if table == "calls":
        from chalicelib.calls import outbox as calls_outbox

        out: List[Tuple[str, Dict[str, Any]]] = []
        for record in records:
            ddb = record.get("dynamodb") or {}
            out.extend(calls_outbox.from_images(ddb.get("NewImage"), ddb.get("OldImage"), _written_at(record),
                                                follow_up=True))
        return out
    from chalicelib.dni.models import Session
    from chalicelib.dni.sessions import started_detail

    out = []
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage")
        if record.get("eventName") != "INSERT" or not image:
            continue
        session = Session.from_raw_data(dict(image))
        if float(session.started_at) >= _written_at(record) - ANNOUNCE_WITHIN_SECONDS:
            out.append(("Session Started", started_detail(session)))
    return out


def handle_batch(table: str, records: List[Mapping[str, Any]], clock: Clock = time.time,
                 parts: Iterable[str] = PARTS) -> Dict[str, Any]:
    """One batch of one table's stream: roll-ups, then the outbox (the parts asked for). A
    failure answers the batch's first record as failed, so Lambda retries the batch from
    there (after bisecting it); everything it did already is idempotent."""
    from chalicelib.integrations import events
    from chalicelib.reports import rollup_store

    if not records:
        return {"batchItemFailures": []}
    parts = tuple(parts)
    try:
        if "rollups" in parts:
            rollup_store.apply(changes(table, records), clock)
        entries = events.valid_entries(outbox(table, records)) if "outbox" in parts else []
        if entries:
            events.send(entries)
    except Exception:  # noqa: BLE001 — reported to the event source mapping, which retries
        logger.exception("stream batch failed", extra={"table": table, "records": len(records)})
        count("StreamBatchFailed")
        return {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    count("StreamRecords", len(records))
    return {"batchItemFailures": []}


def _lambda(table: str, part: str, name: str) -> Callable[[Any], Dict[str, Any]]:
    def handler(event: Any) -> Dict[str, Any]:
        return handle_batch(table, event.to_dict().get("Records") or [], parts=(part,))
    handler.__name__ = name
    return handler


for _table in TABLES:
    bp.on_dynamodb_record(stream_arn=config.stream_arn_placeholder(_table), batch_size=BATCH_SIZE,
                          starting_position="TRIM_HORIZON", name=f"stream_{_table}",
                          maximum_batching_window_in_seconds=BATCHING_WINDOW_SECONDS)(
        _lambda(_table, "rollups", f"stream_{_table}"))
    bp.on_dynamodb_record(stream_arn=config.stream_arn_placeholder(_table), batch_size=OUTBOX_BATCH_SIZE,
                          starting_position="TRIM_HORIZON", name=f"outbox_{_table}")(
        _lambda(_table, "outbox", f"outbox_{_table}"))


class StreamPoller:
    """The local stand-in for the event source mapping: reads one table's stream on the
    emulator from its start and hands each batch to `handle_batch`. Like the mapping, a
    failed batch is bisected and retried; a single record that still fails after
    LOCAL_RETRIES polls goes to the on-failure queue (STREAM_DLQ, the message Lambda
    sends), so one bad record never holds up the records behind it."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.table_name = config.table_name(table)
        self.positions: Dict[str, Optional[str]] = {}     # shard id -> last sequence handled
        self.stream_arn: Optional[str] = None
        self.failures: Dict[str, int] = {}                # sequence number -> failed polls

    def _shards(self) -> List[str]:
        streams = aws.client("dynamodbstreams")
        if self.stream_arn is None:
            self.stream_arn = aws.client("dynamodb").describe_table(TableName=self.table_name)["Table"][
                "LatestStreamArn"]
        return [s["ShardId"] for s in streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
                ["Shards"]]

    def poll(self, limit: int = LOCAL_BATCH) -> int:
        """Handle what the stream has now, in batches of up to `limit` records; returns how
        many were handled (a failed batch stops the poll and is read again next time)."""
        streams = aws.client("dynamodbstreams")
        handled = 0
        for shard in self._shards():
            while True:
                records = self._read(streams, shard, limit)
                if not records:
                    break
                done = self._handle(shard, records)
                handled += done
                if done < len(records):
                    return handled        # the failing rest is read again next poll
        return handled

    def _handle(self, shard: str, records: List[Dict[str, Any]]) -> int:
        """Handle `records` in order, bisecting a failed batch; returns how many are done
        (handled, or dead-lettered after LOCAL_RETRIES), the position moved past them."""
        if not handle_batch(self.table, records)["batchItemFailures"]:
            self.positions[shard] = records[-1]["dynamodb"]["SequenceNumber"]
            for record in records if self.failures else ():
                self.failures.pop(record["dynamodb"]["SequenceNumber"], None)
            return len(records)
        if len(records) > 1:
            half = len(records) // 2
            done = self._handle(shard, records[:half])
            return done if done < half else half + self._handle(shard, records[half:])
        seq = records[0]["dynamodb"]["SequenceNumber"]
        self.failures[seq] = self.failures.get(seq, 0) + 1
        if self.failures[seq] < LOCAL_RETRIES:
            return 0
        dead_letter(str(self.stream_arn), shard, records[0], self.failures.pop(seq))
        self.positions[shard] = seq
        return 1

    def _read(self, streams: Any, shard: str, limit: int) -> List[Dict[str, Any]]:
        last = self.positions.get(shard)
        kind = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last} if last else {
            "ShardIteratorType": "TRIM_HORIZON"}
        iterator = streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard, **kind)["ShardIterator"]
        records: List[Dict[str, Any]] = []
        for page in pages(streams, iterator, empty_pages=1):
            records.extend(page)
            if len(records) >= limit:
                break
        return records[:limit]        # (the rest is read again after the last one handled)


def pages(streams: Any, iterator: Optional[str], empty_pages: int = 1) -> Iterable[List[Dict[str, Any]]]:
    """A shard's records page by page from `iterator`, until `empty_pages` empty pages in a
    row (GetRecords can answer an empty page with records behind it) or the shard's end."""
    empty = 0
    while iterator and empty < empty_pages:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        got = page.get("Records") or []
        empty = 0 if got else empty + 1
        if got:
            yield got
        iterator = page.get("NextShardIterator")


def dlq_url(sqs: Any) -> str:
    """The on-failure queue's URL. Deployed, infra/streams.json creates it; locally it is
    created on first use (CreateQueue of an existing queue answers its URL)."""
    return sqs.create_queue(QueueName=STREAM_DLQ)["QueueUrl"]


def dead_letter(stream_arn: str, shard: str, record: Mapping[str, Any], attempts: int) -> None:
    """What Lambda puts on a stream mapping's on-failure queue when a record's retries are
    exhausted: a pointer to it (`DDBStreamBatchInfo`), not the record, which the stream
    keeps for 24 h."""
    from chalicelib.calls.store import iso

    sqs = aws.client("sqs")
    url = dlq_url(sqs)
    seq, when = (record.get("dynamodb") or {}).get("SequenceNumber"), iso(_written_at(record))
    message = {
        "requestContext": {"requestId": record.get("eventID"), "functionArn": "local:StreamPoller",
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0", "timestamp": iso(time.time()),
        "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": seq, "endSequenceNumber": seq,
                               "approximateArrivalOfFirstRecord": when, "approximateArrivalOfLastRecord": when,
                               "batchSize": 1, "streamArn": stream_arn},
    }
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
    logger.error("stream record dead-lettered", extra={"shard": shard, "sequence": seq, "attempts": attempts})
    count("StreamRecordDeadLettered")


def _parts_of(function_arn: str) -> Tuple[str, ...]:
    """The part a dead-lettered batch failed in, from the function that gave up on it
    (`stream_<table>`: roll-ups, `outbox_<table>`: events; the local poller runs both)."""
    name = function_arn.rsplit(":", 1)[-1]
    found = tuple(p for p, prefix in (("rollups", "stream_"), ("outbox", "outbox_")) if prefix in name)
    return found or PARTS


def _table_of(stream_arn: str) -> Optional[str]:
    """Which of our tables a stream ARN (…:table/<name>/stream/<label>) belongs to."""
    name = stream_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
    return next((t for t in TABLES if config.table_name(t) == name), None)


def _records_between(stream_arn: str, shard: str, first: str, last: str) -> Optional[List[Dict[str, Any]]]:
    """The shard's records from sequence `first` to `last`, or None when the stream no longer
    holds them (it keeps records 24 h; a closed shard is deleted after that)."""
    streams = aws.client("dynamodbstreams")
    try:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, SequenceNumber=first,
                                              ShardIteratorType="AT_SEQUENCE_NUMBER")["ShardIterator"]
    except Exception as err:  # noqa: BLE001
        code = (getattr(err, "response", None) or {}).get("Error", {}).get("Code", "")
        if code in GONE or type(err).__name__ in GONE:
            logger.warning("dead-lettered records no longer in the stream", extra={"shard": shard, "error": str(err)})
            return None
        raise                  # access, throttling, the network: not "expired"; the message stays
    records: List[Dict[str, Any]] = []
    for page in pages(streams, iterator, EMPTY_PAGES):
        for record in page:
            if int(record["dynamodb"]["SequenceNumber"]) > int(last):
                return records or None          # nothing left of the range: trimmed
            records.append(record)
            if record["dynamodb"]["SequenceNumber"] == last:
                return records
    raise Incomplete(f"shard {shard}: read to {records[-1]['dynamodb']['SequenceNumber'] if records else first}, "
                     f"not to {last}")


GONE = ("TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException")
EMPTY_PAGES = 5


class Incomplete(Exception):
    """The stream did not hand out a dead-lettered batch to its end (yet): kept for a later run."""


def replay_dead_letters(drop_expired: bool = False, clock: Clock = time.time) -> Dict[str, Any]:
    """Handle again every batch described in the stream's on-failure queue (STREAM_DLQ),
    after the cause was fixed: each message's records are read back from the stream by
    their sequence numbers and handed to `handle_batch` for the part that failed. Both parts
    are idempotent, so records handled meanwhile change nothing. A message is deleted once
    its batch went through; one whose batch fails again stays. A batch the stream no longer
    holds (over 24 h) is `expired`: its roll-up days must be rebuilt (`calltrack rollups
    rebuild`) and its events are lost; it stays in the queue unless `drop_expired`.
    Returns counts and, for expired batches, when their records arrived."""
    sqs = aws.client("sqs")
    url = dlq_url(sqs)
    report: Dict[str, Any] = {"replayed": 0, "records": 0, "failed_again": 0, "expired": [], "unreadable": 0}
    held: List[str] = []
    try:
        _replay(sqs, url, report, held, drop_expired, clock)
    finally:                   # what this run read and kept is visible again for the next one
        for handle in held:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return report


def _replay(sqs: Any, url: str, report: Dict[str, Any], held: List[str], drop_expired: bool, clock: Clock) -> None:
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=900).get("Messages") or []
        if not messages:
            break
        for message in messages:
            try:
                body = json.loads(message["Body"])
                info = body["DDBStreamBatchInfo"]
                table = _table_of(info["streamArn"])
                first, last, shard = info["startSequenceNumber"], info["endSequenceNumber"], info["shardId"]
            except (KeyError, TypeError, ValueError):
                report["unreadable"] += 1          # not a stream on-failure message: left alone
                held.append(message["ReceiptHandle"])
                continue
            if table is None:                      # another stack's stream, or another table prefix
                report["unreadable"] += 1
                held.append(message["ReceiptHandle"])
                continue
            try:
                records = _records_between(info["streamArn"], shard, first, last)
            except Incomplete:
                report["failed_again"] += 1
                held.append(message["ReceiptHandle"])
                continue
            if records is None:
                report["expired"].append({"shard": shard, "from": info.get("approximateArrivalOfFirstRecord"),
                                          "to": info.get("approximateArrivalOfLastRecord")})
                if drop_expired:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                else:
                    held.append(message["ReceiptHandle"])
                continue
            parts = _parts_of(str((body.get("requestContext") or {}).get("functionArn") or ""))
            if handle_batch(str(table), records, clock, parts=parts)["batchItemFailures"]:
                report["failed_again"] += 1
                held.append(message["ReceiptHandle"])
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            report["replayed"] += 1
            report["records"] += len(records)


_pollers: Dict[Tuple[str, str], StreamPoller] = {}


def poller(table: str) -> StreamPoller:
    key = (str(config.aws_endpoint()), table)
    if key not in _pollers:
        _pollers[key] = StreamPoller(table)
    return _pollers[key]


def catch_up(tables: Iterable[str] = TABLES) -> int:
    """Handle every record the local streams hold now (tests, `make run`'s seed, the worker)."""
    return sum(poller(t).poll() for t in tables)
