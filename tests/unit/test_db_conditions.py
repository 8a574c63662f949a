"""One test of "the write's condition did not hold" for every data layer (chalicelib/db.py)."""
from __future__ import annotations

from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.db import condition_failed


def test_only_a_refused_condition_counts():
    refused = UpdateError("no", cause=ClientError({"Error": {"Code": "ConditionalCheckFailedException",
                                                             "Message": "The conditional request failed"}},
                                                  "UpdateItem"))
    throttled = PutError("no", cause=ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}},
                                                 "PutItem"))
    timed_out = PutError("no", cause=ReadTimeoutError(endpoint_url="http://127.0.0.1:5000"))
    assert condition_failed(refused)
    assert not condition_failed(throttled) and not condition_failed(timed_out)
    assert not condition_failed(PutError("no")) and not condition_failed(ValueError("x"))
