"""The lease call and heartbeat against the emulator: real conditional writes."""
from __future__ import annotations

import json

import pytest

from chalicelib import accounts, streams
from chalicelib.calls import attribution
from chalicelib.dni import history, sessions, usage
from chalicelib.dni.models import Account, Number, Session
from chalicelib.errors import LeaseGone, UnknownAccount

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
HEADERS = {"Content-Type": "text/plain", "User-Agent": BROWSER}


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def post(client, path, body, headers=None):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.http.post(path, headers={**HEADERS, **(headers or {})}, body=payload)


def lease(client, account_id, url="http://localhost/", **extra):
    response = post(client, "/v1/sessions", {"account": account_id, "url": url, **extra})
    assert response.status_code == 200, response.json_body
    return response.json_body


def req(account_id, url="http://localhost/", **kw):
    return sessions.SessionRequest(account=account_id, url=url, user_agent=BROWSER, **kw)


def test_a_visitor_leases_a_pool_number_with_the_contract_fields(client, account):
    acc = account()
    body = lease(client, acc.account_id, "http://localhost/?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=boiler")
    assert body["method"] == "dynamic"
    assert body["number"] in acc_pool(acc)
    assert body["display"].startswith("(415) 55")
    assert (body["source"], body["medium"], body["campaign"], body["keyword"]) == ("google", "cpc", "spring", "boiler")
    assert body["heartbeat_seconds"] == 60 and body["expires_at"].endswith("Z")
    assert body["replace"][0] == acc.default_number
    stored = Session.get(body["session_id"])
    assert (stored.source, stored.device, stored.browser, stored.number) == ("google", "desktop", "Chrome", body["number"])


def acc_pool(acc):
    return {n.number for n in Number.pool_index.query(f"{acc.account_id}#main")}


def test_two_visitors_never_share_a_number_and_the_pool_falls_back_when_exhausted(client, account):
    acc = account()
    bodies = [lease(client, acc.account_id) for _ in range(7)]
    dynamic = [b["number"] for b in bodies if b["method"] == "dynamic"]
    assert sorted(dynamic) == sorted(acc_pool(acc))
    assert [b["method"] for b in bodies[5:]] == ["default", "default"]
    assert {b["number"] for b in bodies[5:]} == {acc.default_number}


def test_exhausted_pool_shows_the_static_number_of_the_visit_source(account):
    acc = account(pool=["+14155557001"])
    paid_pool_then_static = [
        {"id": "paid", "match": {"group": "paid"}, "pool": "main"},
        {"id": "google", "match": {"source": "google"}, "number": "+14155550180"},
    ]
    item = Account.get(acc.account_id)
    item.rules = paid_pool_then_static
    item.save()
    accounts.invalidate(acc.account_id)
    clock = Clock()
    first = sessions.start(req(acc.account_id, url="http://localhost/?gclid=A"), clock)
    second = sessions.start(req(acc.account_id, url="http://localhost/?gclid=B"), clock)
    direct = sessions.start(req(acc.account_id), clock)
    assert (first.method, first.number) == ("dynamic", "+14155557001")
    assert (second.method, second.number, second.visit["source"]) == ("static", "+14155550180", "google")
    assert (direct.method, direct.number) == ("default", acc.default_number)
    assert usage.exhaustions(acc.account_id, "main", clock.t - 1, clock.t) == 2, "both refusals counted"


def test_returning_visitor_keeps_the_number_and_heartbeat_extends_the_lease(account):
    acc = account()
    clock = Clock()
    first = sessions.start(req(acc.account_id), clock)
    clock.t += 120
    beat = sessions.heartbeat(first.session_id, "http://localhost/pricing", clock)
    assert beat["number"] == first.number
    assert beat["expires_at"] == sessions.iso(clock.t + 300)
    clock.t += 30
    again = sessions.start(req(acc.account_id, session_id=first.session_id), clock)
    assert (again.session_id, again.number, again.visit["source"]) == (first.session_id, first.number, "(direct)")
    # Each page with the time it was seen (`<epoch>|<url>`): the call's journey shows them.
    pages = [p.split("|", 1) for p in Number.get(first.number).pages]
    assert [url for _, url in pages] == ["http://localhost/", "http://localhost/pricing"]
    assert int(pages[1][0]) - int(pages[0][0]) >= 30 and abs(int(pages[1][0]) - (clock.t - 30)) <= 1


