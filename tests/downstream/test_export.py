"""`gatekeeper export`: every object eligible for a purpose, with its attribution, and nothing else."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import cli
from gatekeeper.dal.flags_table import ELIGIBLE_INDEX_SHARDS, FlagsTable, eligible_shard
from gatekeeper.downstream.export import MANIFEST_FIELDS, csv_columns, export
from gatekeeper.models import PURPOSES, ObjectEvent
from tests.aws.support import BUCKET, TABLE, remove
from tests.downstream.support import CATALOGUE, OPTED_IN, bulk_row, decide_uploads


def expected(purpose: str) -> set[str]:
    return {u.object_uri for u in CATALOGUE if purpose in u.eligible}


def run_export(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("FLAGS_TABLE_NAME", TABLE)
    assert cli.main(["export", *args]) == cli.EXIT_OK
    return capsys.readouterr().out


@pytest.mark.parametrize("purpose", PURPOSES)
def test_jsonl_lists_exactly_the_eligible_objects_with_attribution(
    s3: Any, table: FlagsTable, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, purpose: str
) -> None:
    # Given a catalogue decided by the gatekeeper, covering every kind of verdict
    decide_uploads(s3, table)
    # When the purpose's manifest is exported as JSON lines
    entries = [json.loads(line) for line in run_export(capsys, monkeypatch, "--purpose", purpose).splitlines()]
    # Then it lists exactly the objects eligible for it, each once, with the attribution fields only
    uris = [entry["object_uri"] for entry in entries]
    assert sorted(uris) == sorted(expected(purpose))
    assert all(set(entry) == set(MANIFEST_FIELDS) - {"version_id"} for entry in entries)  # unversioned bucket
    jóga = next(e for e in entries if e["key"] == "opted in/Jóga 1+1.mp3")
    assert (jóga["bucket"], jóga["policy_id"]) == (BUCKET, "terms-2025-05")
    assert jóga["rights"] == {
        "uploader_id": "u-1",
        "title": "Jóga",
        "artist": "Björk",
        "isrc": "GBAYE2400001",
        "format": "mp3",
    }
    assert jóga["etag"] == s3.head_object(Bucket=BUCKET, Key="opted in/Jóga 1+1.mp3")["ETag"].strip('"')


@pytest.mark.parametrize("purpose", PURPOSES)
def test_csv_lists_the_same_objects_with_rights_in_columns(
    s3: Any,
    table: FlagsTable,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    purpose: str,
) -> None:
    # Given the same catalogue
    decide_uploads(s3, table)
    # When the manifest is exported as CSV to a file
    target = tmp_path / "manifest.csv"
    run_export(capsys, monkeypatch, "--purpose", purpose, "--format", "csv", "--output", str(target))
    # Then the file has the header and one row per eligible object
    with target.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == csv_columns()
    assert sorted(row["object_uri"] for row in rows) == sorted(expected(purpose))
    bea = next(row for row in rows if row["key"] == "beta/one.mp3")
    assert (bea["rights.label"], bea["rights.artist"], bea["rights.title"]) == ("Beta Records", "Bea", "")


def test_revoked_and_no_longer_eligible_objects_leave_the_manifest(
    s3: Any, table: FlagsTable, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a catalogue, then one eligible object deleted and another re-uploaded with an opt-out
    decide_uploads(s3, table)
    removal = remove(s3, "plain.mp3")
    assert table.revoke(
        ObjectEvent(kind="removed", bucket=BUCKET, key="plain.mp3", sequencer=removal.sequencer),
        policy_id="terms-2025-05",
        decided_at="2026-01-16T00:00:00.000Z",
    )
    beta = next(u for u in CATALOGUE if u.key == "beta/one.mp3")
    decide_uploads(s3, table, (type(beta)(beta.key, beta.tags, {**OPTED_IN, "ai-opt-out": "yes"}, frozenset()),))
    # When the ai_training manifest is exported
    lines = run_export(capsys, monkeypatch, "--purpose", "ai_training").splitlines()
    uris = {json.loads(line)["object_uri"] for line in lines}
    # Then neither is listed any more; the rest still are
    assert uris == expected("ai_training") - {f"s3://{BUCKET}/plain.mp3", beta.object_uri}


def test_a_large_catalogue_is_read_from_every_shard_page_by_page(table: FlagsTable, dynamodb: Any) -> None:
    # Given 200 verdicts, two thirds of them eligible, spread over the index shards
    rows = [bulk_row(n, eligible=n % 3 != 0) for n in range(200)]
    for row in rows:
        assert table.put_verdict(row)
    pages: list[int] = []
    dynamodb.meta.events.register("after-call.dynamodb.Query", lambda parsed, **_: pages.append(parsed["Count"]))
    # When they are exported with pages of five items
    out = io.StringIO()
    count = export(_PagedIndex(table, 5), "ai_training", out)
    # Then every eligible one is listed once, and no page held more than five
    listed = [json.loads(line)["object_uri"] for line in out.getvalue().splitlines()]
    assert count == len(listed) == len(set(listed))
    assert set(listed) == {row.object_uri for row in rows if row.verdict.eligible["ai_training"]}
    assert max(pages) <= 5 and len(pages) > ELIGIBLE_INDEX_SHARDS
    assert len({eligible_shard(uri) for uri in listed}) == ELIGIBLE_INDEX_SHARDS


class _PagedIndex:
    def __init__(self, table: FlagsTable, page_size: int) -> None:
        self._table, self._page_size = table, page_size

    def eligible(self, purpose: str) -> Any:
        return self._table.eligible(purpose, page_size=self._page_size)


def test_without_a_table_name_export_is_bad_usage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no FLAGS_TABLE_NAME
    monkeypatch.delenv("FLAGS_TABLE_NAME", raising=False)
    # When exporting, Then it is bad usage with a message naming the variable
    assert cli.main(["export", "--purpose", "ai_training"]) == cli.EXIT_USAGE
    assert "FLAGS_TABLE_NAME" in capsys.readouterr().err


def test_a_missing_table_is_a_failure_naming_it(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a table name that does not exist
    monkeypatch.setenv("FLAGS_TABLE_NAME", "no-such-table")
    # When exporting, Then it fails with exit status 1 and one line naming the table
    assert cli.main(["export", "--purpose", "genai_training"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "no-such-table" in err and len(err.strip().splitlines()) == 1
