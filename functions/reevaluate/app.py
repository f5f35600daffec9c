"""Lambda entry point of the re-evaluation: glue only.

Invoked with `{"segment": n, "total_segments": N}` (or `{}` for every segment);
what it does is the library's (`gatekeeper.handlers.reevaluate`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.handlers.observability import lambda_entry_point
from gatekeeper.handlers.reevaluate import handle


@lambda_entry_point
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
