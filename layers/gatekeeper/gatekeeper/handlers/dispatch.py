"""Every event shape a function of the stack is invoked with, and its batch semantics, for any object work.

`dispatch(event, context, process, task_result)` runs `process(object_event)` for
every object event in the invocation and reports failures the way each shape
needs (SPEC "Events", "Ordering and duplicates"):

- SQS batches: each message on its own, failures per message (`batchItemFailures`,
  through Powertools' `BatchProcessor`); the batch itself never fails;
- S3 notifications and EventBridge events: every record, then the invocation
  raises if any failed, so Lambda retries it and finally sends it to the
  function's on-failure destination;
- S3 Batch Operations: every task answered with `task_result(task_id, result)`
  (or a failure record); the invocation never fails.

`process` raises for what must be retried. The upload function
(`handlers.uploads`) and the reference indexing function (`handlers.references`)
share it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.downstream.backfill import SUCCEEDED, batch_response, failed_task
from gatekeeper.events import EventShape, UnsupportedEvent, batch_task_event, event_shape, object_events, sqs_body_events
from gatekeeper.handlers.observability import count, logger
from gatekeeper.models import ObjectEvent

Outcome = TypeVar("Outcome")
Process = Callable[[ObjectEvent], Any]


class RecordsFailed(RuntimeError):
    """Some records of a non-SQS event failed: raised so Lambda retries the event."""


def shape_of(event: dict[str, Any]) -> EventShape:
    """The event's shape; an unsupported one is logged, counted and raised (nothing of it is processed)."""
    try:
        return event_shape(event)
    except UnsupportedEvent:
        logger.exception("unsupported event shape; nothing processed")
        count("RecordFailures")
        raise


def process_all(events: Iterable[ObjectEvent], process: Process) -> int:
    """Handle every event, whatever happens to the others; the number that failed."""
    failures = 0
    for event in events:
        try:
            process(event)
        except Exception:
            failures += 1
    return failures


def handle_sqs(event: dict[str, Any], context: LambdaContext, process: Process) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> None:
        try:
            object_events_in_body = sqs_body_events(record.body)
        except ValueError:
            logger.exception(
                "malformed SQS message: it will be retried, then moved to the dead-letter queue",
                extra={"message_id": record.message_id},
            )
            raise
        failed = process_all(object_events_in_body, process)
        if failed:
            raise RecordsFailed(f"message {record.message_id}: {failed} object event(s) failed")

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    failed_messages = len(response.get("batchItemFailures", []))
    if failed_messages:
        count("RecordFailures", failed_messages)
    return dict(response)


def handle_direct(event: dict[str, Any], process: Process) -> dict[str, Any]:
    events = object_events(event)
    failed = process_all(events, process)
    if failed:
        count("RecordFailures", failed)
        raise RecordsFailed(f"{failed} of {len(events)} object event(s) failed; the event will be retried")
    return {"processed": len(events)}


def task_id(task: Any) -> str:
    return str(task.get("taskId", "")) if isinstance(task, dict) else ""


def handle_batch(event: dict[str, Any], process: Process, task_result: Callable[[str, Any], Any]) -> dict[str, Any]:
    """S3 Batch Operations: a result code for every task; the invocation itself never fails."""
    schema_version = str(event["invocationSchemaVersion"])
    records = []
    for task in event["tasks"]:
        try:
            object_event = batch_task_event(task, schema_version)
        except UnsupportedEvent as exc:
            logger.error("malformed S3 Batch Operations task", extra={"task": task, "error": str(exc)})
            records.append(failed_task(task_id(task), exc, permanent=True))
            continue
        try:
            records.append(task_result(task_id(task), process(object_event)))
        except Exception as exc:
            records.append(failed_task(task_id(task), exc))
    failed = sum(record.result_code != SUCCEEDED for record in records)
    if failed:
        count("RecordFailures", failed)
    return batch_response(event, records)


def dispatch(
    event: dict[str, Any],
    context: LambdaContext,
    shape: EventShape,
    process: Process,
    task_result: Callable[[str, Any], Any],
) -> dict[str, Any]:
    """Run `process` over the invocation's object events, with the semantics of its shape."""
    if shape is EventShape.SQS:
        return handle_sqs(event, context, process)
    if shape is EventShape.S3_BATCH:
        return handle_batch(event, process, task_result)
    return handle_direct(event, process)
