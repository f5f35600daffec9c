"""Lambda entry point of the consent propagation function: glue only.

The consent table's stream records are handled by the library
(`gatekeeper.handlers.consent`): each changed account's uploads decided again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.handlers.consent import handle
from gatekeeper.handlers.observability import lambda_entry_point


@lambda_entry_point
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
