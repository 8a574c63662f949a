"""The recordings archive: every recording Vonage announces is copied into the
deployment's S3 bucket, and played from there (docs/intelligence.md, "Recordings").

- `Call Recorded` (calls/outbox.py) → the `recordings` consumer (`handle`) → `archive_call`:
  each recording fact of the call not archived yet is streamed from Vonage (the SDK's
  `download_recording`, the application's JWT) into a temporary file — whatever its size,
  nothing is held in memory — and uploaded with S3's managed transfer (multipart past
  8 MB), encrypted (SSE-S3, or SSE-KMS with the account's key) and tagged with its
  retention class; then its entry is added to the call item (`Call.archived`).
- Playback: `link(...)` presigns a GET of the archived object for `LINK_SECONDS`; the API
  answers it as JSON (`…/recording-link`) or redirects to it (`…/recording`). No audio
  passes through Lambda, so a recording of any length plays, and it keeps playing after
  Vonage deleted its copy (30 days).
- Retention: the bucket's lifecycle expires each object by its `calltrack-retention` tag
  (`RETENTION_CLASSES` days, infra/recordings.json). The account's `recordings` section
  picks a class; unset, the account's `retention_days` rounded up to the next class, so a
  recording never outlives the call it is played through by more than the rounding.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Dict, List, Mapping, Optional

from chalicelib import config
from chalicelib.errors import NotFound

Clock = Callable[[], float]
RETENTION_CLASSES = (30, 90, 180, 365, 730, 1095, 1825, 2555, 3650)   # days; 2555 = 7 years
RETENTION_TAG = "calltrack-retention"
LINK_SECONDS = 300
PREFIX = "recordings"
EXTENSIONS = {"audio/mpeg": "mp3", "audio/wav": "wav", "audio/ogg": "ogg", "audio/mp4": "m4a"}

SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "archive": {"type": "boolean",
                    "description": "copy every recording to the recordings bucket (default true)"},
        "retention_days": {"enum": [*RETENTION_CLASSES, None],
                           "description": "days the archived recording is kept (default: the account's "
                                          "retention_days rounded up to one of these)"},
        "kms_key_id": {"type": "string", "minLength": 1, "maxLength": 2048,
                       "description": "SSE-KMS key for this account's recordings (default SSE-S3)"},
    },
}


class NotArchived(NotFound):
    code = "recording_not_archived"


def retention_class(days: int) -> int:
    """The smallest lifecycle class that keeps a recording `days` days (the longest one above)."""
    return next((c for c in RETENTION_CLASSES if c >= days), RETENTION_CLASSES[-1])


def lifecycle_rules() -> List[Dict[str, Any]]:
    """The bucket's lifecycle (CloudFormation's shape): one expiry rule per retention class."""
    rules: List[Dict[str, Any]] = [
        {"Id": f"retention-{days}d", "Status": "Enabled", "ExpirationInDays": days,
         "TagFilters": [{"Key": RETENTION_TAG, "Value": str(days)}]} for days in RETENTION_CLASSES]
    rules.append({"Id": "abort-incomplete-uploads", "Status": "Enabled",
                  "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
    return rules


def _s3_lifecycle_rules() -> List[Dict[str, Any]]:
    """`lifecycle_rules` in the S3 API's shape (put_bucket_lifecycle_configuration)."""
    out: List[Dict[str, Any]] = []
    for rule in lifecycle_rules():
        if "TagFilters" in rule:
            tag = rule["TagFilters"][0]
            out.append({"ID": rule["Id"], "Status": "Enabled", "Expiration": {"Days": rule["ExpirationInDays"]},
                        "Filter": {"Tag": tag}})
        else:
            out.append({"ID": rule["Id"], "Status": "Enabled", "Filter": {"Prefix": ""},
                        "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"]})
    return out


@lru_cache(maxsize=1)
def bucket() -> str:
    """The recordings bucket: the setting, the local one, or the one infra/recordings.json
    names after the AWS account and region (one STS call per container)."""
    named = config.recordings_bucket()
    if named:
        return named
    from chalicelib import aws

    account = aws.client("sts").get_caller_identity()["Account"]
    return f"calltrack-recordings-{account}-{config.region()}"


@lru_cache(maxsize=1)
def _signer() -> Any:
    """An S3 client for presigning (SigV4, the regional endpoint: what SSE-KMS objects need)."""
    import boto3
    from botocore.config import Config

    from chalicelib import aws

    credentials = aws.LOCAL_CREDENTIALS if config.is_local() and not os.environ.get("AWS_ACCESS_KEY_ID") else {}
    return boto3.client("s3", region_name=config.region(), endpoint_url=config.aws_endpoint(),
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"
                                                                    if config.aws_endpoint() else "virtual"}),
                        **credentials)


