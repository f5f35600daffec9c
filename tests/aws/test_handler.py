"""The Lambda handler end to end, against moto: S3 → event (every shape) → verdict row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from gatekeeper.handlers.runtime import runtime
from gatekeeper.handlers.uploads import RecordsFailed
from gatekeeper.dal.flags_table import FlagsTable, eligible_shard
from gatekeeper.local import lambda_sqs_event
from gatekeeper.events import UnsupportedEvent
from gatekeeper.models import PolicyError
from gatekeeper.samples import make_audio
from tests.aws.support import (
    BUCKET,
    TABLE,
    Context,
    eventbridge,
    remove,
    s3_notification,
    sqs_batch,
    sqs_of,
    upload,
)
from tests.aws.test_events import AWKWARD_KEYS

PLATFORM = {"uploader-id": "u-42", "terms-version": "2025-05-14", "genai-opt-in": "true"}
TAGS = {"title": "Jóga", "artist": "Björk", "label": "Indie Label", "isrc": "GBAYE2400001"}
BOTH_GRANTED = {"ai_training": ["GRANTED_BY_TERMS:2025-05-14"], "genai_training": ["GRANTED_BY_TERMS:2025-05-14"]}


def row(uri: str) -> dict[str, Any] | None:
    return FlagsTable(boto3.client("dynamodb"), TABLE).get(uri)


def metric_values(lines: list[dict[str, Any]], name: str) -> list[tuple[dict[str, str], float]]:
    found = []
    for line in lines:
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            if any(metric["Name"] == name for metric in directive["Metrics"]):
                dimensions = {dim: line[dim] for dims in directive["Dimensions"] for dim in dims}
                values = line[name] if isinstance(line[name], list) else [line[name]]
                found.extend((dimensions, value) for value in values)
    return found


def test_upload_through_real_s3_to_sqs_notifications_yields_the_spec_row(handler: Any, s3: Any) -> None:
    # Given a bucket notifying a queue (moto delivers the notifications, test event included)
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    # When an upload lands and the function consumes the queue
    data = make_audio("mp3", tags=TAGS)
    s3.put_object(Bucket=BUCKET, Key="in/Björk & friends=1+1 100%.mp3", Body=data, Metadata=PLATFORM)
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    response = handler.lambda_handler(lambda_sqs_event(messages, queue_arn), Context())
    # Then no message failed and the row is exactly SPEC's (moto's events carry no sequencer)
    assert response == {"batchItemFailures": []}
    uri = f"s3://{BUCKET}/in/Björk & friends=1+1 100%.mp3"
    item = row(uri)
    decided_at = item.pop("decided_at")
    assert decided_at.endswith("Z") and decided_at.startswith("20")
    assert item == {
        "object_uri": uri,
        "bucket": BUCKET,
        "key": "in/Björk & friends=1+1 100%.mp3",
        "etag": s3.head_object(Bucket=BUCKET, Key="in/Björk & friends=1+1 100%.mp3")["ETag"].strip('"'),
        "size": len(data),
        "status": "decided",
        "eligible": {"ai_training": True, "genai_training": True},
        "reasons": BOTH_GRANTED,
        "policy_id": "terms-2025-05",
        "terms_version": "2025-05-14",
        "accepted_terms_version": "2025-05-14",
        "rights": {
            "uploader_id": "u-42",
            "title": "Jóga",
            "artist": "Björk",
            "label": "Indie Label",
            "isrc": "GBAYE2400001",
            "format": "mp3",
        },
        "signals": [],
        "inputs": {
            "metadata": PLATFORM,
            "rights": {k: [v] for k, v in TAGS.items()},
            "signals": [],
            "format": "mp3",
            "consent": {"source": "object"},
        },
        # the implementation's own: the keys of the eligible-only indexes and of the uploader index
        "elig_ai_training": eligible_shard(uri),
        "elig_genai_training": eligible_shard(uri),
        "uploader_id": "u-42",
    }


@pytest.mark.parametrize("shape", ["s3", "sqs", "eventbridge"])
@pytest.mark.parametrize("key", AWKWARD_KEYS[:4])
def test_every_shape_decides_then_revokes_awkward_keys(handler: Any, s3: Any, shape: str, key: str) -> None:
    # Given an upload and then its deletion, notified in one shape
    wrap = {"s3": s3_notification, "sqs": sqs_of, "eventbridge": eventbridge}[shape]
    put = upload(s3, key, make_audio("flac", tags={"label": "Acme Records"}), PLATFORM)
    # When the creation is handled
    handler.lambda_handler(wrap(put), Context())
    # Then the row sits under the decoded key, with its sequencer and the carve-out
    item = row(f"s3://{BUCKET}/{key}")
    assert (item["key"], item["sequencer"], item["status"]) == (key, put.sequencer, "decided")
    assert item["reasons"]["ai_training"] == ["CARVE_OUT:acme-records"]
    # When the deletion is handled, then the row is revoked
    handler.lambda_handler(wrap(remove(s3, key)), Context())
    assert row(f"s3://{BUCKET}/{key}")["reasons"] == {"ai_training": ["DELETED"], "genai_training": ["DELETED"]}


@pytest.mark.parametrize("body", [b"", b"\x00" * 5000, b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\x00" * 100])
def test_corrupt_or_empty_object_gets_an_unreadable_verdict(handler: Any, s3: Any, body: bytes, emitted: Any) -> None:
    # Given an upload that is not readable audio
    put = upload(s3, "broken.mp3", body, PLATFORM)
    # When it is handled
    response = handler.lambda_handler(sqs_of(put), Context())
    # Then the message succeeded and the verdict fails closed with UNREADABLE
    assert response == {"batchItemFailures": []}
    item = row(f"s3://{BUCKET}/broken.mp3")
    assert item["eligible"] == {"ai_training": False, "genai_training": False}
    for reasons in item["reasons"].values():
        assert reasons[0].split(":")[0] == "UNREADABLE"
        assert not any(reason.startswith("GRANTED_BY_TERMS") for reason in reasons)
    assert metric_values(emitted(), "Unreadable") == [({"service": "gatekeeper"}, 1.0)]


def test_sqs_batch_reports_only_the_failing_messages(handler: Any, s3: Any, emitted: Any) -> None:
    # Given a batch of four messages: two good uploads, one malformed body, one whose read fails
    good = [upload(s3, f"good-{n}.mp3", make_audio("mp3"), PLATFORM) for n in range(2)]
    doomed = upload(s3, "doomed.mp3", make_audio("mp3"), PLATFORM)
    event = sqs_batch(
        json.dumps(s3_notification(good[0])),
        "hello world",
        json.dumps(s3_notification(doomed)),
        json.dumps(s3_notification(good[1])),
    )

    def access_denied(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "doomed.mp3":
            raise runtime().s3.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetObject"
            )

    runtime().s3.meta.events.register("before-parameter-build.s3.GetObject", access_denied)
    # When the batch is handled
    response = handler.lambda_handler(event, Context())
    # Then exactly the malformed and the failed messages are reported, the others decided
    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    assert failed == {event["Records"][1]["messageId"], event["Records"][2]["messageId"]}
    assert all(row(f"s3://{BUCKET}/good-{n}.mp3")["status"] == "decided" for n in range(2))
    assert row(f"s3://{BUCKET}/doomed.mp3") is None
    lines = emitted()
    assert metric_values(lines, "RecordFailures") == [({"service": "gatekeeper"}, 2.0)]
    assert any("malformed SQS message" in line.get("message", "") for line in lines)


def test_every_message_failing_still_answers_per_message(handler: Any) -> None:
    # Given a batch whose every message is malformed
    event = sqs_batch("not json", "{}")
    # When it is handled, then the batch does not raise: each message is reported
    response = handler.lambda_handler(event, Context())
    assert len(response["batchItemFailures"]) == 2


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_s3_test_event_is_acknowledged(handler: Any, events_reference_dir: Path) -> None:
    # Given the repository's SQS-wrapped s3:TestEvent
    event = json.loads((Path(__file__).parents[2] / "events" / "sqs-test-event.json").read_text())
    # Then it is acknowledged, not failed
    assert handler.lambda_handler(event, Context()) == {"batchItemFailures": []}


def test_direct_s3_event_processes_every_record_then_raises(handler: Any, s3: Any) -> None:
    # Given one S3 notification with three records, the middle one failing to read
    changes = [upload(s3, f"r{n}.wav", make_audio("wav"), PLATFORM) for n in range(3)]

    def throttle(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "r1.wav":
            raise runtime().s3.exceptions.ClientError(
                {"Error": {"Code": "InternalError", "Message": "try again"}}, "GetObject"
            )

    runtime().s3.meta.events.register("before-parameter-build.s3.GetObject", throttle)
    # When it is handled, then the invocation raises (Lambda retries the event)
    with pytest.raises(RecordsFailed, match="1 of 3"):
        handler.lambda_handler(s3_notification(*changes), Context())
    # And the other records were still decided
    assert row(f"s3://{BUCKET}/r0.wav")["status"] == row(f"s3://{BUCKET}/r2.wav")["status"] == "decided"


def test_invalid_policy_fails_every_record(
    handler: Any, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emitted: Any
) -> None:
    # Given an invalid policy
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps({"policy_id": "x", "terms": [], "carve_outs": [], "extra": 1}))
    monkeypatch.setenv("POLICY_URI", str(bad))
    changes = [upload(s3, f"p{n}.mp3", make_audio("mp3"), PLATFORM) for n in range(2)]
    # When an SQS batch arrives, then every message fails and nothing is written
    event = sqs_of(*changes)
    response = handler.lambda_handler(event, Context())
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}
    assert row(f"s3://{BUCKET}/p0.mp3") is None
    # And one clear log line and the PolicyInvalid metric say why
    lines = emitted()
    errors = [line for line in lines if line.get("level") == "ERROR"]
    assert len(errors) == 1 and "invalid policy" in errors[0]["message"] and "extra" in errors[0]["error"]
    assert metric_values(lines, "PolicyInvalid") == [({"service": "gatekeeper"}, 1.0)]
    # When a direct S3 event arrives, then the invocation fails
    with pytest.raises(PolicyError):
        handler.lambda_handler(s3_notification(*changes), Context())


def test_short_remaining_time_stops_taking_records(handler: Any, s3: Any) -> None:
    # Given three messages and a context with time for one record only
    changes = [upload(s3, f"t{n}.mp3", make_audio("mp3"), PLATFORM) for n in range(3)]
    event = sqs_of(*changes)
    context = Context(60_000, 9_000)
    # When they are handled
    response = handler.lambda_handler(event, context)
    # Then the first is decided and the others are reported failed, to come back
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        r["messageId"] for r in event["Records"][1:]
    ]
    assert row(f"s3://{BUCKET}/t0.mp3")["status"] == "decided"
    assert row(f"s3://{BUCKET}/t1.mp3") is None


def test_verdict_metrics_per_purpose_and_outcome(handler: Any, s3: Any, emitted: Any) -> None:
    # Given an upload eligible for ai_training only (no genai opt-in)
    put = upload(s3, "m.mp3", make_audio("mp3"), {"terms-version": "2025-05-14"})
    # When it is decided
    handler.lambda_handler(s3_notification(put), Context())
    # Then one Verdicts datapoint per purpose carries its outcome, and Decided counts it
    lines = emitted()
    verdicts = sorted((d["purpose"], d["outcome"], d["service"], v) for d, v in metric_values(lines, "Verdicts"))
    assert verdicts == [
        ("ai_training", "eligible", "gatekeeper", 1.0),
        ("genai_training", "ineligible", "gatekeeper", 1.0),
    ]
    assert metric_values(lines, "Decided") == [({"service": "gatekeeper"}, 1.0)]
    decided = [line for line in lines if line.get("outcome") == "decided"]
    assert decided and decided[0]["object_uri"] == f"s3://{BUCKET}/m.mp3"
    assert decided[0]["sequencer"] == put.sequencer


def test_duplicate_and_stale_events_write_nothing(handler: Any, s3: Any, emitted: Any) -> None:
    # Given an upload decided once
    put = upload(s3, "d.mp3", make_audio("mp3"), PLATFORM)
    handler.lambda_handler(s3_notification(put), Context())
    first = row(f"s3://{BUCKET}/d.mp3")
    emitted()
    # When the same event is delivered again
    handler.lambda_handler(s3_notification(put), Context())
    # Then the row is unchanged and the event counted as superseded
    assert row(f"s3://{BUCKET}/d.mp3") == first
    assert metric_values(emitted(), "Superseded") == [({"service": "gatekeeper"}, 1.0)]


def test_the_function_never_writes_to_the_upload_bucket(handler: Any, s3: Any) -> None:
    # Given every S3 call the function makes is recorded
    calls: list[str] = []
    runtime().s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    put = upload(s3, "loop.mp3", make_audio("mp3"), PLATFORM)
    # When an upload and its removal are handled
    handler.lambda_handler(sqs_of(put), Context())
    handler.lambda_handler(sqs_of(remove(s3, "loop.mp3")), Context())
    # Then it only ever read objects (no event can re-trigger it)
    assert set(calls) == {"GetObject"}


def test_unsupported_event_is_refused(handler: Any, emitted: Any) -> None:
    # Given an event of no supported shape
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    # Then the invocation fails with a clear error, logged and counted
    with pytest.raises(UnsupportedEvent):
        handler.lambda_handler(event, Context())
    lines = emitted()
    assert any(line.get("message") == "unsupported event shape; nothing processed" for line in lines)
    assert metric_values(lines, "RecordFailures") == [({"service": "gatekeeper"}, 1.0)]


def test_a_removal_without_a_sequencer_revokes(handler: Any, s3: Any, emitted: Any) -> None:
    # Given a decided, eligible upload, and a removal event carrying no sequencer (it cannot be ordered)
    put = upload(s3, "unordered.mp3", make_audio("mp3"), PLATFORM)
    handler.lambda_handler(s3_notification(put), Context())
    assert row(f"s3://{BUCKET}/unordered.mp3")["eligible"]["ai_training"] is True
    removal = s3_notification(remove(s3, "unordered.mp3"))
    del removal["Records"][0]["s3"]["object"]["sequencer"]
    # When it is handled
    response = handler.lambda_handler(removal, Context())
    # Then it revokes the row all the same: revoking can only deny
    assert response == {"processed": 1}
    item = row(f"s3://{BUCKET}/unordered.mp3")
    assert (item["status"], item["eligible"]) == ("deleted", {"ai_training": False, "genai_training": False})


def test_a_verdict_whose_row_would_pass_400_kb_is_written_fail_closed(handler: Any, s3: Any) -> None:
    # Given an eligible upload, then a new 0.5 MB version of it, opted out, with 60 long titles and artists
    first = upload(s3, "large tags.mp3", make_audio("mp3"), PLATFORM)
    assert handler.lambda_handler(sqs_of(first), Context()) == {"batchItemFailures": []}
    assert row(f"s3://{BUCKET}/large tags.mp3")["eligible"]["ai_training"] is True
    long_values = {"title": [f"{n} " + "t" * 4000 for n in range(60)], "artist": [f"{n} " + "a" * 4000 for n in range(60)]}
    second = upload(s3, "large tags.mp3", make_audio("mp3", tags=long_values), {**PLATFORM, "ai-opt-out": "true"})
    # When it is delivered
    response = handler.lambda_handler(sqs_of(second), Context())
    # Then nothing fails (no retries, no dead-letter queue), and the row is the new version's, fail-closed
    assert response == {"batchItemFailures": []}
    item = row(f"s3://{BUCKET}/large tags.mp3")
    assert (item["etag"], item["sequencer"]) == (second.etag, second.sequencer)
    assert item["reasons"] == {p: ["UNREADABLE:row-size"] for p in ("ai_training", "genai_training")}
    assert item["inputs"]["metadata"]["ai-opt-out"] == "true"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FLAGS_TABLE_NAME", "", "FLAGS_TABLE_NAME"),
        ("POLICY_URI", "", "POLICY_URI"),
        ("GATEKEEPER_MIN_REMAINING_MS", "soon", "soon"),
        ("GATEKEEPER_LIMIT_MAX_XMP_BYTES", "-1", "GATEKEEPER_LIMIT_MAX_XMP_BYTES"),
    ],
)
def test_broken_configuration_fails_every_message_not_the_batch(
    handler: Any, s3: Any, monkeypatch: pytest.MonkeyPatch, emitted: Any, variable: str, value: str, message: str
) -> None:
    # Given a function whose environment is unusable
    monkeypatch.setenv(variable, value)
    event = sqs_of(upload(s3, "c.mp3", make_audio("mp3"), PLATFORM))
    # When a batch arrives, then every message is reported failed, with one line naming the problem
    response = handler.lambda_handler(event, Context())
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    errors = [line for line in emitted() if line.get("level") == "ERROR"]
    assert len(errors) == 1 and message in errors[0]["error"]


@pytest.mark.parametrize("fmt", ["mp3", "wav", "mp4"])
def test_a_failing_later_read_is_retried_never_an_unreadable_verdict(handler: Any, s3: Any, fmt: str) -> None:
    # Given an upload whose tags lie past the first range (at the end), and S3 failing that GET
    layout = {"moov_at_end": True} if fmt == "mp4" else {}
    put = upload(s3, f"later.{fmt}", make_audio(fmt, tags={"title": "t"}, size_hint=2_000_000, **layout), PLATFORM)

    def fail_tail(params: dict[str, Any], **_: Any) -> None:
        if not params.get("Range", "").startswith("bytes=0-"):
            raise runtime().s3.exceptions.ClientError(
                {"Error": {"Code": "InternalError", "Message": "x"}}, "GetObject"
            )

    runtime().s3.meta.events.register("before-parameter-build.s3.GetObject", fail_tail)
    # When its event is handled
    response = handler.lambda_handler(sqs_of(put), Context())
    # Then the message is reported for redelivery and no verdict was written
    assert len(response["batchItemFailures"]) == 1
    assert row(f"s3://{BUCKET}/later.{fmt}") is None
