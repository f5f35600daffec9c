"""Fixtures for the downstream tests: the AWS path's moto fixtures (its flags table has the
eligible-only indexes and the stream, as the template declares them)."""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.dal.flags_table import FlagsTable
from tests.aws.conftest import aws, dynamodb, handler, handler_env, s3  # noqa: F401  (fixtures)
from tests.aws.support import TABLE


@pytest.fixture
def table(dynamodb: Any) -> FlagsTable:  # noqa: F811
    return FlagsTable(dynamodb, TABLE)
