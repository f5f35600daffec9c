"""The upload function: every event shape it is invoked with, its batch semantics, metrics and failures.

- SQS batches: each message is processed on its own and failures are reported per
  message (`batchItemFailures`, through Powertools' `BatchProcessor`); the batch
  itself never fails (the shapes' semantics are `handlers.dispatch`'s).
- S3 notifications and EventBridge events: every record is processed, then the
  invocation raises if any failed, so Lambda retries it and finally sends it to the
  function's on-failure destination (re-processing is harmless: writes are
  conditional on the S3 sequencer).
- S3 Batch Operations invocations (the catalogue backfill): every task is answered
  with its result code (`gatekeeper.downstream.backfill`); the invocation never fails.
- Below `GATEKEEPER_MIN_REMAINING_MS` of remaining time no new record is started;
  the rest are reported as failures and come back.
- A policy that cannot be read or validated (invalid, missing, over the size bound)
  fails every record, with one log line and a `PolicyInvalid` metric; so does one
  that S3 could not serve for a transient reason (`PolicyUnavailable` metric) and an
  unusable configuration. The records are retried and wait for a fix.

`handle(event, context)` is the whole of it; `functions/gatekeeper/app.py` wears
`lambda_entry_point` around it.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.downstream.backfill import batch_response, failed_task, task_result
from gatekeeper.errors import ContentIndexMissing, PolicyUnavailable
from gatekeeper.events import EventShape
from gatekeeper.handlers import snapstart  # noqa: F401 - registers the SnapStart runtime hooks
from gatekeeper.handlers.dispatch import RecordsFailed, dispatch, shape_of, task_id
from gatekeeper.handlers.observability import count, logger, metrics
from gatekeeper.handlers.runtime import ConfigurationError, runtime
from gatekeeper.models import PURPOSES, ObjectEvent, PolicyError
from gatekeeper.service import Outcome, Result


class OutOfTime(RuntimeError):
    """Too little time left to start a record: it is reported failed and comes back."""


# ---------------------------------------------------------------- one object event


def _record_metrics(result: Result) -> None:
    if result.outcome is Outcome.DECIDED and result.verdict is not None:
        count("Decided")
        if result.unreadable:
            count("Unreadable")
        for purpose in PURPOSES:
            outcome = "eligible" if result.verdict.eligible.get(purpose) else "ineligible"
            with single_metric(name="Verdicts", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
                metric.add_dimension(name="purpose", value=purpose)
                metric.add_dimension(name="outcome", value=outcome)
    elif result.outcome is Outcome.REVOKED:
        count("Revoked")
    elif result.outcome is Outcome.SUPERSEDED:
        count("Superseded")


def _log_result(result: Result) -> None:
    fields: dict[str, Any] = {"outcome": result.outcome.value}
    if result.detail:
        fields["detail"] = result.detail
    if result.verdict is not None:
        fields["eligible"] = result.verdict.eligible
        fields["reasons"] = result.verdict.reasons
        fields["policy_id"] = result.verdict.policy_id
    if result.bytes_fetched is not None:
        fields["s3_bytes_fetched"] = result.bytes_fetched
        fields["s3_requests"] = result.requests
    logger.info(f"{result.event.kind} event {result.outcome.value}", extra=fields)


def _process(event: ObjectEvent, context: LambdaContext, min_remaining_ms: int) -> Result:
    """Handle one object event; raises if it must be retried."""
    with logger.append_context_keys(
        object_uri=event.object_uri, version_id=event.version_id, sequencer=event.sequencer, event_name=event.event_name
    ):
        if context.get_remaining_time_in_millis() < min_remaining_ms:
            logger.warning("too little time left to start this record; it will be retried")
            raise OutOfTime(f"{event.object_uri}: less than {min_remaining_ms} ms left")
        try:
            result = runtime().gatekeeper.handle(event)
        except Exception:
            logger.exception("record failed; it will be retried")
            raise
        _record_metrics(result)
        _log_result(result)
        return result


#: Why every record of an invocation fails: (log message, metric), by the kind of problem.
_WHOLE_INVOCATION_FAILURES: tuple[tuple[type[Exception], str, str | None], ...] = (
    (PolicyError, "invalid policy: failing every record so it is retried", "PolicyInvalid"),
    (PolicyUnavailable, "policy unavailable: failing every record so it is retried", "PolicyUnavailable"),
    (ConfigurationError, "invalid configuration: failing every record so it is retried", None),
    (ContentIndexMissing, "content identification is on without a reference index: failing every record", None),
)


def fail_everything(event: dict[str, Any], shape: EventShape, error: Exception) -> dict[str, Any]:
    """Fail every record, saying why once: they are retried and wait for a fix.

    SQS: every message in `batchItemFailures`; S3 Batch Operations: every task a
    `TemporaryFailure`; S3 and EventBridge events: the invocation raises.
    """
    message, metric = next((m, n) for kind, m, n in _WHOLE_INVOCATION_FAILURES if isinstance(error, kind))
    logger.error(message, extra={"error": str(error), "policy_uri": os.environ.get("POLICY_URI", "")})
    if metric:
        count(metric)
    if shape is EventShape.S3_BATCH:
        count("RecordFailures", len(event["tasks"]))
        return batch_response(event, [failed_task(task_id(task), error) for task in event["tasks"]])
    records = event.get("Records") or [event]
    count("RecordFailures", len(records))
    if shape is EventShape.SQS:
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in records]}
    raise error


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One invocation of the upload function, whatever its event shape (see the module's docstring)."""
    shape = shape_of(event)
    try:
        current = runtime()
        current.gatekeeper.policy()
    except (PolicyError, PolicyUnavailable, ConfigurationError, ContentIndexMissing) as error:
        return fail_everything(event, shape, error)
    return dispatch(
        event, context, shape, lambda object_event: _process(object_event, context, current.min_remaining_ms), task_result
    )