def bootstrap() -> str:
    """Locally: create the recordings bucket as infra/recordings.json declares it (idempotent)."""
    from chalicelib import aws

    s3, name = aws.client("s3"), bucket()
    if name not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": _s3_lifecycle_rules()})
    return name


# --- what is archived, on the call item ---------------------------------------------------

def entries(archived: Any) -> Dict[str, Dict[str, Any]]:
    """The call's archived recordings by their Vonage URL (the earliest copy of each)."""
    out: Dict[str, Dict[str, Any]] = {}
    for raw in sorted(archived or ()):
        entry = json.loads(raw)
        if entry.get("u") and (entry["u"] not in out or entry.get("at", 0) < out[entry["u"]].get("at", 0)):
            out[entry["u"]] = entry
    return out


def key_of(account_id: str, call_id: str, started_at: Optional[float], name: str, content_type: str) -> str:
    day = datetime.fromtimestamp(started_at or 0, tz=timezone.utc)
    return (f"{PREFIX}/account_id={account_id}/{day:%Y/%m/%d}/{call_id}/"
            f"{name}.{EXTENSIONS.get(content_type, 'audio')}")


def _section(account_id: str) -> Dict[str, Any]:
    from chalicelib import accounts

    account = accounts.get_account(account_id)
    section = dict((account.config or {}).get("recordings") or {})
    section.setdefault("retention_days", None)
    if section["retention_days"] is None:
        section["retention_days"] = retention_class(int(account.settings.retention_days))
    return section


