"""Fixtures for the downstream tests: a moto account whose flags table has the eligible-only indexes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gatekeeper.dal.flags_table import FlagsTable
from tests.aws.support import TABLE, create_bucket, handler_environment
from tests.downstream.support import create_indexed_flags_table

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
    create_indexed_flags_table(client)
    return client


@pytest.fixture
def table(dynamodb: Any) -> FlagsTable:
    return FlagsTable(dynamodb, TABLE)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch, s3: Any, dynamodb: Any) -> Iterator[Any]:
    """The gatekeeper function module, wired afresh to this test's moto account."""
    for name, value in handler_environment().items():
        monkeypatch.setenv(name, value)
    from functions.gatekeeper import app

    app.reset_runtime()
    yield app
    app.reset_runtime()
