"""Test helpers for the AWS path: moto resources and events in every shape.

Events are built the way AWS builds them: S3 notifications URL-encode the key
(`quote_plus`), EventBridge does not; SQS wraps an S3 notification in a body.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from gatekeeper.dal.flags_table import create_table
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH

BUCKET = "gatekeeper-uploads-test"
TABLE = "gatekeeper-flags-test"
DECISION_DATE = "2026-01-15"
REGION = "us-east-1"


def create_flags_table(dynamodb: Any, name: str = TABLE) -> None:
    """The flags table as the template declares it (keys, eligible-only indexes, stream)."""
    create_table(dynamodb, name)


def create_bucket(s3: Any, name: str = BUCKET, *, versioned: bool = False) -> None:
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


_sequence = itertools.count(0x0100_0000_0000_0000_00)


def next_sequencer() -> str:
    """A fresh S3-like sequencer (18 hex digits, increasing within the test process)."""
    return f"{next(_sequence):018X}"


@dataclass(frozen=True)
class Change:
    """One S3 operation on a key, as its notification describes it."""

    kind: str  # "created" | "removed"
    bucket: str
    key: str
    sequencer: str
    etag: str | None = None
    version_id: str | None = None
    size: int | None = None
    delete_marker: bool = False


def upload(s3: Any, key: str, body: bytes, metadata: dict[str, str] | None = None, *, bucket: str = BUCKET) -> Change:
    response = s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata or {})
    return Change(
        "created",
        bucket,
        key,
        next_sequencer(),
        etag=response["ETag"].strip('"'),
        version_id=response.get("VersionId"),
        size=len(body),
    )


def remove(s3: Any, key: str, *, bucket: str = BUCKET, version_id: str | None = None) -> Change:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    response = s3.delete_object(**params)
    marker = bool(response.get("DeleteMarker")) and not version_id
    return Change(
        "removed",
        bucket,
        key,
        next_sequencer(),
        version_id=response.get("VersionId") or version_id,
        delete_marker=marker,
    )


# ---------------------------------------------------------------- shapes


def _object(change: Change, key: str, *, etag: str, version_id: str) -> dict[str, Any]:
    """The event's `object`, with the field names of its shape and only the fields it has."""
    obj: dict[str, Any] = {"key": key, "sequencer": change.sequencer}
    if change.etag:
        obj[etag] = change.etag
    if change.size is not None:
        obj["size"] = change.size
    if change.version_id:
        obj[version_id] = change.version_id
    return obj


def s3_record(change: Change) -> dict[str, Any]:
    if change.kind == "created":
        name = "ObjectCreated:Put"
    else:
        name = "ObjectRemoved:DeleteMarkerCreated" if change.delete_marker else "ObjectRemoved:Delete"
    obj = _object(change, quote_plus(change.key, safe="/"), etag="eTag", version_id="versionId")
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2026-01-15T10:00:00.000Z",
        "eventName": name,
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "192.0.2.1"},
        "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "uploads",
            "bucket": {
                "name": change.bucket,
                "ownerIdentity": {"principalId": "EXAMPLE"},
                "arn": f"arn:aws:s3:::{change.bucket}",
            },
            "object": obj,
        },
    }


def s3_notification(*changes: Change) -> dict[str, Any]:
    return {"Records": [s3_record(change) for change in changes]}


def sqs_message(body: str, *, message_id: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1768471200000",
            "SenderId": "S3",
            "ApproximateFirstReceiveTimestamp": "1768471200000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:gatekeeper-uploads",
        "awsRegion": REGION,
    }


def sqs_batch(*bodies: str) -> dict[str, Any]:
    return {"Records": [sqs_message(body) for body in bodies]}


def sqs_of(*changes: Change) -> dict[str, Any]:
    """One SQS message per change, as S3 → SQS delivers them."""
    return sqs_batch(*(json.dumps(s3_notification(change)) for change in changes))


def eventbridge(change: Change) -> dict[str, Any]:
    obj = _object(change, change.key, etag="etag", version_id="version-id")
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": change.bucket},
        "object": obj,
        "request-id": "EXAMPLE",
        "requester": "123456789012",
        "reason": "PutObject" if change.kind == "created" else "DeleteObject",
    }
    if change.kind == "removed":
        detail["deletion-type"] = "Delete Marker Created" if change.delete_marker else "Permanently Deleted"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created" if change.kind == "created" else "Object Deleted",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-01-15T10:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{change.bucket}"],
        "detail": detail,
    }


class Context:
    """The Lambda context: fixed remaining times, consumed one per call (the last repeats)."""

    function_name = "gatekeeper-test"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:gatekeeper-test"
    memory_limit_in_mb = 512
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/gatekeeper-test"
    log_stream_name = "test"

    def __init__(self, *remaining_ms: int) -> None:
        self._remaining = list(remaining_ms or (900_000,))

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining.pop(0) if len(self._remaining) > 1 else self._remaining[0]


def handler_environment(table: str = TABLE, policy_uri: str | None = None) -> dict[str, str]:
    return {
        "FLAGS_TABLE_NAME": table,
        "POLICY_URI": policy_uri or str(DEFAULT_POLICY_PATH),
        "GATEKEEPER_DECISION_DATE": DECISION_DATE,
        "GATEKEEPER_POLICY_TTL_SECONDS": "0",
        "GATEKEEPER_MIN_REMAINING_MS": "10000",
    }




class S3Calls:
    """Counts the S3 requests a client makes (a re-decision must make none: no audio is read)."""

    def __init__(self, client: Any) -> None:
        self.calls = 0
        client.meta.events.register("before-call.s3", self._count)

    def _count(self, **_: Any) -> None:
        self.calls += 1
