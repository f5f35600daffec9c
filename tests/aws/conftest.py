"""Fixtures for the AWS path: a fresh moto account per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

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
