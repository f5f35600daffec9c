"""Lambda entry point of the upload gatekeeper: glue only.

Every event shape, the batch semantics, the runtime wiring, metrics and failure
reporting are the library's (`gatekeeper.handlers.uploads`), where the tests,
`gatekeeper invoke` and `gatekeeper demo` run the same code.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.handlers.observability import lambda_entry_point
from gatekeeper.handlers.uploads import handle


@lambda_entry_point
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
