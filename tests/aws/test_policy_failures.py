"""The function never runs on a policy it could not read or validate (SPEC "Policy document").

For every way a policy can be broken — on S3 or in a file — an SQS batch has every
message in `batchItemFailures`, the reason is logged once and a `PolicyInvalid`
metric is emitted (captured from the EMF output), nothing is written; a direct
S3 event raises, and S3 Batch Operations tasks are temporary failures. A policy S3
cannot serve for a while (throttling, 5xx after botocore's retries) takes the same
path with its own metric, `PolicyUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff

from gatekeeper.errors import PolicyUnavailable
from gatekeeper.handlers.runtime import reset_runtime, runtime
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH
from gatekeeper.models import PolicyError
from gatekeeper.samples import make_audio
from tests.aws.support import BUCKET, Context, s3_notification, sqs_of, upload
from tests.aws.test_handler import PLATFORM, metric_values, row
from tests.downstream.test_batch_operations import codes, invocation, task

SPEC_TEXT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
POLICY_KEY = "config/policy.json"


def _on_s3(body: bytes) -> Callable[[Any, Path], str]:
    def place(s3: Any, _tmp: Path) -> str:
        s3.put_object(Bucket=BUCKET, Key=POLICY_KEY, Body=body)
        return f"s3://{BUCKET}/{POLICY_KEY}"

    return place


def _in_file(body: bytes | None) -> Callable[[Any, Path], str]:
    def place(_s3: Any, tmp: Path) -> str:
        path = tmp / "policy.json"
        if body is not None:
            path.write_bytes(body)
        return str(path)

    return place


REPEATED = (SPEC_TEXT.rstrip().removesuffix("}") + ', "carve_outs": []}').encode()
DEEP = SPEC_TEXT.replace('"labels": [', '"labels": [' + "[" * 50_000 + "]" * 50_000 + ", ", 1).encode()
HUGE_NUMBER = SPEC_TEXT.replace('"policy_id": "terms-2025-05"', '"policy_id": ' + "7" * 5000).encode()
LATIN_1 = SPEC_TEXT.replace("Acme Records", "Acmé Records").encode("latin-1")
OVER_BOUND = (SPEC_TEXT.rstrip().removesuffix("}") + ', "x": "' + "a" * 2048 + '"}').encode()

#: (how the policy is broken, where it is put, what the logged error says)
BROKEN = {
    "repeated key on S3": (_on_s3(REPEATED), "key 'carve_outs' appears twice"),
    "deep nesting on S3": (_on_s3(DEEP), "nested deeper than 5 levels"),
    "5,000-digit integer on S3": (_on_s3(HUGE_NUMBER), "a number of 5000 digits"),
    "missing S3 object": (lambda s3, tmp: f"s3://{BUCKET}/no/such/policy.json", "no such object"),
    "not UTF-8 on S3": (_on_s3(LATIN_1), "not UTF-8"),
    "over the size bound on S3": (_on_s3(OVER_BOUND), "over the size bound of 2048 bytes"),
    "deep nesting in a file": (_in_file(DEEP), "nested deeper than 5 levels"),
    "missing file": (_in_file(None), "policy.json: no such file"),
    "not UTF-8 in a file": (_in_file(LATIN_1), "not UTF-8"),
    "over the size bound in a file": (_in_file(OVER_BOUND), "over the size bound of 2048 bytes"),
}


@pytest.fixture
def broken_policy(
    request: pytest.FixtureRequest, handler: Any, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The function's POLICY_URI pointing at the broken policy of the test's parameter; the expected error."""
    place, error = BROKEN[request.param]
    monkeypatch.setenv("POLICY_URI", place(s3, tmp_path))
    if "size bound" in request.param:  # a small bound, so a small document exceeds it
        monkeypatch.setenv("GATEKEEPER_POLICY_MAX_BYTES", "2048")
        assert len(SPEC_TEXT.encode()) < 2048 < len(OVER_BOUND)
    reset_runtime()
    return error


def _errors(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("level") == "ERROR"]


@pytest.mark.parametrize("broken_policy", list(BROKEN), indirect=True)
def test_every_message_fails_once_logged_and_counted(
    handler: Any, s3: Any, broken_policy: str, emitted: Any
) -> None:
    # Given three uploads and a policy that cannot be read or validated
    changes = [upload(s3, f"b{n}.mp3", make_audio("mp3"), PLATFORM) for n in range(3)]
    event = sqs_of(*changes)
    # When their SQS batch arrives
    response = handler.lambda_handler(event, Context())
    # Then every message is reported for redelivery and nothing is decided
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}
    assert all(row(f"s3://{BUCKET}/b{n}.mp3") is None for n in range(3))
    # And one log line says why, with the PolicyInvalid metric
    lines = emitted()
    (error,) = _errors(lines)
    assert error["message"].startswith("invalid policy") and broken_policy in error["error"]
    assert "\n" not in error["error"]
    assert metric_values(lines, "PolicyInvalid") == [({"service": "gatekeeper"}, 1.0)]
    assert metric_values(lines, "RecordFailures") == [({"service": "gatekeeper"}, 3.0)]


