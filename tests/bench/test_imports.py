"""What the handler's cold import loads, and how the benchmark splits it into stages."""

from __future__ import annotations

import pytest

from bench.imports import STAGES, handler_modules, stage_candidates

#: Modules of the other entry points (CLI, demo, samples, export, re-evaluation) and of tracing.
OTHER_ENTRY_POINTS = (
    "gatekeeper.cli",
    "gatekeeper.demo",
    "gatekeeper.samples",
    "gatekeeper.downstream.export",
    "gatekeeper.downstream.reevaluate",
    "aws_xray_sdk",
)


@pytest.fixture(scope="module")
def loaded() -> list[str]:
    """Given the modules a fresh interpreter loads importing the handler as Lambda does (tracing off)."""
    return handler_modules()


def test_the_handler_loads_only_what_its_events_need(loaded: list[str]) -> None:
    # Then it loads the reader, the decision core and Powertools' batch utility
    assert {"gatekeeper.tags", "gatekeeper.logic.decision", "aws_lambda_powertools.utilities.batch"} <= set(loaded)
    # And nothing of the other entry points, nor the X-Ray SDK
    assert [module for module in loaded if module.startswith(OTHER_ENTRY_POINTS)] == []
    # And no container reader: mutagen's modules load with the first file of their kind
    # (or in SnapStart's priming, before the snapshot)
    assert [module for module in loaded if module.split(".")[0] == "mutagen"] == []


def test_stages_import_the_handler_group_by_group(loaded: list[str]) -> None:
    # When the stages are built from those modules
    stages = stage_candidates(loaded)
    imported = [set(stage.statement.removeprefix("import ").split(", ")) for stage in stages]
    # Then there is one per group, each importing everything the one before it did and more
    assert [stage.name for stage in stages] == [name for name, _ in STAGES]
    assert imported[0] == {"boto3"}
    assert all(before < after for before, after in zip(imported, imported[1:], strict=False))
    # And the last is the handler's whole import, `app` included
    assert imported[-1] == set(loaded)