def test_heartbeat_after_expiry_is_gone_but_a_return_before_reuse_keeps_the_number(account):
    acc = account()
    clock = Clock()
    first = sessions.start(req(acc.account_id), clock)
    clock.t += 301
    with pytest.raises(LeaseGone):
        sessions.heartbeat(first.session_id, None, clock)
    back = sessions.start(req(acc.account_id, session_id=first.session_id), clock)
    assert back.number == first.number


def test_expired_numbers_cool_down_and_the_least_recently_released_goes_next(account):
    acc = account(pool=["+14155557101", "+14155557102"], settings={"cooldown_seconds": 600})
    clock = Clock()
    a = sessions.start(req(acc.account_id), clock)
    clock.t += 100
    b = sessions.start(req(acc.account_id), clock)
    clock.t += 300 + 600 + 1          # a's lease ended at t0+300 and has rested; b's too
    c = sessions.start(req(acc.account_id), clock)
    assert c.number == a.number, "the number released longest ago is leased first"
    d = sessions.start(req(acc.account_id), clock)
    assert d.number == b.number


def test_hard_cooldown_refuses_a_resting_number_soft_reuses_it(account):
    for mode, expected in (("hard", "default"), ("soft", "dynamic")):
        acc = account(pool=["+14155557201"], settings={"cooldown_mode": mode, "cooldown_seconds": 600})
        clock = Clock()
        sessions.start(req(acc.account_id), clock)
        clock.t += 700                # lease ended at +300, resting until +900
        assert sessions.start(req(acc.account_id), clock).method == expected


def test_under_pressure_a_released_number_rests_at_least_the_hold(account):
    acc = account(pool=["+14155557211"], settings={"cooldown_seconds": 600, "lease_ttl_seconds": 300})
    clock = Clock()
    sessions.start(req(acc.account_id), clock)
    clock.t += 400                    # lease ended at +300: rested 100 s < the 300 s hold
    assert sessions.start(req(acc.account_id), clock).method == "default"
    clock.t += 200                    # rested 300 s: handed on although still cooling down
    assert sessions.start(req(acc.account_id), clock).method == "dynamic"


def test_a_lease_the_database_does_not_answer_gives_the_default_number(client, account, monkeypatch):
    """The claim transaction times out (a stalled table, an overloaded emulator): whether it
    was written is unknown, so the visitor gets the default number at once, a 200, not a
    503 after trying more numbers against a database that is not answering."""
    from botocore.exceptions import ReadTimeoutError
    from pynamodb import transactions
    from pynamodb.exceptions import TransactWriteError

    acc = account()
    tries = []

    def stalled(self):
        tries.append(1)
        raise TransactWriteError("Failed to write transaction items", ReadTimeoutError(endpoint_url="http://x"))

    monkeypatch.setattr(transactions.TransactWrite, "_commit", stalled)
    body = lease(client, acc.account_id)
    assert (body["method"], body["number"]) == ("default", acc.default_number)
    assert tries == [1]


def test_bots_get_the_default_number_and_no_lease(client, account):
    acc = account()
    body = post(client, "/v1/sessions", {"account": acc.account_id, "url": "http://localhost/"},
                {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}).json_body
    assert (body["method"], body["number"]) == ("default", acc.default_number)
    assert all(not n.holder for n in Number.pool_index.query(f"{acc.account_id}#main"))


def test_foreign_sites_and_origins_get_the_default_number(client, account):
    acc = account()
    foreign_page = lease(client, acc.account_id, "https://evil.example/")
    foreign_origin = post(client, "/v1/sessions", {"account": acc.account_id, "url": "http://localhost/"},
                          {"Origin": "https://evil.example"}).json_body
    assert foreign_page["method"] == foreign_origin["method"] == "default"
    own_origin = post(client, "/v1/sessions", {"account": acc.account_id, "url": "http://localhost/"},
                      {"Origin": "http://localhost:8001"}).json_body
    assert own_origin["method"] == "dynamic"


def test_the_lease_names_the_cookie_domain_subdomains_share(client, account):
    acc = account(domains=["acme.example", "localhost"])
    on_www = lease(client, acc.account_id, "https://www.acme.example/")
    assert on_www["method"] == "dynamic" and on_www["cookie_domain"] == "acme.example"
    assert lease(client, acc.account_id, "https://shop.acme.example/", session_id=on_www["session_id"])["number"] == on_www["number"]
    assert "cookie_domain" not in lease(client, acc.account_id, "http://localhost/")
    assert "cookie_domain" not in lease(client, acc.account_id, "https://evil.example/")
    host_only = account(domains=["acme.example"], extra_config={"cookie_domain": "host"})
    assert "cookie_domain" not in lease(client, host_only.account_id, "https://www.acme.example/")


