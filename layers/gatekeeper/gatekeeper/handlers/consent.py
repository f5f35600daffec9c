"""The consent propagation function: the consent table's stream re-decides the changed accounts' uploads.

Each stream record (an account's record inserted, modified or removed) names an
uploader; `gatekeeper.downstream.consent.propagate` re-decides that account's
rows with the record as it is now. Records are reported one by one
(`batchItemFailures` by sequence number, Powertools' `BatchProcessor` for DynamoDB
streams): a failure is retried alone and, after the mapping's retries, sent to its
on-failure destination. The accounts of one batch are propagated once each.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.dal.clients import aws_client
from gatekeeper.dal.consent_table import ConsentTable
from gatekeeper.dal.fingerprint_index import index_from_env
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.downstream.consent import DEFAULT_SETTLE_SECONDS, propagate
from gatekeeper.downstream.reevaluate import flags_table_for
from gatekeeper.handlers.observability import count, logger
from gatekeeper.handlers.runtime import ConfigurationError
from gatekeeper.logic.decision import decision_date


@lru_cache(maxsize=1)
def _wiring(flags: str, consent: str) -> tuple[Any, ConsentTable, PolicySource]:
    s3 = aws_client("s3") if os.environ.get("POLICY_URI", "").strip().startswith("s3://") else None
    return flags_table_for(flags, 1), ConsentTable(aws_client("dynamodb"), consent), PolicySource.from_env(s3_client=s3)


def reset() -> None:
    """Forget the clients (tests, a SnapStart restore)."""
    _wiring.cache_clear()


def _settle_seconds() -> float:
    raw = os.environ.get("GATEKEEPER_CONSENT_SETTLE_SECONDS", "").strip()
    try:
        return float(raw) if raw else DEFAULT_SETTLE_SECONDS
    except ValueError as exc:
        raise ConfigurationError(f"GATEKEEPER_CONSENT_SETTLE_SECONDS: not a number {raw!r}") from exc


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One batch of consent stream records: each account's rows re-decided, failures per record.

    Every account of the batch is propagated once; then, after the settle time
    (one wait for the whole batch, counted from the last account's first pass),
    once more: the uploader index is eventually consistent, so a row written just
    before the change may be listed only a moment later. A failure of either pass
    is reported against that account's records, so the mapping retries them."""
    flags, consent = (os.environ.get(name, "").strip() for name in ("FLAGS_TABLE_NAME", "CONSENT_TABLE_NAME"))
    if not flags or not consent:
        raise ConfigurationError("FLAGS_TABLE_NAME and CONSENT_TABLE_NAME must be set")
    table, consents, policies = _wiring(flags, consent)
    settle = _settle_seconds()
    first_pass: dict[str, list[str]] = {}  # uploader -> the sequence numbers of its records
    last_pass_at = 0.0

    def redecide(uploader: str, look: str) -> None:
        with logger.append_context_keys(uploader_id=uploader, look=look):
            summary = propagate(table, consents, policies.policy(), decision_date(), uploader, references=index_from_env())
            count("ConsentRowsRewritten", summary.outcomes.get("rewritten", 0))
            logger.info("consent propagated", extra=summary.to_dict())

    def record_handler(record: DynamoDBRecord) -> None:
        nonlocal last_pass_at
        uploader = str((record.dynamodb.keys if record.dynamodb else {}).get("uploader_id") or "")
        sequence = str(record.dynamodb.sequence_number if record.dynamodb else "")
        if not uploader:
            logger.warning("a consent stream record without an uploader id", extra={"sequence_number": sequence})
            return
        if uploader not in first_pass:
            redecide(uploader, "first")
            last_pass_at = time.monotonic()
        first_pass.setdefault(uploader, []).append(sequence)

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    response = dict(process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context))
    failures: list[dict[str, str]] = list(response.get("batchItemFailures") or [])
    if settle > 0 and first_pass:
        time.sleep(max(0.0, settle - (time.monotonic() - last_pass_at)))
        for uploader, sequences in first_pass.items():
            try:
                redecide(uploader, "settled")
            except Exception:  # noqa: BLE001 - reported against the account's records, retried by the mapping
                logger.exception("consent propagation failed on the second look", extra={"uploader_id": uploader})
                failures.extend({"itemIdentifier": sequence} for sequence in sequences)
    if failures:
        count("RecordFailures", len(failures))
    return {"batchItemFailures": failures}
