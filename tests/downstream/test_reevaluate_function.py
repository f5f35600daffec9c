"""The re-evaluation Lambda function: one segment or all, with a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from functions.reevaluate import app
from gatekeeper.handlers.reevaluate import DEFAULT_SEGMENTS, BadRequest
from gatekeeper.models import PolicyError
from gatekeeper.dal.flags_table import FlagsTable
from tests.aws.support import TABLE, Context
from tests.downstream.support import ON, bulk_row, policy_with_beta

ROWS = 40


@pytest.fixture
def environment(table: FlagsTable, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A table of 40 rows, half of them Beta Records uploads, and the function's environment with the new policy."""
    for number in range(ROWS):
        assert table.put_verdict(bulk_row(number, eligible=True, label="Beta Records" if number % 2 else "Other"))
    monkeypatch.setenv("FLAGS_TABLE_NAME", TABLE)
    monkeypatch.setenv("POLICY_URI", str(policy_with_beta(tmp_path / "policy.json")))
    monkeypatch.setenv("GATEKEEPER_DECISION_DATE", ON.isoformat())


def test_segments_together_cover_the_table_once(environment: None, table: FlagsTable) -> None:
    # Given a table and a new policy
    # When each of three segments is invoked on its own (as a fan-out would)
    reports = [app.lambda_handler({"segment": n, "total_segments": 3}, Context()) for n in range(3)]
    # Then together they scanned every row once and rewrote every row (a new policy_id), flipping the Beta half
    assert [r["segment"] for r in reports] == [0, 1, 2]
    assert sum(r["scanned"] for r in reports) == sum(r["rewritten"] for r in reports) == ROWS
    assert sum(r["flips"]["ai_training"].get("to_ineligible", 0) for r in reports) == ROWS // 2
    assert {r["policy_id"] for r in reports} == {"terms-2025-05-beta"}
    assert sum(1 for row in table.scan() if row["eligible"]["ai_training"]) == ROWS // 2


def test_an_empty_event_runs_every_segment(environment: None) -> None:
    # Given the same table
    # When the function is invoked with no segment
    report = app.lambda_handler({}, Context())
    # Then it ran them all in threads
    assert (report["segment"], report["total_segments"]) == (None, DEFAULT_SEGMENTS)
    assert (report["scanned"], report["rewritten"]) == (ROWS, ROWS)


@pytest.mark.parametrize(
    "event",
    [{"segment": 3, "total_segments": 3}, {"segment": -1}, {"total_segments": 0}, {"segment": "1"}, {"segment": True}],
)
def test_an_event_naming_no_valid_segment_is_refused(environment: None, table: FlagsTable, event: Any) -> None:
    # Given an event whose segment cannot exist, When it is invoked, Then it is refused and nothing is written
    before = list(table.scan())
    with pytest.raises(BadRequest):
        app.lambda_handler(event, Context())
    assert list(table.scan()) == before


def test_an_invalid_policy_rewrites_nothing_and_says_why(
    environment: None,
    table: FlagsTable,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the function's policy repeating a key (which a last-one-wins reader would accept)
    text = policy_with_beta(tmp_path / "p.json").read_text()
    broken = tmp_path / "broken.json"
    broken.write_text(text.rstrip().removesuffix("}") + ', "carve_outs": []}')
    monkeypatch.setenv("POLICY_URI", str(broken))
    before = list(table.scan())
    # When it is invoked, Then it raises, rewrites nothing, and logs and counts the reason
    with pytest.raises(PolicyError, match="appears twice"):
        app.lambda_handler({}, Context())
    assert list(table.scan()) == before
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == ["invalid policy: nothing re-evaluated"]
    assert '"Metrics":[{"Name":"PolicyInvalid","Unit":"Count"}]' in capsys.readouterr().out