def test_new_leases_per_ip_are_limited_when_configured(client, account):
    acc = account(settings={"ip_lease_limit": 2})
    got = [post(client, "/v1/sessions", {"account": acc.account_id, "url": "http://localhost/"},
                {"X-Forwarded-For": "203.0.113.7"}).json_body["method"] for _ in range(3)]
    other_ip = post(client, "/v1/sessions", {"account": acc.account_id, "url": "http://localhost/"},
                    {"X-Forwarded-For": "203.0.113.8"}).json_body["method"]
    assert got == ["dynamic", "dynamic", "default"] and other_ip == "dynamic"


def test_rules_and_geo_pick_their_numbers(client, account):
    acc = account()
    billboard = lease(client, acc.account_id, "http://localhost/?utm_source=billboard")
    organic = lease(client, acc.account_id, referrer="https://www.google.com/")
    german = post(client, "/v1/sessions", {"account": acc.account_id, "url": "http://localhost/"},
                  {"CloudFront-Viewer-Country": "DE"}).json_body
    override = lease(client, acc.account_id, country="de")
    assert (billboard["method"], billboard["number"]) == ("static", "+14155550170")
    assert (organic["number"], organic["source"], organic["medium"]) == ("+14155550150", "google", "organic")
    assert (german["number"], german["display"]) == ("+4930901820", "030 901820")
    assert override["number"] == "+4930901820"


def test_who_held_finds_the_session_at_call_time_with_confidence(account):
    acc = account(pool=["+14155557301"], settings={"cooldown_seconds": 0, "grace_seconds": 1800})
    clock = Clock()
    first = sessions.start(req(acc.account_id, url="http://localhost/?utm_source=fb"), clock)
    t_first = clock.t + 60
    clock.t += 400                               # first's lease ended at +300
    second = sessions.start(req(acc.account_id, url="http://localhost/?utm_source=tw"), clock)
    alone = history.who_held(first.number, t_first, grace=1800)
    assert alone.session_id == first.session_id and alone.confidence >= 0.75
    assert alone.holding.snap == {}              # the archive keeps times, not the attribution...
    call = attribution.attribute(Number.get(first.number), t_first, 1800)
    assert (call["session_id"], call["source"]) == (first.session_id, "fb")   # ...the session item does
    shared = history.who_held(first.number, clock.t + 10, grace=1800)
    # 10 s into the second visit, 110 s after the first lease ended: either may be calling.
    assert shared.session_id == second.session_id and 0.2 < shared.confidence < alone.confidence
    assert history.who_held(first.number, clock.t - 3600, grace=1800).holding is None


def test_account_cache_is_refreshed_after_invalidate(account):
    acc = account(settings={"heartbeat_seconds": 15})
    assert accounts.get_account(acc.account_id).settings.heartbeat_seconds == 15
    item = Account.get(acc.account_id)                        # changed behind the cache
    item.settings = {**(item.settings or {}), "heartbeat_seconds": 45}
    item.save()
    assert accounts.get_account(acc.account_id).settings.heartbeat_seconds == 15      # still cached
    accounts.invalidate(acc.account_id)
    assert accounts.get_account(acc.account_id).settings.heartbeat_seconds == 45


def test_an_unknown_account_is_read_once_per_window_not_per_request(monkeypatch):
    """Junk site keys (bots, a removed install) hit the lease path and stream records of a
    deleted account reach the consumer: each unknown id costs one read per container and
    window. An account created meanwhile is seen after the window, or at once where it was
    created (admin writes invalidate)."""
    import uuid

    reads = []
    real = Account.get
    monkeypatch.setattr(Account, "get", staticmethod(lambda *a, **k: (reads.append(a[0]), real(*a, **k))[1]))
    clock = Clock()
    later, now_made = "t-" + uuid.uuid4().hex[:12], "t-" + uuid.uuid4().hex[:12]
    for _ in range(5):
        with pytest.raises(UnknownAccount):
            accounts.get_account(later, clock)
    assert reads == [later]
    Account(later, name="", domains=[], default_number="+14155550100").save()   # behind the cache
    with pytest.raises(UnknownAccount):
        accounts.get_account(later, clock)
    clock.t += accounts.MISSING_SECONDS + 1
    assert accounts.get_account(later, clock).account_id == later
    with pytest.raises(UnknownAccount):
        accounts.get_account(now_made, clock)
    Account(now_made, name="", domains=[], default_number="+14155550100").save()
    accounts.invalidate(now_made)
    assert accounts.get_account(now_made, clock).account_id == now_made