@pytest.mark.parametrize("broken_policy", ["repeated key on S3", "missing file"], indirect=True)
def test_direct_events_raise_and_batch_tasks_are_temporary_failures(
    handler: Any, s3: Any, broken_policy: str, emitted: Any
) -> None:
    change = upload(s3, "d.mp3", make_audio("mp3"), PLATFORM)
    with pytest.raises(PolicyError, match=broken_policy):
        handler.lambda_handler(s3_notification(change), Context())
    response = handler.lambda_handler(invocation(task("d.mp3"), task("e.mp3")), Context())
    assert codes(response) == ["TemporaryFailure", "TemporaryFailure"]
    assert len(metric_values(emitted(), "PolicyInvalid")) == 2


# ---------------------------------------------------------------- S3 cannot serve the policy for a while


class Throttle:
    """The requests sent for the policy while S3 answers them 503 SlowDown; `active` turns it off."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.active = True


@pytest.fixture
def throttled_policy(handler: Any, s3: Any, monkeypatch: pytest.MonkeyPatch) -> Throttle:
    """A valid policy on S3 that S3 answers with 503 SlowDown on every attempt."""
    s3.put_object(Bucket=BUCKET, Key=POLICY_KEY, Body=SPEC_TEXT.encode())
    monkeypatch.setenv("POLICY_URI", f"s3://{BUCKET}/{POLICY_KEY}")
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)  # retries without sleeps
    reset_runtime()
    client = runtime().s3
    throttle = Throttle()
    body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield body

    def slow_down(request: Any, **_: Any) -> AWSResponse | None:
        if not throttle.active or POLICY_KEY not in request.url:
            return None
        throttle.sent.append(request.url)
        return AWSResponse(request.url, 503, {}, Raw())

    client.meta.events.register_first("before-send.s3", slow_down)
    return throttle


def test_a_throttled_policy_fails_every_message_with_its_own_metric(
    handler: Any, s3: Any, throttled_policy: Throttle, emitted: Any
) -> None:
    # Given two uploads whose policy S3 will not serve, whatever botocore retries
    event = sqs_of(*(upload(s3, f"t{n}.mp3", make_audio("mp3"), PLATFORM) for n in range(2)))
    # When their batch arrives, Then the batch does not crash: every message comes back later
    response = handler.lambda_handler(event, Context())
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}
    assert len(throttled_policy.sent) > 1  # botocore retried before giving up
    # And the reason is logged once and counted as PolicyUnavailable, not PolicyInvalid
    lines = emitted()
    (error,) = _errors(lines)
    assert error["message"].startswith("policy unavailable") and "SlowDown" in error["error"]
    assert metric_values(lines, "PolicyUnavailable") == [({"service": "gatekeeper"}, 1.0)]
    assert metric_values(lines, "PolicyInvalid") == []


def test_a_throttled_policy_raises_for_direct_events_and_retries_batch_tasks(
    handler: Any, s3: Any, throttled_policy: Throttle
) -> None:
    change = upload(s3, "u.mp3", make_audio("mp3"), PLATFORM)
    with pytest.raises(PolicyUnavailable, match="SlowDown"):
        handler.lambda_handler(s3_notification(change), Context())
    response = handler.lambda_handler(invocation(task("u.mp3")), Context())
    assert codes(response) == ["TemporaryFailure"]
    assert "PolicyUnavailable" in response["results"][0]["resultString"]


def test_the_policy_is_read_again_once_s3_serves_it(
    handler: Any, s3: Any, throttled_policy: Throttle, emitted: Any
) -> None:
    # Given a batch failed because S3 throttled the policy
    event = sqs_of(upload(s3, "r.mp3", make_audio("mp3"), PLATFORM))
    assert handler.lambda_handler(event, Context())["batchItemFailures"]
    # When S3 serves it again and the message is redelivered, Then it is decided (no failure was cached)
    throttled_policy.active = False
    assert handler.lambda_handler(event, Context()) == {"batchItemFailures": []}
    assert row(f"s3://{BUCKET}/r.mp3")["status"] == "decided"
