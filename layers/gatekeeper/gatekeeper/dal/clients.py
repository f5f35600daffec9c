"""boto3 clients configured for a Lambda function.

Bounded retries in botocore's `standard` mode (exponential backoff with jitter;
throttling, 5xx and connection errors are retried), a short connect timeout and a
read timeout well inside the function's. The endpoint comes from boto3's own
configuration, so `AWS_ENDPOINT_URL` points every client at an emulator.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

MAX_ATTEMPTS = 4  # in all, the first attempt included

LAMBDA_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=2,
    read_timeout=10,
    tcp_keepalive=True,
)


def aws_client(service: str, *, session: boto3.session.Session | None = None) -> Any:
    """A client for `service` with the Lambda-suited configuration (default session unless given)."""
    if session is None:
        return boto3.client(service, config=LAMBDA_CLIENT_CONFIG)
    return session.client(service, config=LAMBDA_CLIENT_CONFIG)


def create_missing_table(client: Any, table_name: str, schema: dict[str, Any]) -> bool:
    """Create a table from `schema` (`CreateTable` arguments) where it does not exist, and wait for it.

    For emulators and tests (`gatekeeper catalogue init`, `consent init`); False when
    it already existed. The stack's tables come from the template, which tests hold
    equal to each adapter's `table_schema()`.
    """
    from botocore.exceptions import ClientError

    try:
        client.create_table(TableName=table_name, **schema)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceInUseException":
            return False
        raise
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return True
