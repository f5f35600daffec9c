"""Re-evaluation: every row decided again from its stored inputs, no audio read, never over a newer event."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from gatekeeper import cli
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.downstream.reevaluate import Reevaluator, RowOutcome, flags_table_for
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import PURPOSES, ObjectEvent
from gatekeeper.samples import make_audio
from tests.aws.support import BUCKET, TABLE, remove, upload
from tests.downstream.support import (
    CATALOGUE,
    ON,
    OPTED_IN,
    bulk_row,
    decide_uploads,
    gatekeeper,
    policy_with_beta,
)

DELETED_KEY = "beta/deleted.mp3"


@pytest.fixture
def s3_calls(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str | None]]]:
    """Every S3 operation (and its key) of the clients created from now on through boto3's default session."""
    calls: list[tuple[str, str | None]] = []
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "provide-client-params.s3", lambda params, model, **_: calls.append((model.name, params.get("Key")))
    )
    yield calls


@pytest.fixture
def catalogue(s3: Any, table: FlagsTable) -> dict[str, dict[str, Any]]:
    """The catalogue decided by the gatekeeper, plus a Beta Records upload since deleted; rows by URI."""
    decide_uploads(s3, table)
    upload(s3, DELETED_KEY, make_audio("mp3", tags={"label": "Beta Records"}), OPTED_IN)
    removal = remove(s3, DELETED_KEY)
    deletion = ObjectEvent(kind="removed", bucket=BUCKET, key=DELETED_KEY, sequencer=removal.sequencer)
    gatekeeper(s3, table).handle(deletion)
    return {row["object_uri"]: row for row in table.scan()}