def archive_call(call_id: str, s3: Any = None, vonage_client: Any = None, http: Any = None,
                 clock: Clock = time.time) -> List[Dict[str, Any]]:
    """Copy the call's recordings not archived yet; answer the entries added. Raises
    `recordings.RecordingUnavailable` when Vonage does not hand one out (retry later)."""
    import hashlib

    from botocore.exceptions import ClientError
    from pynamodb.exceptions import DoesNotExist

    from chalicelib import aws
    from chalicelib.calls import lifecycle, state
    from chalicelib.calls.models import Call
    from chalicelib.integrations.errors import PermanentError, RetryableError
    from chalicelib.observability import count
    from chalicelib.reports import recordings

    try:
        item = Call.get(call_id, consistent_read=True)
    except DoesNotExist as err:
        raise PermanentError(f"no call {call_id!r}") from err
    if not item.account_id:
        raise PermanentError(f"call {call_id!r} has no account")
    section = _section(item.account_id)
    if section.get("archive") is False:
        return []
    done = entries(item.archived)
    facts = [f for f in state.decode(item.evs or ()) if f.get("k") == "record" and f.get("url")]
    added: List[Dict[str, Any]] = []
    s3 = s3 or aws.client("s3")
    for fact in sorted(facts, key=lambda f: (f.get("st") or 0, f["url"])):
        if fact["url"] in done:
            continue
        name = fact.get("rid") or hashlib.sha256(fact["url"].encode()).hexdigest()[:32]
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "recording")
            kind = recordings.download(fact["url"], path, vonage_client, http)
            size = os.path.getsize(path)
            key = key_of(item.account_id, call_id, item.started_at, name, kind)
            extra: Dict[str, Any] = {"ContentType": kind, "Tagging": f"{RETENTION_TAG}={section['retention_days']}",
                                     "Metadata": {"call-id": call_id, "kind": str(fact.get("kind") or "call")}}
            extra.update({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": section["kms_key_id"]}
                         if section.get("kms_key_id") else {"ServerSideEncryption": "AES256"})
            try:
                s3.upload_file(path, bucket(), key, ExtraArgs=extra)
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code in ("NoSuchBucket", "AccessDenied", "InvalidBucketName", "KMS.NotFoundException"):
                    raise PermanentError(f"s3://{bucket()}/{key}: {code}") from err
                raise RetryableError(f"s3://{bucket()}/{key}: {code or err}") from err
            except Exception as err:   # boto3's transfer wraps network failures in its own errors
                raise RetryableError(f"s3://{bucket()}/{key}: {type(err).__name__}") from err
        entry = {"u": fact["url"], "rid": fact.get("rid"), "kind": fact.get("kind") or "call", "key": key,
                 "b": size, "ct": kind, "ret": section["retention_days"], "at": round(clock(), 3)}
        lifecycle.keep_archive(call_id, entry)
        count("RecordingsArchived")
        added.append(entry)
    return added


def handle(event: Dict[str, Any]) -> None:
    """The `recordings` consumer: `Call Recorded` → the call's recordings archived."""
    from chalicelib.integrations.errors import PermanentError, RetryableError
    from chalicelib.reports.recordings import RecordingTooLarge, RecordingUnavailable

    call_id = (event.get("detail") or {}).get("call_id")
    if not call_id:
        raise PermanentError("a Call Recorded event without call_id")
    try:
        archive_call(call_id)
    except RecordingTooLarge as err:   # (never: the archive reads without a limit)
        raise PermanentError(str(err)) from err
    except RecordingUnavailable as err:
        if "only" in str(err) or "not an http" in str(err):   # an address we will never fetch
            raise PermanentError(f"the recording cannot be fetched: {err}") from err
        raise RetryableError(f"the recording could not be fetched: {err}") from err


# --- playback --------------------------------------------------------------------------------

def pick(archived: Any, recording_url: Optional[str]) -> Optional[Dict[str, Any]]:
    """The archived copy of the call's recording (the one its record names, else the first)."""
    found = entries(archived)
    if recording_url and recording_url in found:
        return found[recording_url]
    return min(found.values(), key=lambda e: (e.get("kind") != "call", e.get("at", 0)), default=None)


def link(entry: Mapping[str, Any], clock: Clock = time.time) -> Dict[str, Any]:
    """A presigned GET of an archived recording, valid `LINK_SECONDS`."""
    url = _signer().generate_presigned_url(
        "get_object", ExpiresIn=LINK_SECONDS,
        Params={"Bucket": bucket(), "Key": entry["key"], "ResponseContentType": entry.get("ct") or "audio/mpeg"})
    expires = datetime.fromtimestamp(clock() + LINK_SECONDS, tz=timezone.utc)
    return {"url": url, "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "content_type": entry.get("ct"), "bytes": entry.get("b"), "kind": entry.get("kind"),
            "archived_at": datetime.fromtimestamp(entry.get("at") or 0, tz=timezone.utc)
            .isoformat(timespec="seconds").replace("+00:00", "Z")}


def link_of(account_id: str, call_id: str) -> Dict[str, Any]:
    """The presigned link of the account's call's archived recording, or NotFound."""
    from chalicelib.calls import store

    item = store.item_of(account_id, call_id)
    entry = pick(item.archived, (item.rec or {}).get("recording_url"))
    if entry is None:
        if (item.rec or {}).get("recording_url"):
            raise NotArchived(f"call '{call_id}''s recording is not archived yet: "
                              f"GET /v1/accounts/{account_id}/calls/{call_id}/recording plays it from Vonage")
        raise NotFound(f"call '{call_id}' has no recording")
    return link(entry)


# --- infrastructure ---------------------------------------------------------------------------

INFRA = os.path.join(os.path.dirname(__file__), "..", "..", "infra", "recordings.json")


def infra_template() -> Dict[str, Any]:
    """infra/recordings.json: the bucket (private, encrypted, TLS only, the lifecycle above)."""
    arn = {"Fn::GetAtt": ["CalltrackRecordingsBucket", "Arn"]}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Calltrack recordings archive: every call recording copied from Vonage "
                       "(recordings/account_id=<id>/<yyyy>/<mm>/<dd>/<call_id>/<recording>.<ext>), encrypted, "
                       "expired by its calltrack-retention tag. Generated by "
                       "`python -m chalicelib.reports.archive --write-infra`.",
        "Resources": {
            "CalltrackRecordingsBucket": {
                "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketName": {"Fn::Sub": "calltrack-recordings-${AWS::AccountId}-${AWS::Region}"},
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]},
                    "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                       "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "LifecycleConfiguration": {"Rules": lifecycle_rules()},
                },
            },
            "CalltrackRecordingsBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "CalltrackRecordingsBucket"}, "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                                   "Action": "s3:*",
                                   "Resource": [arn, {"Fn::Sub": "${CalltrackRecordingsBucket.Arn}/*"}],
                                   "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}},
            },
        },
        "Outputs": {"CalltrackRecordingsBucketName": {
            "Description": "The recordings archive (the functions derive this name unless CALLTRACK_RECORDINGS_BUCKET "
                           "names another)",
            "Value": {"Ref": "CalltrackRecordingsBucket"}}},
    }


def infra_text() -> str:
    return json.dumps(infra_template(), indent=2) + "\n"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write-infra"]:
        with open(INFRA, "w", encoding="utf-8") as fh:
            fh.write(infra_text())
    else:
        sys.stdout.write(infra_text())
