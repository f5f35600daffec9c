"""Event shapes: every SPEC shape normalises to the same `ObjectEvent`s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.events import (
    EventShape,
    UnsupportedEvent,
    batch_task_event,
    event_shape,
    object_events,
    sqs_body_events,
)
from gatekeeper.models import ObjectEvent
from tests.aws.support import BUCKET, Change, eventbridge, s3_notification, sqs_of

AWKWARD_KEYS = [
    "uploads/My Song (live).mp3",
    "a+b=c&d%20e.flac",
    "100% plus+minus.ogg",
    "artistes/Björk – Jóga 東京.m4a",
    "  leading and trailing  .wav",
]

PROJECT = Path(__file__).resolve().parents[2]


def reference(events_reference_dir: Path, name: str) -> dict:
    return json.loads((events_reference_dir / name).read_text())


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_keys_are_decoded_in_s3_and_sqs_shapes_and_taken_as_is_from_eventbridge(key: str) -> None:
    # Given the same upload notified in all three shapes (encoded as AWS encodes it)
    change = Change("created", BUCKET, key, "0A", etag="abc", size=10)
    direct = object_events(s3_notification(change))
    (message,) = sqs_of(change)["Records"]
    wrapped = sqs_body_events(message["body"])
    bridged = object_events(eventbridge(change))
    # Then each yields the decoded key and the same identity
    for events in (direct, wrapped, bridged):
        (event,) = events
        assert (event.key, event.bucket, event.etag, event.sequencer, event.size) == (key, BUCKET, "abc", "0A", 10)
        assert event.object_uri == f"s3://{BUCKET}/{key}"


def test_plus_in_an_s3_key_is_a_space_and_encoded_plus_is_a_plus() -> None:
    # Given raw S3 notification keys as AWS writes them
    notification = s3_notification(Change("created", BUCKET, "x", "01"))
    notification["Records"][0]["s3"]["object"]["key"] = "My+Song%2B1%25.mp3"
    # Then + decodes to a space and %2B to a plus
    assert object_events(notification)[0].key == "My Song+1%.mp3"


def test_eventbridge_keys_are_not_decoded() -> None:
    # Given an EventBridge event whose key contains characters that look encoded
    event = eventbridge(Change("created", BUCKET, "a+b%20c.mp3", "01"))
    # Then the key is taken literally
    assert object_events(event)[0].key == "a+b%20c.mp3"


def test_reference_s3_put_and_delete(events_reference_dir: Path) -> None:
    # Given AWS's own S3 notifications
    (put,) = object_events(reference(events_reference_dir, "s3Event.json"))
    (delete,) = object_events(reference(events_reference_dir, "s3EventDeleteObject.json"))
    (decoded,) = object_events(reference(events_reference_dir, "s3EventDecodedKey.json"))
    # Then a put decides, a delete revokes, and keys are URL-decoded
    assert put == ObjectEvent(
        kind="created",
        bucket="lambda-artifacts-deafc19498e3f2df",
        key="b21b84d653bb07b05b1e6b33684dc11b",
        etag="b21b84d653bb07b05b1e6b33684dc11b",
        sequencer="0C0F6F405D6ED209E1",
        size=1305107,
        event_name="ObjectCreated:Put",
        event_time="2019-09-03T19:37:27.192Z",
    )
    assert (delete.kind, delete.sequencer, delete.delete_marker) == ("removed", "0C0F6F405D6ED209E1", False)
    assert (decoded.key, decoded.version_id) == ("Happy Face.jpg", "version")


def test_reference_sqs_wrapped_notification(events_reference_dir: Path) -> None:
    # Given AWS's SQS-wrapped S3 notification
    payload = reference(events_reference_dir, "s3SqsEvent.json")
    assert event_shape(payload) is EventShape.SQS
    # Then its body yields the object, version included
    (event,) = sqs_body_events(payload["Records"][0]["body"])
    assert (event.kind, event.bucket, event.key) == ("created", "xxx", "test.pdf")
    assert (event.version_id, event.sequencer) == ("yd3d4HaWOT2zguDLvIQLU6ptDTwKBnQV", "00643717F9F8B85354")


def test_reference_eventbridge_created_deleted_and_expired(events_reference_dir: Path) -> None:
    # Given AWS's EventBridge S3 events
    (created,) = object_events(reference(events_reference_dir, "s3EventBridgeNotificationObjectCreatedEvent.json"))
    (deleted,) = object_events(reference(events_reference_dir, "s3EventBridgeNotificationObjectDeletedEvent.json"))
    (expired,) = object_events(reference(events_reference_dir, "s3EventBridgeNotificationObjectExpiredEvent.json"))
    # Then creation decides, deletion and lifecycle expiration revoke as delete markers
    assert (created.kind, created.key, created.etag, created.size) == (
        "created",
        "IMG_m7fzo3.jpg",
        "4e68adba0abe2dc8653dc3354e14c01d",
        184662,
    )
    assert (deleted.kind, deleted.delete_marker, deleted.etag) == ("removed", True, None)
    assert (expired.kind, expired.delete_marker, expired.event_name) == (
        "removed",
        True,
        "Object Deleted:Lifecycle Expiration",
    )


def test_s3_test_event_is_acknowledged_with_nothing_to_do() -> None:
    # Given the s3:TestEvent S3 sends when a notification is configured
    body = json.dumps(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-01-15T10:00:00Z", "Bucket": BUCKET}
    )
    # Then it yields no object events
    assert sqs_body_events(body) == []


def test_delete_marker_and_other_event_names() -> None:
    # Given a notification with a delete marker, a restore and a tagging event
    notification = s3_notification(
        Change("removed", BUCKET, "a", "01", version_id="m1", delete_marker=True),
        Change("created", BUCKET, "b", "02"),
        Change("created", BUCKET, "c", "03"),
    )
    notification["Records"][1]["eventName"] = "ObjectRestore:Completed"
    notification["Records"][2]["eventName"] = "ObjectTagging:Put"
    # Then only the removal is an object event, flagged as a delete marker
    (event,) = object_events(notification)
    assert (event.key, event.kind, event.delete_marker, event.version_id) == ("a", "removed", True, "m1")


@pytest.mark.parametrize(
    "event_name, delete_marker",
    [
        ("LifecycleExpiration:Delete", False),
        ("LifecycleExpiration:DeleteMarkerCreated", True),
        ("ObjectRemoved:Delete", False),
    ],
)
def test_lifecycle_expirations_are_removals(event_name: str, delete_marker: bool) -> None:
    # Given an S3 notification of a lifecycle expiration (S3 notifies these apart from ObjectRemoved)
    notification = s3_notification(Change("removed", BUCKET, "old take.mp3", "0A", version_id="v1"))
    notification["Records"][0]["eventName"] = event_name
    # Then it is a removal, flagged as a delete marker when it created one
    (event,) = object_events(notification)
    assert (event.kind, event.key, event.delete_marker) == ("removed", "old take.mp3", delete_marker)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {},
        {"Records": []},
        {"Records": [{"eventSource": "aws:dynamodb"}]},
        {"Records": [{"eventSource": "aws:s3"}, {"eventSource": "aws:sqs"}]},
        {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"},
    ],
)
def test_unknown_shapes_are_a_clear_error(payload: object) -> None:
    # Given a payload of no supported shape, then it is rejected with UnsupportedEvent
    with pytest.raises(UnsupportedEvent):
        event_shape(payload)


@pytest.mark.parametrize("body", ["hello world", "[1, 2]", json.dumps({"Records": [{"eventSource": "aws:sqs"}]})])
def test_malformed_sqs_bodies_are_a_clear_error(body: str) -> None:
    # Given an SQS body that is not an S3 notification, then it is rejected
    with pytest.raises(UnsupportedEvent):
        sqs_body_events(body)


def events_in(payload: dict) -> list[ObjectEvent]:
    """Every object event of a payload of any supported shape."""
    shape = event_shape(payload)
    if shape is EventShape.SQS:
        return [event for record in payload["Records"] for event in sqs_body_events(record["body"])]
    if shape is EventShape.S3_BATCH:
        version = payload["invocationSchemaVersion"]
        return [batch_task_event(task, version) for task in payload["tasks"]]
    return object_events(payload)


def test_sample_events_in_the_repository_parse() -> None:
    # Given the sample events shipped in events/
    samples = sorted((PROJECT / "events").glob("*.json"))
    assert len(samples) >= 8, "events/ holds a sample of every shape and kind"
    kinds = set()
    for path in samples:
        # Then each is of a supported shape and names only the example bucket
        events = events_in(json.loads(path.read_text()))
        assert all(event.bucket == "gatekeeper-uploads-example" for event in events), path.name
        kinds |= {(event.kind, event.delete_marker) for event in events}
    # And together they create, delete and place a delete marker
    assert kinds >= {("created", False), ("removed", False), ("removed", True)}


def test_eventbridge_event_delivered_through_sqs() -> None:
    # Given an EventBridge rule targeting the queue: the body is the EventBridge event
    change = Change("removed", BUCKET, "a+b.mp3", "0B", version_id="m2", delete_marker=True)
    body = json.dumps(eventbridge(change))
    # Then the body yields the same event as EventBridge itself, key taken literally
    assert sqs_body_events(body) == object_events(eventbridge(change))
    assert sqs_body_events(body)[0].key == "a+b.mp3"
