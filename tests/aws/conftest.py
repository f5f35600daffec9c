"""Fixtures for the AWS path: a fresh moto account per test."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gatekeeper.handlers.observability import logger
from gatekeeper.handlers.runtime import reset_runtime
from tests.aws.support import create_bucket, create_flags_table, handler_environment

# The handler module reads this at import: never load the X-Ray SDK in tests.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    create_bucket(client)
    return client


@pytest.fixture
def dynamodb(aws: None) -> Any:
    client = boto3.client("dynamodb")
    create_flags_table(client)
    return client


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch, s3: Any, dynamodb: Any) -> dict[str, str]:
    """The handler's environment against the moto bucket and table."""
    env = handler_environment()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def handler(handler_env: dict[str, str]) -> Iterator[Any]:
    """The Lambda function module, wired afresh to this test's moto account."""
    from functions.gatekeeper import app

    reset_runtime()
    yield app
    reset_runtime()


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def emitted(handler: Any, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Reads every JSON line the function printed since the last call: logs and EMF metrics."""
    log_handler = logger.registered_handler
    # The logger bound the stdout of its import time; make it write to whatever stdout is now.
    original, log_handler.stream = log_handler.stream, _CurrentStdout()

    def read() -> list[dict[str, Any]]:
        lines = capsys.readouterr().out.splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    yield read
    log_handler.stream = original
