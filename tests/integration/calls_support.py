"""Helpers the calls integration tests share: Vonage's webhooks sent to the app the way
Vonage sends them, the HTTPS Vonage stub wired into the app, replaying canned sequences."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional
from urllib.parse import urlencode

from tests.integration.vonage_stub import VonageStub

JSON = {"Content-Type": "application/json"}
# What the callback widget's request carries: a browser on the account's site.
WIDGET = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
          "Origin": "http://localhost:8001"}


@contextmanager
def vonage_stub(directory: Path) -> Iterator[VonageStub]:
    """The stub, with the app's Vonage settings pointing at it for the duration."""
    from chalicelib.calls import vonage_client

    with VonageStub(directory) as stub:
        env = stub.env()
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        vonage_client.reset()
        try:
            yield stub
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            vonage_client.reset()


def answer(client, params: Dict[str, str]) -> Any:
    """Vonage's default answer webhook: a GET with the call in the query string."""
    response = client.http.get("/vonage/answer?" + urlencode(params))
    assert response.status_code == 200, response.body
    return response.json_body


def send(client, path: str, query: Dict[str, str], body: Dict[str, Any],
         headers: Optional[Dict[str, str]] = None):
    url = path + ("?" + urlencode(query) if query else "")
    response = client.http.post(url, headers={**JSON, **(headers or {})}, body=json.dumps(body))
    assert response.status_code in (200, 202, 204), (path, response.status_code, response.body)
    return response


def replay(client, webhooks: List[Dict[str, Any]]) -> None:
    for webhook in webhooks:
        send(client, webhook["path"], webhook["query"], webhook["body"])


def read_call(client, account_id: str, call_id: str, api_key: str) -> Dict[str, Any]:
    response = client.http.get(f"/v1/accounts/{account_id}/calls/{call_id}",
                               headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200, response.body
    return response.json_body


def list_calls(client, account_id: str, api_key: str, **params: Any) -> Dict[str, Any]:
    query = "?" + urlencode(params) if params else ""
    response = client.http.get(f"/v1/accounts/{account_id}/calls{query}",
                               headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200, response.body
    return response.json_body


def event_queue(account_id: str, detail_type: str) -> str:
    """An SQS queue receiving the account's events of one type from the bus."""
    import uuid

    from chalicelib import aws, config

    sqs, events = aws.client("sqs"), aws.client("events")
    name = "events-" + uuid.uuid4().hex[:12]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["calltrack"], "detail-type": [detail_type], "detail": {"account_id": [account_id]}}
    events.put_rule(Name=name, EventBusName=config.event_bus_name(), EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=config.event_bus_name(), Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(url: str) -> List[Dict[str, Any]]:
    """Every event detail the queue got since the last look (then deleted), once the calls
    stream's outbox has published what the calls' writes stand for."""
    from chalicelib import aws, streams

    streams.catch_up(("calls",))
    sqs, out = aws.client("sqs"), []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return out
        for message in batch:
            out.append(json.loads(message["Body"])["detail"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
