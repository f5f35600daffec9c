"""Lambda entry point of the reference indexing function: glue only.

The reference bucket's S3 events (through its queue, or S3 Batch Operations tasks)
are dispatched and indexed by the library (`gatekeeper.handlers.references`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.handlers.observability import lambda_entry_point
from gatekeeper.handlers.references import handle


@lambda_entry_point
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
