"""Roll-ups from the real streams of the emulator: whatever writes a session or a call,
the report counts it once the stream consumer caught up; duplicated and reordered
records change nothing; the roll-up report equals a raw recomputation."""
from __future__ import annotations

import random
import time
import uuid
from datetime import timedelta
from typing import Any, Dict, List

import pytest

from chalicelib import streams
from chalicelib.demo_traffic import write_calls, write_sessions


def test_smoke_stream_reaches_rollups(account):
    from chalicelib.reports import rollup_store
    acc = account()
    now = time.time()
    write_sessions(acc.account_id, [{"session_id": f"{acc.account_id}.-.0.{i}", "started_at": now - 3600,
                                     "number": "+14155550000", "method": "default", "source": "google",
                                     "medium": "organic"} for i in range(5)])
    n = streams.catch_up()
    assert n >= 5
    from chalicelib.reports import rollups
    from datetime import datetime, timezone
    day = datetime.fromtimestamp(now - 3600, timezone.utc).date()
    cells = rollup_store.read_cells(acc.account_id, "source", rollups.span([day], use_months=False))
    assert cells[f"D{day.isoformat()}"]["google"][0] == 5


# --- roll-up report == raw recomputation --------------------------------------------

GROUPS = ["source", "campaign", "landing_page", "tracking_number", "status", "tag", "day", "week", "hour",
          "device", "agent", "lead", "score_band"]
FILTERS = [{}, {"source": "google"}, {"status": "answered"}, {"min_wait": "9"}, {"tag": "sale"},
           {"class": "target"}, {"source": "google,bing", "device": "mobile"}, {"within_working_hours": "false"},
           {"landing_page": "https://acme.example/boilers"}, {"spam": "include"}, {"spam": "only", "source": "google"},
           {"spam": "include", "status": "answered"}, {"lead": "qualified"}, {"score_band": "75-100,50-74"}]
TZ = "America/Los_Angeles"


def _random_month(account_id: str, rng: random.Random, now: float, days: int = 20):
    sessions, calls = [], []
    for i in range(rng.randint(250, 350)):
        started = now - rng.uniform(0, days * 86400)
        source = rng.choice(["google", "google", "bing", "facebook", "(direct)"])
        s = {"session_id": f"{account_id}.main.1415.{i}", "started_at": started, "source": source,
             "medium": rng.choice(["cpc", "organic"]), "campaign": rng.choice([None, "spring", "boilers"]),
             "keyword": rng.choice([None, "boiler repair", "leak"]), "method": rng.choice(["dynamic", "static"]),
             "tracking_number": rng.choice(["+14155550131", "+14155550132", "+14155550133"]),
             "landing_page": rng.choice(["https://acme.example/boilers?gclid=" + uuid.uuid4().hex[:8],
                                         "https://acme.example/", "https://acme.example/boilers#top"]),
             "device": rng.choice(["mobile", "desktop"]), "country": rng.choice(["US", "CA"])}
        sessions.append(s)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            status = rng.choice(["answered", "answered", "missed", "voicemail", "abandoned_in_greeting"])
            talk = rng.randint(0, 400) if status == "answered" else 0
            calls.append({
                "account_id": account_id, "call_id": "c-" + uuid.uuid4().hex[:12], "direction": rng.choice(
                    ["inbound", "inbound", "callback"]), "status": status,
                "started_at": started + rng.uniform(30, 3 * 86400), "wait_seconds": rng.choice([2, 9.5, 11, 30]),
                "talk_seconds": talk, "within_working_hours": rng.random() < 0.7, "agent": rng.choice([None, "ann"]),
                "session_id": s["session_id"], "caller": f"+1202555{rng.randint(0, 40):04d}",
                "tags": [{"category": "sale", "value": 120}] if rng.random() < 0.2 else [],
                "value": rng.choice([None, 99.99, 150]),
                "classification": {"unique": rng.random() < 0.5, "target": talk >= 60, "repeated": False,
                                   "first_target": False, "unique_target": False},
                **{k: s[k] for k in ("source", "medium", "campaign", "keyword", "method", "tracking_number",
                                     "landing_page", "device", "country")}})
    calls = [c for c in calls if c["started_at"] < now]
    return sessions, calls


