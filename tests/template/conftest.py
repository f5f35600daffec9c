"""The translated template, shared by the template tests (translation takes ~0.1 s)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.template.cfn import Stack, translate


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    return translate()


@pytest.fixture
def stack(translated: dict[str, Any]) -> Stack:
    """The stack with every parameter at its default."""
    return Stack(translated)
