"""The examples in the decision core's docstrings are true."""

import doctest
from types import ModuleType

import pytest

from gatekeeper.logic import decision, normalize, policy, signals


@pytest.mark.parametrize("module", [normalize, signals, policy, decision], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    # Given a module's docstring examples, When run, Then none fails.
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
