"""S3 Batch Operations: the catalogue backfill's per-task result codes.

An operator decides the existing catalogue by running an S3 Batch Operations job
(manifest from S3 Inventory, operation `LambdaInvoke`, invocation schema 2.0) on
the gatekeeper function. Each task is an object; its result code tells the batch
engine what to do with it:

- `Succeeded`: the object was decided, a fail-closed `UNREADABLE` verdict
  included, or the table already holds a newer event's verdict for it;
- `TemporaryFailure`: something that may work next time (throttling, a 5xx, a
  timeout, an invalid policy being fixed); the batch engine retries it;
- `PermanentFailure`: the task can never succeed: the object or version it names
  no longer exists, or the task itself is malformed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from aws_lambda_powertools.utilities.data_classes.s3_batch_operation_event import S3BatchOperationResponseRecord

from gatekeeper.models import PURPOSES
from gatekeeper.service import Outcome, Result

ResultCode = Literal["Succeeded", "TemporaryFailure", "PermanentFailure"]
SUCCEEDED: ResultCode = "Succeeded"
TEMPORARY_FAILURE: ResultCode = "TemporaryFailure"
PERMANENT_FAILURE: ResultCode = "PermanentFailure"
#: A task the response leaves out is retried: nothing is lost by an incomplete answer.
TREAT_MISSING_KEYS_AS: ResultCode = TEMPORARY_FAILURE
#: The completion report keeps result strings short.
MAX_RESULT_STRING = 300


def _verdict_summary(result: Result) -> str:
    assert result.verdict is not None
    return " ".join(
        f"{purpose}={'eligible' if result.verdict.eligible[purpose] else 'ineligible'}" for purpose in PURPOSES
    )


def task_result(task_id: str, result: Result) -> S3BatchOperationResponseRecord:
    """The result record of a task the gatekeeper handled."""
    if result.outcome is Outcome.DECIDED:
        detail = "unreadable, decided fail-closed" if result.unreadable else "decided"
        return batch_record(task_id, SUCCEEDED, f"{detail}: {_verdict_summary(result)}")
    if result.outcome is Outcome.SUPERSEDED and result.verdict is not None:
        # Read and decided, but an event for this key is newer: its verdict stands.
        return batch_record(task_id, SUCCEEDED, f"superseded: {result.detail}")
    # Not read at all: the object (or the version the task names) is gone.
    return batch_record(task_id, PERMANENT_FAILURE, f"{result.outcome.value}: {result.detail}")


def failed_task(task_id: str, error: BaseException, *, permanent: bool = False) -> S3BatchOperationResponseRecord:
    """The result record of a task that raised: retried unless it can never succeed."""
    code = PERMANENT_FAILURE if permanent else TEMPORARY_FAILURE
    return batch_record(task_id, code, f"{type(error).__name__}: {error}")


def batch_record(task_id: str, code: ResultCode, text: str) -> S3BatchOperationResponseRecord:
    """One task's result record (the result string cut to what a completion report keeps)."""
    return S3BatchOperationResponseRecord(task_id=task_id, result_code=code, result_string=text[:MAX_RESULT_STRING])


def batch_response(event: Mapping[str, Any], records: Iterable[S3BatchOperationResponseRecord]) -> dict[str, Any]:
    """The Lambda response S3 Batch Operations expects, one result per task of the invocation."""
    return {
        "invocationSchemaVersion": event["invocationSchemaVersion"],
        "treatMissingKeysAs": TREAT_MISSING_KEYS_AS,
        "invocationId": event["invocationId"],
        "results": [record.asdict() for record in records],
    }
