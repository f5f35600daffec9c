"""The reference indexing function: the reference bucket's objects, indexed as they are put and removed.

Events: the S3 notifications of `references/` through the reference queue (SQS,
failures per message), S3 Batch Operations tasks (a large initial catalogue: a
result code per task), or direct S3 notifications. Each object event goes to
`gatekeeper.catalogue.Catalogue`; an AWS failure raises (the event is retried, then
dead-lettered), a file that is not audio is logged and counted (`ReferenceUnreadable`),
not retried.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.catalogue import Catalogue, CatalogueOutcome, CatalogueResult
from gatekeeper.dal.clients import aws_client
from gatekeeper.dal.fingerprint_index import FingerprintIndex
from gatekeeper.downstream.backfill import PERMANENT_FAILURE, SUCCEEDED, batch_record
from gatekeeper.handlers.dispatch import dispatch, shape_of
from gatekeeper.handlers.observability import count, logger
from gatekeeper.handlers.runtime import ConfigurationError
from gatekeeper.models import ObjectEvent

_METRICS = {
    CatalogueOutcome.INDEXED: "ReferencesIndexed",
    CatalogueOutcome.REMOVED: "ReferencesRemoved",
    CatalogueOutcome.UNREADABLE: "ReferenceUnreadable",
}


@lru_cache(maxsize=1)
def _catalogue(table_name: str) -> Catalogue:
    dynamodb = aws_client("dynamodb")
    return Catalogue(aws_client("s3"), FingerprintIndex(dynamodb, table_name))


def catalogue() -> Catalogue:
    name = os.environ.get("FINGERPRINT_TABLE_NAME", "").strip()
    if not name:
        raise ConfigurationError("FINGERPRINT_TABLE_NAME is not set")
    return _catalogue(name)


def reset() -> None:
    """Forget the clients (tests, a SnapStart restore)."""
    _catalogue.cache_clear()


def _process(event: ObjectEvent) -> CatalogueResult:
    with logger.append_context_keys(object_uri=event.object_uri, event_name=event.event_name):
        try:
            result = catalogue().handle(event)
        except Exception:
            logger.exception("reference event failed; it will be retried")
            raise
        if result.outcome in _METRICS:
            count(_METRICS[result.outcome])
        log = logger.warning if result.outcome is CatalogueOutcome.UNREADABLE else logger.info
        log(f"reference {result.outcome.value}", extra={"detail": result.detail} if result.detail else {})
        return result


def _task_result(task_id: str, result: CatalogueResult) -> Any:
    """Succeeded for what was done or needs doing no more; a file that is not audio can never succeed."""
    code = PERMANENT_FAILURE if result.outcome is CatalogueOutcome.UNREADABLE else SUCCEEDED
    return batch_record(task_id, code, f"{result.outcome.value}: {result.detail}".rstrip(": "))


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One invocation of the reference indexing function, whatever its event shape."""
    shape = shape_of(event)
    return dispatch(event, context, shape, _process, _task_result)
