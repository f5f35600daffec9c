"""Fixtures for the downstream tests: the AWS path's moto fixtures, with a flags table that has the
eligible-only indexes (this `dynamodb` overrides the AWS path's, for its `handler` too)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from gatekeeper.dal.flags_table import FlagsTable
from tests.aws.conftest import aws, handler, handler_env, s3  # noqa: F401  (fixtures)
from tests.aws.support import TABLE
from tests.downstream.support import create_indexed_flags_table


@pytest.fixture
def dynamodb(aws: None) -> Any:  # noqa: F811
    client = boto3.client("dynamodb")
    create_indexed_flags_table(client)
    return client


@pytest.fixture
def table(dynamodb: Any) -> FlagsTable:
    return FlagsTable(dynamodb, TABLE)
