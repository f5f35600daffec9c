"""S3 Batch Operations (the catalogue backfill): verdicts and a result code per task."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff

from gatekeeper.handlers.runtime import runtime
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.samples import make_audio
from tests.aws.support import BUCKET, Context, upload

PLATFORM = {"uploader-id": "u-1", "terms-version": "2025-05-14", "genai-opt-in": "true"}
AWKWARD_KEY = "catalogue/Björk & friends=1+1 100%.mp3"


def task(key: str, *, version_id: str | None = None, schema: str = "2.0", bucket: str = BUCKET) -> dict[str, Any]:
    """One task as S3 Batch Operations sends it: schema 1.0 URL-encodes the key and names the bucket by ARN."""
    if schema == "1.0":
        return {
            "taskId": str(uuid.uuid4()),
            "s3Key": quote_plus(key, safe="/"),
            "s3VersionId": version_id,
            "s3BucketArn": f"arn:aws:s3:::{bucket}",
        }
    return {"taskId": str(uuid.uuid4()), "s3Key": key, "s3VersionId": version_id, "s3Bucket": bucket}


def invocation(*tasks: dict[str, Any], schema: str = "2.0") -> dict[str, Any]:
    job: dict[str, Any] = {"id": str(uuid.uuid4())}
    if schema == "2.0":
        job["userArguments"] = {}
    return {"invocationSchemaVersion": schema, "invocationId": str(uuid.uuid4()), "job": job, "tasks": list(tasks)}


def codes(response: dict[str, Any]) -> list[str]:
    return [result["resultCode"] for result in response["results"]]


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries without their sleeps (the retry decisions are unchanged)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


def test_every_task_gets_its_code_decided_unreadable_and_missing(handler: Any, s3: Any, table: FlagsTable) -> None:
    # Given a catalogue object that is readable, one that is not audio, and a key that no longer exists
    upload(s3, AWKWARD_KEY, make_audio("mp3", tags={"title": "Jóga"}), PLATFORM)
    upload(s3, "catalogue/broken.mp3", b"\x00" * 4096, PLATFORM)
    event = invocation(task(AWKWARD_KEY), task("catalogue/broken.mp3"), task("catalogue/gone.mp3"))
    # When the batch engine invokes the function with them (schema 2.0: keys not URL-encoded)
    response = handler.lambda_handler(event, Context())
    # Then the response echoes the invocation, with one result per task, in order
    assert {k: response[k] for k in ("invocationSchemaVersion", "invocationId", "treatMissingKeysAs")} == {
        "invocationSchemaVersion": "2.0",
        "invocationId": event["invocationId"],
        "treatMissingKeysAs": "TemporaryFailure",
    }
    assert [r["taskId"] for r in response["results"]] == [t["taskId"] for t in event["tasks"]]
    # And decided objects succeed, the unreadable one included; the missing one can never succeed
    assert codes(response) == ["Succeeded", "Succeeded", "PermanentFailure"]
    readable = table.get(f"s3://{BUCKET}/{AWKWARD_KEY}")
    unreadable = table.get(f"s3://{BUCKET}/catalogue/broken.mp3")
    assert readable is not None and readable["eligible"] == {"ai_training": True, "genai_training": True}
    assert unreadable is not None and unreadable["eligible"] == {"ai_training": False, "genai_training": False}
    assert unreadable["reasons"]["ai_training"][0].startswith("UNREADABLE")
    assert "unreadable" in response["results"][1]["resultString"]
    assert table.get(f"s3://{BUCKET}/catalogue/gone.mp3") is None


def test_schema_1_keys_are_url_decoded_and_buckets_named_by_arn(handler: Any, s3: Any, table: FlagsTable) -> None:
    # Given an object with an awkward key, listed by a schema 1.0 job (URL-encoded key, bucket ARN)
    upload(s3, AWKWARD_KEY, make_audio("flac", tags={"label": "Indie"}), PLATFORM)
    # When it is invoked
    response = handler.lambda_handler(invocation(task(AWKWARD_KEY, schema="1.0"), schema="1.0"), Context())
    # Then the key was decoded: the object was found and decided
    assert codes(response) == ["Succeeded"]
    assert response["invocationSchemaVersion"] == "1.0"
    item = table.get(f"s3://{BUCKET}/{AWKWARD_KEY}")
    assert item is not None and item["rights"]["label"] == "Indie"


def test_a_version_listed_by_the_manifest_is_the_one_decided(handler: Any, s3: Any, table: FlagsTable) -> None:
    # Given a versioned bucket whose key was overwritten after the inventory listed its first version
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = upload(s3, "v.mp3", make_audio("mp3", tags={"label": "First"}), PLATFORM)
    upload(s3, "v.mp3", make_audio("mp3", tags={"label": "Second"}), PLATFORM)
    # When the task names the first version
    response = handler.lambda_handler(invocation(task("v.mp3", version_id=first.version_id)), Context())
    # Then that version is read and recorded
    assert codes(response) == ["Succeeded"]
    item = table.get(f"s3://{BUCKET}/v.mp3")
    assert item is not None and (item["version_id"], item["rights"]["label"]) == (first.version_id, "First")


def test_a_notification_verdict_is_never_overridden(handler: Any, s3: Any, table: FlagsTable) -> None:
    # Given an object already decided from its upload notification, then overwritten (the notification is pending)
    first = upload(s3, "n.mp3", make_audio("mp3", tags={"label": "First"}), PLATFORM)
    assert codes(handler.lambda_handler(invocation(task("n.mp3")), Context())) == ["Succeeded"]
    assert table.get(f"s3://{BUCKET}/n.mp3")["etag"] == first.etag
    upload(s3, "n.mp3", make_audio("mp3", tags={"label": "Second"}), PLATFORM)
    # When the backfill reaches the key again
    response = handler.lambda_handler(invocation(task("n.mp3")), Context())
    # Then the task succeeds (nothing to retry) but the row still describes the upload it was decided for:
    # only the newer upload's own notification, which carries a sequencer, may replace it
    assert codes(response) == ["Succeeded"]
    assert response["results"][0]["resultString"].startswith("superseded")
    assert table.get(f"s3://{BUCKET}/n.mp3")["etag"] == first.etag


def _throttle(status: int, body: bytes) -> Any:
    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, {}, _Raw(body))

    return answer


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@pytest.mark.parametrize(
    ("service", "status", "body"),
    [
        ("s3", 503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"),
        (
            "dynamodb",
            400,
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}',
        ),
    ],
)
def test_throttling_that_outlasts_the_retries_is_a_temporary_failure(
    handler: Any, s3: Any, table: FlagsTable, no_backoff: None, service: str, status: int, body: bytes
) -> None:
    # Given an object, and an AWS service that throttles every call (botocore retries, then gives up)
    upload(s3, "t.mp3", make_audio("mp3"), PLATFORM)
    client = getattr(runtime(), service)
    sent = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    client.meta.events.register_first(f"before-send.{service}", _throttle(status, body))
    # When the task is invoked
    response = handler.lambda_handler(invocation(task("t.mp3")), Context())
    # Then it is a temporary failure (the batch engine retries it), after botocore's own retries
    assert codes(response) == ["TemporaryFailure"]
    assert len(sent) > 1
    assert table.get(f"s3://{BUCKET}/t.mp3") is None


def test_an_invalid_policy_fails_every_task_temporarily(
    handler: Any, s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a policy that does not validate
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"policy_id": "p", "terms": [{"version": "v", "effective": "2024-02-30"}]}))
    monkeypatch.setenv("POLICY_URI", str(policy))
    upload(s3, "p.mp3", make_audio("mp3"), PLATFORM)
    # When a batch is invoked
    response = handler.lambda_handler(invocation(task("p.mp3"), task("q.mp3")), Context())
    # Then every task is retried later, saying why
    assert codes(response) == ["TemporaryFailure", "TemporaryFailure"]
    assert "2024-02-30" in response["results"][0]["resultString"]


def test_a_malformed_task_is_a_permanent_failure(handler: Any, s3: Any) -> None:
    # Given a task without a key, next to a good one
    upload(s3, "ok.mp3", make_audio("mp3"), PLATFORM)
    bad = {"taskId": "bad-task", "s3Bucket": BUCKET}
    # When they are invoked
    response = handler.lambda_handler(invocation(bad, task("ok.mp3")), Context())
    # Then the malformed one can never succeed, and the good one is decided
    assert codes(response) == ["PermanentFailure", "Succeeded"]
    assert response["results"][0]["taskId"] == "bad-task"


@pytest.mark.parametrize("name", ["s3BatchOperationEventSchemaV1.json", "s3BatchOperationEventSchemaV2.json"])
def test_reference_invocations_are_answered_per_task(handler: Any, events_reference_dir: Path, name: str) -> None:
    # Given AWS's own sample invocations, naming a bucket this account does not have
    event = json.loads((events_reference_dir / name).read_text())
    # When they are invoked
    response = handler.lambda_handler(event, Context())
    # Then the one task is answered as one that can never succeed, with the invocation echoed
    assert response["invocationId"] == event["invocationId"]
    assert response["invocationSchemaVersion"] == event["invocationSchemaVersion"]
    [result] = response["results"]
    assert (result["taskId"], result["resultCode"]) == (event["tasks"][0]["taskId"], "PermanentFailure")
    assert "NoSuchBucket" in result["resultString"]
