"""Ordering and duplicates: random schedules always converge to the newest event per key."""

from __future__ import annotations

import datetime as dt
import functools
import io
import random
from typing import Any

import boto3
import pytest

from gatekeeper import tags
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.events import object_events
from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import DecisionInputs, PlatformMetadata
from gatekeeper.service import Gatekeeper
from tests.aws.simulation import CONTENTS, PLATFORM, MotoBucket, SimulatedBucket, mismatches, run_schedule
from tests.aws.support import DECISION_DATE, TABLE, Change, Context, create_bucket, eventbridge, s3_notification, sqs_of

SCHEDULES = 1000
SEED = 20260115
POLICY = load_policy_file(DEFAULT_POLICY_PATH)
ON = dt.date.fromisoformat(DECISION_DATE)


class StaticPolicy:
    def policy(self) -> Any:
        return POLICY


def through_service(service: Gatekeeper, change: Change) -> None:
    """Deliver an event straight to the service, parsed from its S3 notification."""
    (event,) = object_events(s3_notification(change))
    service.handle(event)


def through_handler(handler: Any, rng: random.Random, change: Change) -> None:
    """Deliver an event to the Lambda handler in a random shape: S3, SQS or EventBridge."""
    shape = rng.choice((s3_notification, sqs_of, eventbridge))
    response = handler.lambda_handler(shape(change), Context())
    assert not response.get("batchItemFailures")


@pytest.fixture(scope="module")
def expected_reasons() -> dict[str, dict]:
    """What each upload content decides to, so the table shows which upload won."""
    metadata = PlatformMetadata.from_user_metadata(PLATFORM)
    return {
        name: decide(DecisionInputs(metadata, tags.extract(io.BytesIO(body))), POLICY, ON).reasons
        for name, body in CONTENTS.items()
    }


def test_contents_decide_differently(expected_reasons: dict[str, dict]) -> None:
    # Given the schedule's upload contents, then no two decide alike (a wrong winner is visible)
    assert len({repr(reasons) for reasons in expected_reasons.values()}) == len(CONTENTS)


def test_a_thousand_schedules_converge(dynamodb: Any, expected_reasons: dict[str, dict]) -> None:
    # Given the service over the real table logic (moto DynamoDB) and S3-like buckets
    table = FlagsTable(dynamodb, TABLE)
    buckets = {versioned: SimulatedBucket(f"sim-{versioned}", versioned=versioned) for versioned in (False, True)}
    services = {
        versioned: Gatekeeper(bucket, table, StaticPolicy(), today=lambda: ON) for versioned, bucket in buckets.items()
    }
    problems: list[str] = []
    deliveries = 0
    # When 1000 random schedules are delivered shuffled, interleaved and with duplicates
    for number in range(SCHEDULES):
        rng = random.Random(SEED + number)
        versioned = rng.random() < 0.5
        deliver = functools.partial(through_service, services[versioned])
        schedule = run_schedule(rng, buckets[versioned], deliver, prefix=f"s{number}")
        deliveries += len(schedule.delivered)
        problems += [f"schedule {number}: {problem}" for problem in mismatches(schedule, table.get, expected_reasons)]
    # Then every key's row is the newest event's, with the verdict of that upload
    assert problems == []
    assert deliveries > 3 * SCHEDULES


@pytest.mark.parametrize("versioned", [False, True])
def test_schedules_through_every_event_shape(
    handler: Any, s3: Any, expected_reasons: dict[str, dict], versioned: bool
) -> None:
    # Given the Lambda handler over moto S3 and DynamoDB
    bucket_name = f"shapes-{'versioned' if versioned else 'plain'}"
    create_bucket(s3, bucket_name, versioned=versioned)
    bucket = MotoBucket(s3, bucket_name, versioned=versioned)
    table = FlagsTable(boto3.client("dynamodb"), TABLE)
    problems: list[str] = []
    # When schedules are delivered through S3, SQS and EventBridge shapes at random
    for number in range(25):
        rng = random.Random(SEED - number)
        deliver = functools.partial(through_handler, handler, rng)
        schedule = run_schedule(rng, bucket, deliver, prefix=f"s{number}", max_operations=5)
        problems += [f"schedule {number}: {problem}" for problem in mismatches(schedule, table.get, expected_reasons)]
    # Then the table equals the model
    assert problems == []