def reevaluate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    monkeypatch.setenv("FLAGS_TABLE_NAME", TABLE)
    assert cli.main(["reevaluate", "--date", ON.isoformat(), "--json", *args]) == cli.EXIT_OK
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("where", ["file", "s3"])
def test_a_new_carve_out_flips_exactly_the_matching_rows_and_reads_no_audio(
    catalogue: dict[str, dict[str, Any]],
    s3: Any,
    table: FlagsTable,
    s3_calls: list[tuple[str, str | None]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    where: str,
) -> None:
    # Given the decided catalogue and a policy that adds a carve-out for Beta Records (a file, or on S3)
    policy = policy_with_beta(tmp_path / "policy.json")
    location = str(policy)
    if where == "s3":
        s3.put_object(Bucket=BUCKET, Key="policies/beta.json", Body=policy.read_bytes())
        location = f"s3://{BUCKET}/policies/beta.json"
    # When every row is re-evaluated under it, in three parallel segments
    summary = reevaluate(monkeypatch, capsys, "--policy", location, "--segments", "3")
    after = {row["object_uri"]: row for row in table.scan()}
    # Then S3 served the policy document at most, never a byte of audio
    assert s3_calls == ([] if where == "file" else [("GetObject", "policies/beta.json")])
    # And exactly the matching rows that were eligible flipped, for the purposes they were eligible for
    flipped = {
        (uri, purpose)
        for uri, row in after.items()
        for purpose in PURPOSES
        if row["eligible"][purpose] != catalogue[uri]["eligible"][purpose]
    }
    assert flipped == {(u.object_uri, p) for u in CATALOGUE if u.beta for p in u.eligible}
    assert all(after[u.object_uri]["eligible"] == {p: False for p in PURPOSES} for u in CATALOGUE if u.beta)
    # And every matching decided row now names the carve-out, even one that was ineligible already
    for upload_ in CATALOGUE:
        reasons = after[upload_.object_uri]["reasons"]
        assert ("CARVE_OUT:beta-records" in reasons["ai_training"]) is upload_.beta, upload_.key
    # And every decided row records the new policy; the deleted one stays deleted, untouched
    assert {row["policy_id"] for uri, row in after.items() if row["status"] == "decided"} == {"terms-2025-05-beta"}
    deleted_uri = f"s3://{BUCKET}/{DELETED_KEY}"
    assert after[deleted_uri] == catalogue[deleted_uri]
    # And the summary counts it all
    assert (summary["scanned"], summary["rewritten"], summary["skipped"]) == (len(CATALOGUE) + 1, len(CATALOGUE), 1)
    assert summary["flips"] == {"ai_training": {"to_ineligible": 2}, "genai_training": {"to_ineligible": 1}}
    assert summary["reasons_added"]["ai_training"] == {"CARVE_OUT": 3}
    assert summary["reasons_removed"]["ai_training"] == {"GRANTED_BY_TERMS": 2}


def test_a_second_run_under_the_same_policy_rewrites_nothing(
    catalogue: dict[str, dict[str, Any]],
    table: FlagsTable,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given the catalogue re-evaluated once under a new policy
    policy = str(policy_with_beta(tmp_path / "policy.json"))
    assert reevaluate(monkeypatch, capsys, "--policy", policy)["rewritten"] == len(CATALOGUE)
    before = {row["object_uri"]: row for row in table.scan()}
    # When it is re-evaluated again under the same policy
    summary = reevaluate(monkeypatch, capsys, "--policy", policy)
    # Then no row is written (decided_at included), and the summary says so
    assert {row["object_uri"]: row for row in table.scan()} == before
    assert (summary["rewritten"], summary["unchanged"], summary["skipped"]) == (0, len(CATALOGUE), 1)


def test_a_row_updated_by_a_newer_upload_during_the_run_is_not_overwritten(
    catalogue: dict[str, dict[str, Any]], s3: Any, table: FlagsTable, dynamodb: Any, tmp_path: Path
) -> None:
    # Given a run about to rewrite the row of a Beta Records upload...
    target = next(u for u in CATALOGUE if u.key == "beta/one.mp3")
    newer: list[str] = []

    def newer_upload_lands(params: dict[str, Any], **_: Any) -> None:
        # ...when, between the scan and the write, the uploader replaces it and its event is handled
        if params["Item"]["object_uri"]["S"] == target.object_uri and not newer:
            change = upload(s3, target.key, make_audio("mp3", tags={"title": "Replaced"}), OPTED_IN)
            event = ObjectEvent(
                kind="created", bucket=BUCKET, key=target.key, etag=change.etag, sequencer=change.sequencer
            )
            assert gatekeeper(s3, FlagsTable(boto3.client("dynamodb"), TABLE)).handle(event).verdict is not None
            newer.append(change.etag or "")

    dynamodb.meta.events.register("provide-client-params.dynamodb.PutItem", newer_upload_lands)
    # When the catalogue is re-evaluated under the Beta Records carve-out
    policy = load_policy_file(policy_with_beta(tmp_path / "policy.json"))
    summary = Reevaluator(table, policy, ON).run(segments=2)
    # Then the newer upload's verdict stands: its row was not overwritten with the stale re-decision
    row = table.get(target.object_uri)
    assert row is not None and newer and row["etag"] == newer[0]
    assert row["rights"]["title"] == "Replaced" and row["policy_id"] == "terms-2025-05"
    assert row["eligible"] == {"ai_training": True, "genai_training": True}
    # And the run counted it as superseded, and rewrote the others
    assert summary.outcomes[RowOutcome.SUPERSEDED] == 1
    assert summary.outcomes[RowOutcome.REWRITTEN] == len(CATALOGUE) - 1


def test_rows_decided_by_the_backfill_without_a_sequencer_are_reevaluated(
    table: FlagsTable, tmp_path: Path
) -> None:
    # Given a row written by S3 Batch Operations (no sequencer) for a Beta Records upload
    row = bulk_row(1, eligible=True, label="Beta Records", sequenced=False)
    assert table.put_verdict(row) and row.verdict.eligible["ai_training"]
    # When it is re-evaluated under the carve-out
    summary = Reevaluator(table, load_policy_file(policy_with_beta(tmp_path / "p.json")), ON).run(segments=1)
    # Then it flips, still without a sequencer
    item = table.get(row.object_uri)
    assert summary.outcomes[RowOutcome.REWRITTEN] == 1
    assert item is not None and item["eligible"] == {"ai_training": False, "genai_training": False}
    assert "sequencer" not in item


def test_progress_bar_and_summary_on_a_terminal(
    catalogue: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a terminal on stderr
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("FLAGS_TABLE_NAME", TABLE)
    # When the catalogue is re-evaluated under the policy that decided it
    assert cli.main(["reevaluate", "--date", ON.isoformat(), "--policy", str(DEFAULT_POLICY_PATH)]) == cli.EXIT_OK
    # Then a progress bar ends at every row, and the summary is printed for people
    rows = len(catalogue)
    assert terminal.getvalue().rstrip().endswith(f"{rows}/~{rows} rows, 0 rewritten")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"scanned {rows} rows in ") and "0 rewritten" in out[0]
    assert out[1:] == [f"  {p}: 0 now eligible, 0 now ineligible" for p in PURPOSES]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_done_out_of_total() -> None:
    # Given a bar over 4 rows, redrawn on every row
    stream = io.StringIO()
    bar = cli.ProgressBar(4, stream, interval=0)
    # When two rows are done, one of them rewritten
    bar(RowOutcome.REWRITTEN)
    bar(RowOutcome.UNCHANGED)
    # Then it shows half the bar
    assert stream.getvalue().split("\r")[-1] == f"reevaluate [{'#' * 15}{'-' * 15}] 2/~4 rows, 1 rewritten"


@pytest.mark.parametrize(("segments", "connections"), [(1, 10), (32, 32)])
def test_the_client_has_a_connection_for_every_segment(aws: None, segments: int, connections: int) -> None:
    # Given a run of N segments, When its table is opened, Then its client pools a connection per thread (10 at least)
    table = flags_table_for(TABLE, segments)
    assert table._client.meta.config.max_pool_connections == connections
    assert table._client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}
