"""AWS faults and dead letters: whatever fails is retried or parked, never lost."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.retries.standard import ExponentialBackoff

from gatekeeper.handlers.runtime import runtime
from gatekeeper.dal.clients import MAX_ATTEMPTS
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.samples import make_audio
from gatekeeper.local import lambda_sqs_event
from tests.aws.support import TABLE, Change, Context, sqs_of, upload

PLATFORM = {"uploader-id": "u-9", "terms-version": "2025-05-14"}
FAULT_RATE = 0.10


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


# What a throttled or failing AWS answers, per service: (status, headers, body). All retryable.
_S3_FAULTS = [
    (503, {}, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"),
    (500, {}, b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"),
]
_DYNAMODB_FAULTS = [
    (
        400,
        {"x-amzn-query-error": ""},
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}',
    ),
    (
        400,
        {},
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}',
    ),
    (500, {}, b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}'),
]


class FaultInjector:
    """Makes a fraction of the S3 and DynamoDB calls of clients fail, as AWS would.

    - before a request is sent: throttling or a 5xx answer (botocore retries these);
    - after a DynamoDB write succeeded: a read timeout, so the caller sees a failure
      although the write happened (the redelivery must then change nothing).
    """

    def __init__(self, rng: random.Random, rate: float) -> None:
        self._rng = rng
        self._rate = rate
        self.injected: Counter[str] = Counter()

    def attach(self, s3: Any, dynamodb: Any) -> None:
        # First in line: moto answers in a before-send handler too.
        s3.meta.events.register_first("before-send.s3", self._fail_s3)
        dynamodb.meta.events.register_first("before-send.dynamodb", self._fail_dynamodb)
        dynamodb.meta.events.register("after-call.dynamodb.PutItem", self._lose_response)
        dynamodb.meta.events.register("after-call.dynamodb.UpdateItem", self._lose_response)

    def _answer(
        self, request: Any, faults: list[tuple[int, dict[str, str], bytes]], service: str
    ) -> AWSResponse | None:
        if self._rng.random() >= self._rate:
            return None
        status, headers, body = self._rng.choice(faults)
        self.injected[f"{service} {status}"] += 1
        return AWSResponse(request.url, status, headers, _Raw(body))

    def _fail_s3(self, request: Any, **_: Any) -> AWSResponse | None:
        return self._answer(request, _S3_FAULTS, "s3")

    def _fail_dynamodb(self, request: Any, **_: Any) -> AWSResponse | None:
        return self._answer(request, _DYNAMODB_FAULTS, "dynamodb")

    def _lose_response(self, http_response: Any, **_: Any) -> None:
        if http_response.status_code == 200 and self._rng.random() < self._rate / 4:
            self.injected["dynamodb lost response"] += 1
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries without their sleeps (the retry decisions are unchanged)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


def has_verdict(table: FlagsTable, change: Change) -> bool:
    item = table.get(f"s3://{change.bucket}/{change.key}")
    return item is not None and item["status"] == "decided" and item.get("sequencer") == change.sequencer


def test_faults_on_a_tenth_of_calls_lose_no_upload(handler: Any, s3: Any, no_backoff: None) -> None:
    # Given 300 uploads (some large enough to need a second ranged GET)
    contents = [make_audio("mp3", tags={"title": "small"}), make_audio("wav", size_hint=400_000)]
    uploads = [upload(s3, f"faults/{n:03d} é+.mp3", contents[n % 7 == 0], PLATFORM) for n in range(300)]
    messages = sqs_of(*uploads)["Records"]
    by_message = {message["messageId"]: change for message, change in zip(messages, uploads, strict=True)}
    table = FlagsTable(boto3.client("dynamodb"), TABLE)
    # And 10% of the function's S3 and DynamoDB calls throttled or failing
    faults = FaultInjector(random.Random(4), FAULT_RATE)
    faults.attach(runtime().s3, runtime().dynamodb)
    # When SQS delivers them in batches of 10
    failed: set[str] = set()
    for start in range(0, len(messages), 10):
        response = handler.lambda_handler({"Records": messages[start : start + 10]}, Context())
        failed |= {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    # Then every upload has its verdict or its message was reported failed: none lost
    lost = [
        change.key
        for message_id, change in by_message.items()
        if message_id not in failed and not has_verdict(table, change)
    ]
    assert lost == []
    assert sum(faults.injected.values()) > 50
    assert failed, "some faults outlast botocore's retries"
    # When SQS redelivers the reported messages (faults still on), round after round
    rounds = 0
    while failed and rounds < 10:
        rounds += 1
        batch = [message for message in messages if message["messageId"] in failed]
        failed = set()
        for start in range(0, len(batch), 10):
            response = handler.lambda_handler({"Records": batch[start : start + 10]}, Context())
            failed |= {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    # Then every upload ends with its verdict
    assert not failed
    assert [change.key for change in uploads if not has_verdict(table, change)] == []


def test_botocore_retries_throttling_within_bounded_attempts(handler: Any, s3: Any, no_backoff: None) -> None:
    # Given S3 throttling every GetObject attempt
    change = upload(s3, "throttled.mp3", make_audio("mp3"), PLATFORM)
    attempts = Counter()
    s3_client = runtime().s3

    def slow_down(request: Any, **_: Any) -> AWSResponse:
        attempts["GetObject"] += 1
        return AWSResponse(request.url, *_S3_FAULTS[0][:2], _Raw(_S3_FAULTS[0][2]))

    s3_client.meta.events.register_first("before-send.s3.GetObject", slow_down)
    # When its event is handled
    response = handler.lambda_handler(sqs_of(change), Context())
    # Then botocore tried exactly MAX_ATTEMPTS times, and the message is reported for redelivery
    assert attempts["GetObject"] == MAX_ATTEMPTS
    assert len(response["batchItemFailures"]) == 1


def poll(handler: Any, sqs: Any, queue_url: str, queue_arn: str, *, rounds: int) -> None:
    """What Lambda's SQS poller does: receive, invoke, delete what succeeded."""
    for _ in range(rounds):
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return
        response = handler.lambda_handler(lambda_sqs_event(received, queue_arn), Context())
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        for message in received:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_poison_messages_land_in_the_dead_letter_queue_and_redrive(handler: Any, s3: Any) -> None:
    # Given a queue whose messages go to a dead-letter queue after 3 receives
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="uploads-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName="uploads",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # And a good upload, a malformed message, and an upload whose reads are denied for now
    good = upload(s3, "good.mp3", make_audio("mp3"), PLATFORM)
    blocked = upload(s3, "blocked.mp3", make_audio("mp3"), PLATFORM)
    for body in (sqs_of(good)["Records"][0]["body"], "not an S3 event", sqs_of(blocked)["Records"][0]["body"]):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    def deny(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "blocked.mp3":
            raise runtime().s3.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject"
            )

    runtime().s3.meta.events.register("before-parameter-build.s3.GetObject", deny)
    table = FlagsTable(boto3.client("dynamodb"), TABLE)
    # When the poller runs until the queue is empty
    poll(handler, sqs, queue_url, queue_arn, rounds=10)
    # Then the good upload is decided and the other two wait in the dead-letter queue, intact
    assert has_verdict(table, good)
    parked = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert sorted(m["Body"] for m in parked) == sorted(["not an S3 event", sqs_of(blocked)["Records"][0]["body"]])
    assert (
        int(
            sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
        )
        == 0
    )
    # When the cause is fixed and the operator redrives the DLQ (as `aws sqs start-message-move-task` does)
    runtime().s3.meta.events.unregister("before-parameter-build.s3.GetObject", deny)
    for message in parked:
        sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    poll(handler, sqs, queue_url, queue_arn, rounds=10)
    # Then the blocked upload is decided; the malformed message is back in the DLQ, never looping forever
    assert has_verdict(table, blocked)
    again = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == ["not an S3 event"]
