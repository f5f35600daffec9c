"""Running the Lambda function outside Lambda: its handler, a context object, the SQS event.

Shared by `gatekeeper invoke` (`gatekeeper.cli`) and `gatekeeper demo`
(`gatekeeper.demo`), so neither imports the other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any


def upload_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The upload function's handler as `functions/gatekeeper/app.py` makes it: the library's
    `handle` in the same decorators (so it works where only the package is installed)."""
    from gatekeeper.handlers.observability import lambda_entry_point
    from gatekeeper.handlers.uploads import handle

    return lambda_entry_point(handle)


def consent_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The consent propagation function's handler as `functions/consent/app.py` makes it."""
    from gatekeeper.handlers.consent import handle
    from gatekeeper.handlers.observability import lambda_entry_point

    return lambda_entry_point(handle)


def lambda_stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """What a DynamoDB stream's event source mapping hands the function for records `GetRecords` returned."""
    return {"Records": [{**record, "eventSourceARN": stream_arn} for record in records]}


class LocalContext:
    """The parts of the Lambda context object the handler and Powertools use."""

    function_name = "gatekeeper-local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:gatekeeper-local"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/gatekeeper-local"
    log_stream_name = "local"

    def __init__(self, timeout_ms: int = 60_000) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the SQS event source mapping hands the function for messages `ReceiveMessage` returned."""
    region = queue_arn.split(":")[3]
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def handler_failed(response: Any) -> bool:
    """True when the response asks for a retry of any part of the event."""
    if isinstance(response, dict):
        if response.get("batchItemFailures"):
            return True
        results = response.get("results")
        if isinstance(results, list):  # S3 Batch Operations
            return any(r.get("resultCode") == "TemporaryFailure" for r in results if isinstance(r, dict))
    return False