def _raw_items(account_id: str):
    """Every raw session and call of the account, read once (GSI queries are slow on moto)."""
    from chalicelib.calls import store
    from chalicelib.dni.models import Session

    now = time.time()
    sessions = [{**s.attribute_values, "tracking_number": s.number}
                for s in Session.account_index.query(account_id, Session.started_at.between(now - 90 * 86400, now))]
    return sessions, list(store.query_calls(account_id, now - 90 * 86400, now))


def _assert_same(account_id: str, cases) -> int:
    from chalicelib.reports import filters as flt
    from chalicelib.reports import rollups, service

    sessions, calls = _raw_items(account_id)
    checked = 0
    for params, group, series in cases:
        query = {**params, "group_by": group, **({"series": series} if series else {})}
        got = service.run_report(account_id, query)
        want = rollups.raw_report(calls, sessions, flt.parse(params, time.time(), TZ), group, flt.zone(TZ), series)
        assert got["rows"] == want["rows"], (query, got["rows"][:3], want["rows"][:3])
        assert got["totals"] == want["totals"], query
        assert got["totals"]["calls"] > 0 or params, query
        checked += 1
    return checked


def _cases(rng: random.Random, n: int = 30):
    everything = [(p, g, None) for p in FILTERS[:2] for g in GROUPS]
    everything += [({}, "day", "source"), ({}, "week", "status"), ({"device": "mobile"}, "campaign", "status")]
    everything += [(rng.choice(FILTERS), rng.choice(GROUPS), None) for _ in range(n)]
    return everything


