"""Normalise every event shape the handler accepts to `ObjectEvent`s.

Shapes (SPEC "Events"):
- S3 event notification: `Records[].eventSource == "aws:s3"`; keys URL-encoded
  with `+` for a space.
- SQS: `Records[].eventSource == "aws:sqs"`, each body an S3 notification (or an
  EventBridge S3 event, for an EventBridge rule targeting the queue); an
  `s3:TestEvent` body yields nothing.
- EventBridge: `source == "aws.s3"`, `detail-type` "Object Created" / "Object
  Deleted"; keys are not encoded.
- S3 Batch Operations (`invocationSchemaVersion` and `tasks`): each task names an
  object of the catalogue to decide; keys are URL-encoded in schema 1.0, not in 2.0.

Only creations and removals (lifecycle expirations included) become events; other S3 event types (restores,
tagging, replication, ...) yield nothing. A payload of no known shape raises
`UnsupportedEvent`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, S3EventBridgeNotificationEvent
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

from gatekeeper.models import EventKind, ObjectEvent

S3_TEST_EVENT = "s3:TestEvent"
DELETE_MARKER_CREATED = "DeleteMarkerCreated"
#: Removals: deletes and delete markers, and lifecycle expirations (which S3 notifies apart).
_REMOVAL_PREFIXES = ("ObjectRemoved:", "LifecycleExpiration:")
_EVENTBRIDGE_KINDS: dict[str, EventKind] = {"Object Created": "created", "Object Deleted": "removed"}


class UnsupportedEvent(ValueError):
    """A payload that is none of the shapes the gatekeeper accepts."""


class EventShape(StrEnum):
    S3 = "s3"
    SQS = "sqs"
    EVENTBRIDGE = "eventbridge"
    S3_BATCH = "s3_batch"


def event_shape(payload: Any) -> EventShape:
    """Which shape a Lambda payload has; `UnsupportedEvent` if none."""
    if not isinstance(payload, Mapping):
        raise UnsupportedEvent(f"event is a {type(payload).__name__}, not a JSON object")
    if payload.get("source") == "aws.s3" and "detail-type" in payload:
        return EventShape.EVENTBRIDGE
    if "invocationSchemaVersion" in payload and isinstance(payload.get("tasks"), list):
        return EventShape.S3_BATCH
    records = payload.get("Records")
    if isinstance(records, list) and records and all(isinstance(r, Mapping) for r in records):
        sources = {record.get("eventSource") for record in records}
        if sources == {"aws:s3"}:
            return EventShape.S3
        if sources == {"aws:sqs"}:
            return EventShape.SQS
        raise UnsupportedEvent(f"records from unsupported event sources {sorted(map(str, sources))}")
    raise UnsupportedEvent("event is neither an S3 notification, an SQS batch nor an EventBridge S3 event")


def object_events(payload: Any) -> list[ObjectEvent]:
    """The object events of an S3 notification or an EventBridge S3 event (not SQS)."""
    shape = event_shape(payload)
    if shape is EventShape.EVENTBRIDGE:
        event = eventbridge_event(payload)
        return [event] if event else []
    if shape is EventShape.S3:
        return [event for record in S3Event(payload).records if (event := s3_record_event(record))]
    if shape is EventShape.S3_BATCH:
        raise UnsupportedEvent("an S3 Batch Operations invocation is handled task by task: use batch_task_event")
    raise UnsupportedEvent("an SQS batch is handled message by message: use sqs_body_events")


def sqs_body_events(body: str) -> list[ObjectEvent]:
    """The object events in one SQS message body; [] for an `s3:TestEvent`."""
    try:
        payload = json.loads(body)
    except (TypeError, json.JSONDecodeError) as exc:
        raise UnsupportedEvent(f"SQS message body is not JSON: {str(body)[:80]!r}") from exc
    if isinstance(payload, Mapping) and payload.get("Event") == S3_TEST_EVENT:
        return []
    if event_shape(payload) is EventShape.SQS:
        raise UnsupportedEvent("SQS message body is itself an SQS batch")
    return object_events(payload)


def s3_record_event(record: S3EventRecord) -> ObjectEvent | None:
    """One S3 notification record; None for an event type other than created/removed."""
    name = record.event_name
    kind: EventKind
    if name.startswith("ObjectCreated:"):
        kind = "created"
    elif name.startswith(_REMOVAL_PREFIXES):
        kind = "removed"
    else:
        return None
    message = record.s3
    obj = message.get_object
    return ObjectEvent(
        kind=kind,
        bucket=message.bucket.name,
        key=unquote_plus(obj.key),
        version_id=obj.version_id or None,
        etag=obj.etag or None,
        sequencer=obj.get("sequencer") or None,
        size=_size(obj.get("size")),
        event_name=name,
        event_time=record.get("eventTime"),
        delete_marker=name.endswith(DELETE_MARKER_CREATED),
    )


def eventbridge_event(payload: Mapping[str, Any]) -> ObjectEvent | None:
    """An EventBridge S3 event; None for a detail-type other than created/deleted."""
    event = S3EventBridgeNotificationEvent(dict(payload))
    kind = _EVENTBRIDGE_KINDS.get(event.detail_type)
    if kind is None:
        return None
    detail = event.detail
    obj = detail.object
    return ObjectEvent(
        kind=kind,
        bucket=detail.bucket.name,
        key=obj["key"],  # EventBridge keys are not URL-encoded (the data class would decode them)
        version_id=obj.get("version-id") or None,
        etag=obj.get("etag") or None,
        sequencer=obj.get("sequencer") or None,
        size=_size(obj.get("size")),
        event_name=f"{event.detail_type}:{detail.reason}" if detail.reason else event.detail_type,
        event_time=event.get("time"),
        delete_marker=detail.deletion_type == "Delete Marker Created",
    )


def batch_task_event(task: Any, schema_version: str) -> ObjectEvent:
    """The object an S3 Batch Operations task names, to decide; `UnsupportedEvent` if malformed.

    It carries no sequencer (the table adapter then adds a row, or refreshes the
    same upload's, never overriding a notification's) and no ETag; the version
    when the manifest lists one.
    """
    if not isinstance(task, Mapping) or not isinstance(task.get("s3Key"), str) or not task["s3Key"]:
        raise UnsupportedEvent("S3 Batch Operations task without an s3Key")
    arn = str(task.get("s3BucketArn") or "")
    bucket = task.get("s3Bucket") or (arn.split(":::", 1)[1] if ":::" in arn else "")
    if not bucket:
        raise UnsupportedEvent(f"S3 Batch Operations task {task.get('taskId')!r} without a bucket")
    key = task["s3Key"] if schema_version != "1.0" else unquote_plus(task["s3Key"])
    return ObjectEvent(
        kind="created",
        bucket=bucket,
        key=key,
        version_id=task.get("s3VersionId") or None,
        event_name=f"S3BatchOperations:{schema_version}",
    )


def _size(value: Any) -> int | None:
    return int(value) if value is not None else None