def _received(sqs, queue: str, session_id: str) -> list:
    got = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return [e["detail"] for e in got if e["detail"]["session_id"] == session_id]
        got.extend(json.loads(m["Body"]) for m in batch)
        sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                          for i, m in enumerate(batch)])


def test_a_new_session_is_announced_on_the_bus(account, moto_endpoint):
    from chalicelib import aws
    from chalicelib.integrations import bus

    bus.bootstrap()
    sqs, eb = aws.client("sqs"), aws.client("events")
    queue = sqs.create_queue(QueueName="t-session-started")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    eb.put_rule(Name="t-session-started", EventBusName="calltrack",
                EventPattern=json.dumps({"source": ["calltrack"], "detail-type": ["Session Started"]}))
    eb.put_targets(Rule="t-session-started", EventBusName="calltrack", Targets=[{"Id": "q", "Arn": arn}])
    acc = account()
    streams.catch_up()                      # what earlier tests left in the stream
    lease = sessions.start(req(acc.account_id, url="http://localhost/?utm_source=fb&gclid=G7"), Clock())
    assert not _received(sqs, queue, lease.session_id)   # the lease itself publishes nothing
    streams.catch_up()                      # the outbox: the sessions stream publishes it
    streams.catch_up()                      # a second pass (a redelivery) publishes nothing more
    mine = _received(sqs, queue, lease.session_id)
    assert len(mine) == 1
    assert (mine[0]["source"], mine[0]["number"], mine[0]["click_ids"]) == ("fb", lease.number, {"gclid": "G7"})


def test_a_returning_visitor_brings_the_ga4_session_they_have_now(client, account):
    from chalicelib.dni.models import Number

    acc = account()
    headers = {"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}
    first = client.http.post("/v1/sessions", headers=headers, body=json.dumps(
        {"account": acc.account_id, "url": "http://localhost/a"})).json_body
    assert Number.get(first["number"]).ga_session_id is None          # gtag had not set its cookie yet
    again = client.http.post("/v1/sessions", headers=headers, body=json.dumps(
        {"account": acc.account_id, "url": "http://localhost/b", "session_id": first["session_id"],
         "ga_session_id": "1764110000"})).json_body
    assert again["session_id"] == first["session_id"]
    assert Number.get(first["number"]).ga_session_id == "1764110000"


def test_a_disabled_number_is_not_handed_back_to_a_returning_visitor(account):
    acc = account()
    clock = Clock()
    first = sessions.start(req(acc.account_id), clock)
    Number(first.number).update(actions=[Number.enabled.set(False)])     # the operator disables it
    sessions.heartbeat(first.session_id, None, clock)                      # the live visit keeps it
    clock.t += 3600                                                        # lease long over
    again = sessions.start(req(acc.account_id, session_id=first.session_id), clock)
    assert again.session_id != first.session_id and again.number != first.number


def test_the_pool_index_holds_no_pages_or_attribution_and_the_archive_counts_pages(account):
    """A lease reads the pool index: fixed-size entries (no page list, no snapshot) however
    many pages the holders saw. The handover archives the page count from it."""
    acc = account(pool=["+14155557311"], settings={"cooldown_seconds": 0})
    clock = Clock()
    first = sessions.start(req(acc.account_id, url="http://localhost/?utm_source=fb"), clock)
    for i in range(3):
        clock.t += 60
        sessions.heartbeat(first.session_id, f"http://localhost/page-{i}", clock)
    raw = Number._get_connection().query(f"{acc.account_id}#main", index_name="pool-index")["Items"][0]
    assert "pages" not in raw and "snap" not in raw and "callers" not in raw
    assert raw["page_count"] == {"N": "4"} and raw["holder"] == {"S": first.session_id}
    assert len(Number.get(first.number).pages) == 4            # the list stays on the item
    clock.t += 400
    second = sessions.start(req(acc.account_id, url="http://localhost/?utm_source=tw"), clock)
    assert second.number == first.number
    call = attribution.attribute(Number.get(first.number), clock.t - 300, 1800)
    assert (call["session_id"], call["source"], call["pages_seen"]) == (first.session_id, "fb", 4)


def test_a_lease_from_before_page_count_counts_its_landing_page(account):
    """A number leased by the previous release has pages but no page_count: its next page
    makes 2, not 1."""
    acc = account(pool=["+14155557321"], settings={"cooldown_seconds": 0})
    clock = Clock()
    first = sessions.start(req(acc.account_id), clock)
    Number(first.number).update(actions=[Number.page_count.remove()])      # as the previous release left it
    clock.t += 60
    sessions.heartbeat(first.session_id, "http://localhost/next", clock)
    assert Number.get(first.number).page_count == 2