@pytest.mark.slow
def test_rollup_report_equals_raw_recomputation_through_duplicated_and_reordered_records(account):
    from chalicelib.calls.models import Call
    from chalicelib.reports import rollup_store

    rng = random.Random(7)
    acc = account(settings={"timezone": TZ})
    now = time.time()
    sessions, calls = _random_month(acc.account_id, rng, now)
    write_sessions(acc.account_id, sessions)
    write_calls(calls)
    streams.catch_up()
    assert _assert_same(acc.account_id, _cases(rng)) > 40

    # Calls change after they settle: reclassified, tagged, a new value, a late webhook's status,
    # found to be spam (and one of those cleared by a person).
    changed = rng.sample(calls, 25)
    for i, c in enumerate(changed):
        item = Call.get(c["call_id"])
        rec = dict(item.rec)
        rec["classification"] = {**rec["classification"], "repeated": True, "unique": False}
        rec["status"] = "answered" if rec["status"] != "answered" else "missed"
        item.rec = rec
        item.status = rec["status"]
        item.tags = [{"category": "quote", "value": "leak"}]
        item.value = 42.5
        if i % 3 == 0:
            item.spam_flags = {"burst"} if i % 2 else {"rules", "silent"}
        if i == 3:
            item.spam_verdict = "not_spam"
        if i % 4 == 1:   # the conversation rules' outcome arrives
            item.analysis = {"score": rng.choice([10, 55, 80, 100]), "lead": rng.choice(["qualified", None, "not_lead"])}
            item.analysis_url = "https://api.nexmo.com/v1/files/" + uuid.uuid4().hex
        item.save()
    deleted = calls[0]
    Call(deleted["call_id"]).delete()

    # Replay the account's records again, duplicated and shuffled, in odd-sized batches.
    replay: Dict[str, List[Dict[str, Any]]] = {}
    for table in streams.TABLES:
        p = streams.poller(table)
        p.poll()   # everything up to now, in order, once
        records = _records(table)
        mine = [r for r in records if acc.account_id in str(r["dynamodb"].get("NewImage") or r["dynamodb"].get(
            "OldImage"))]
        shuffled = mine + rng.sample(mine, len(mine) // 2)
        rng.shuffle(shuffled)
        replay[table] = shuffled
    for table, records in replay.items():
        i = 0
        while i < len(records):
            size = rng.randint(1, 400)
            assert streams.handle_batch(table, records[i:i + size]) == {"batchItemFailures": []}
            i += size
    assert _assert_same(acc.account_id, _cases(rng, 20)) > 30
    # And rebuilding from raw items gives the very same answers.
    from datetime import date, timedelta
    today = date.today()
    rollup_store.rebuild(acc.account_id, today - timedelta(days=25), today + timedelta(days=1))
    assert _assert_same(acc.account_id, _cases(rng, 10)) > 20


def _records(table: str) -> List[Dict[str, Any]]:
    from chalicelib import aws, config

    client = aws.client("dynamodbstreams")
    arn = aws.client("dynamodb").describe_table(TableName=config.table_name(table))["Table"]["LatestStreamArn"]
    shard = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    out: List[Dict[str, Any]] = []
    while True:
        got = client.get_records(ShardIterator=it, Limit=1000)
        out.extend(got["Records"])
        if not got["Records"]:
            return out
        it = got["NextShardIterator"]


def test_rebuild_from_the_cli_counts_what_no_stream_saw(account, capsys):
    """An install with data from before the streams: facts and cubes come from the raw items."""
    from datetime import datetime, timezone

    from chalicelib.cli import main
    from chalicelib.reports import rollup_store, service

    acc = account()
    now = time.time()
    day = datetime.fromtimestamp(now - 2 * 86400, timezone.utc).date()
    write_sessions(acc.account_id, [{"session_id": f"{acc.account_id}.-.0.r{i}", "started_at": now - 2 * 86400,
                                     "source": "bing", "medium": "cpc"} for i in range(7)])
    streams.catch_up()
    rollup_store.write_day(acc.account_id, day.isoformat(), [], [], rollup_store.tz_of(acc.account_id))  # lost
    assert service.run_report(acc.account_id, {})["totals"]["sessions"] == 0
    assert main(["rollups", "rebuild", "--account", acc.account_id, "--from", (day - timedelta(days=1)).isoformat(),
                 "--to", day.isoformat()]) == 0
    captured = capsys.readouterr()
    assert "rebuilt 2 day(s): 7 sessions, 0 calls" in captured.out and "[2/2]" in captured.err
    rows = {r["key"]: r for r in service.run_report(acc.account_id, {})["rows"]}
    assert rows["bing"]["sessions"] == 7
    assert main(["rollups", "rebuild", "--account", "no-such-account"]) == 1


def test_roll_ups_from_before_the_combo_cubes_answer_filtered_reports_from_the_wide_rows(account, monkeypatch):
    """An install upgraded from roll-ups without combo cubes: until a rebuild, a filtered
    report notices `combo-total` disagrees with `total` and reads the wide rows instead."""
    from chalicelib.reports import rollups, service
    from chalicelib.reports.models import Rollup

    acc = account()
    now = time.time()
    sessions = [{"session_id": f"{acc.account_id}.-.0.u{i}", "started_at": now - 3600 - i,
                 "source": ["bing", "google"][i % 2], "medium": "cpc", "device": ["mobile", "desktop"][i % 3 == 0]}
                for i in range(12)]
    write_sessions(acc.account_id, sessions)
    streams.catch_up()
    wanted = sum(1 for s in sessions if s["source"] == "bing" and s["device"] == "mobile")
    query = {"source": "bing", "device": "mobile", "group_by": "device"}
    paths: List[str] = []
    monkeypatch.setattr(rollups, "from_wide", _spy(paths, "wide", rollups.from_wide))
    monkeypatch.setattr(rollups, "from_combos", _spy(paths, "combo", rollups.from_combos))
    assert service.run_report(acc.account_id, query)["totals"]["sessions"] == wanted
    assert paths == ["combo"]
    for cube in rollups.COMBOS:          # what an older release never wrote
        for item in Rollup.query(f"{acc.account_id}#{cube}"):
            item.delete()
    assert service.run_report(acc.account_id, query)["totals"]["sessions"] == wanted
    assert paths == ["combo", "wide"]


def test_the_default_range_up_to_now_reads_the_small_cubes(account, monkeypatch):
    """No `from`/`to` (the dashboard's first view): the range runs to the moment the report
    was asked, on a clock that moves between reads, and is still whole days."""
    from chalicelib.reports import rollups, service

    acc = account()
    paths: List[str] = []
    monkeypatch.setattr(rollups, "from_cubes", _spy(paths, "cubes", rollups.from_cubes))
    monkeypatch.setattr(rollups, "from_wide", _spy(paths, "wide", rollups.from_wide))
    ticks = iter(range(10_000))
    service.run_report(acc.account_id, {}, clock=lambda: 1_800_000_000.0 + next(ticks) * 0.001)
    assert paths == ["cubes"]


def _spy(paths: List[str], name: str, fn: Any) -> Any:
    def spied(*args: Any, **kwargs: Any) -> Any:
        paths.append(name)
        return fn(*args, **kwargs)
    return spied


@pytest.mark.slow
@pytest.mark.heavy
def test_12000_sessions_written_straight_to_the_table_show_up_in_the_month_report(client, account):
    """Every write counts: nobody's code path updated a counter, the stream alone did."""
    from chalicelib import aws, config

    key = "k-" + uuid.uuid4().hex
    acc = account(api_key=key)
    rng = random.Random(12)
    now = time.time()
    sources = {"google": 0, "bing": 0, "facebook": 0, "(direct)": 0}
    items = []
    for i in range(12_000):
        source = rng.choice(list(sources))
        sources[source] += 1
        items.append({"PutRequest": {"Item": {
            "session_id": {"S": f"{acc.account_id}.-.0.bw{i}"}, "account_id": {"S": acc.account_id},
            "started_at": {"N": str(round(now - rng.uniform(60, 28 * 86400), 3))},
            "number": {"S": "+14155550100"}, "method": {"S": "default"}, "source": {"S": source},
            "medium": {"S": "organic"}, "landing_page": {"S": f"https://acme.example/p{i % 40}?gclid=x{i}"},
            "bot": {"BOOL": False}}}})
    ddb = aws.client("dynamodb")
    for start in range(0, len(items), 25):
        pending = {config.table_name("sessions"): items[start:start + 25]}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
    streams.catch_up()
    started = time.perf_counter()
    r = client.http.get(f"/v1/accounts/{acc.account_id}/reports?breakdowns=landing_page",
                        headers={"Authorization": f"Bearer {key}"})
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.body
    report = r.json_body
    assert report["totals"]["sessions"] == 12_000
    assert {row["key"]: row["sessions"] for row in report["rows"]} == sources
    assert len(report["breakdowns"]["landing_page"]) == 40     # pages, not one row per click id
    print(f"month report over 12,000 sessions: {elapsed * 1000:.0f} ms")
    assert elapsed < 10, f"{elapsed:.1f} s: API Gateway gives up at 29 s"


def test_a_record_that_always_fails_goes_to_the_on_failure_queue_and_the_stream_moves_on(account, monkeypatch):
    """The local poller does what the event source mapping does: bisect the failing batch,
    retry the one bad record, then send a pointer to it to the on-failure queue and carry on
    with the records behind it."""
    import json as _json

    from chalicelib import aws
    from chalicelib.reports import service

    acc = account()
    stream = streams.poller("sessions")
    stream.poll()                                                   # what earlier tests left
    now = time.time()
    ids = [f"{acc.account_id}.-.0.p{i}" for i in range(6)]
    write_sessions(acc.account_id, [{"session_id": sid, "started_at": now - 600, "source": "bing",
                                     "medium": "cpc"} for sid in ids])
    poison = ids[2]
    real = streams.changes

    def changes(table, records):
        if any(poison in str((r.get("dynamodb") or {}).get("NewImage")) for r in records):
            raise RuntimeError("a record this code cannot read")
        return real(table, records)

    monkeypatch.setattr(streams, "changes", changes)
    monkeypatch.setattr(streams, "LOCAL_RETRIES", 3)
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=streams.STREAM_DLQ)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    assert stream.poll() == 2                                       # the two before it; the rest waits
    assert stream.poll() == 0
    assert service.run_report(acc.account_id, {})["totals"]["sessions"] == 2
    assert stream.poll() == 4                                       # third failure: dead-lettered, then the rest
    assert service.run_report(acc.account_id, {})["totals"]["sessions"] == 5
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    info = _json.loads(message["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["batchSize"] == 1
    assert info["DDBStreamBatchInfo"]["streamArn"] == stream.stream_arn
    assert stream.poll() == 0


def test_dead_lettered_batches_are_handled_again_once_fixed_and_expired_ones_reported(account, monkeypatch, capsys):
    """`calltrack dlq replay --stream`: each on-failure message's records are read back from
    the stream by sequence number and handled for the part that failed; a pointer to records
    the stream no longer holds is reported (and kept unless --drop-expired)."""
    import json as _json

    from chalicelib import aws
    from chalicelib import cli
    from chalicelib.reports import service

    acc = account()
    stream = streams.poller("sessions")
    stream.poll()
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=streams.STREAM_DLQ)["QueueUrl"]
    while True:                    # emptied by hand: SQS allows one purge a minute
        waiting = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages")
        if not waiting:
            break
        for m in waiting:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    ids = [f"{acc.account_id}.-.0.r{i}" for i in range(3)]
    write_sessions(acc.account_id, [{"session_id": sid, "started_at": time.time() - 600, "source": "bing",
                                     "medium": "cpc"} for sid in ids])
    real = streams.changes
    monkeypatch.setattr(streams, "changes", lambda table, records: (_ for _ in ()).throw(RuntimeError("bug"))
                        if any(ids[1] in str(r["dynamodb"].get("NewImage")) for r in records) else real(table, records))
    monkeypatch.setattr(streams, "LOCAL_RETRIES", 1)
    while stream.poll():
        pass
    assert service.run_report(acc.account_id, {})["totals"]["sessions"] == 2      # one dead-lettered
    monkeypatch.setattr(streams, "changes", real)                                 # the bug is fixed
    shard = stream._shards()[0]       # a range older than the stream keeps: nothing left of it
    # (DynamoDB Streams answers TrimmedDataAccessException there; moto answers 500, so the
    # trimmed range is stood in for here and the mapping is tested on its own below)
    real_between = streams._records_between
    monkeypatch.setattr(streams, "_records_between", lambda arn, sh, first, last: None
                        if first == "000000000000000000001" else real_between(arn, sh, first, last))
    gone = {"DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": "000000000000000000001", "endSequenceNumber": "000000000000000000002",
                                   "streamArn": stream.stream_arn, "approximateArrivalOfFirstRecord": "2026-01-01T00:00:00Z",
                                   "approximateArrivalOfLastRecord": "2026-01-01T00:00:00Z", "batchSize": 1},
            "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:calltrack-prod-stream_sessions"}}
    sqs.send_message(QueueUrl=url, MessageBody=_json.dumps(gone))

    assert cli.main(["dlq", "replay", "--stream"]) == 0
    out = capsys.readouterr()
    assert "1 stream batches handled again (1 records)" in out.out and "1 expired" in out.out
    assert f"shard {shard}, records from 2026-01-01T00:00:00Z" in out.err
    assert service.run_report(acc.account_id, {})["totals"]["sessions"] == 3      # exactly once
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages") or []
    assert [_json.loads(m["Body"])["DDBStreamBatchInfo"]["startSequenceNumber"] for m in left] == [
        "000000000000000000001"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=left[0]["ReceiptHandle"], VisibilityTimeout=0)

    assert cli.main(["dlq", "replay", "--stream", "--drop-expired"]) == 0
    assert "0 stream batches handled again" in capsys.readouterr().out
    assert not sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages")
    assert service.run_report(acc.account_id, {})["totals"]["sessions"] == 3


def test_a_dead_lettered_batch_replays_only_the_part_that_failed() -> None:
    assert streams._parts_of("arn:aws:lambda:us-east-1:1:function:calltrack-prod-outbox_calls") == ("outbox",)
    assert streams._parts_of("arn:aws:lambda:us-east-1:1:function:calltrack-prod-stream_calls") == ("rollups",)
    assert streams._parts_of("local:StreamPoller") == streams.PARTS


def test_only_a_trimmed_range_counts_as_expired(monkeypatch) -> None:
    from botocore.exceptions import ClientError

    from chalicelib import aws

    class Streams:
        def __init__(self, code):
            self.code = code

        def get_shard_iterator(self, **kw):
            raise ClientError({"Error": {"Code": self.code, "Message": "x"}}, "GetShardIterator")

    for code, expired in (("TrimmedDataAccessException", True), ("ResourceNotFoundException", True),
                          ("AccessDeniedException", False), ("ThrottlingException", False)):
        monkeypatch.setattr(aws, "client", lambda name, c=code: Streams(c))
        if expired:
            assert streams._records_between("arn", "shard", "1" * 21, "2" * 21) is None
        else:
            with pytest.raises(ClientError):
                streams._records_between("arn", "shard", "1" * 21, "2" * 21)
