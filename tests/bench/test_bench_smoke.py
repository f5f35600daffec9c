"""A small run of the benchmark (`BENCH_QUICK=1 python -m bench`) in the test suite.

It proves the harness works end to end, keeps the byte and request budget of
issue 6 true at 1 MiB, and issue 12's one round trip for every common layout
(counted by botocore hooks: GETs in flight together count once, and by the
reader itself); timings are reported by the benchmark, never asserted here. It
runs on the shaped link when the machine can make one (root, network
namespaces), else on loopback, and the document says which.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mutagen.id3 import ID3

from bench.corpus import COMMON_LAYOUTS, LARGE_TAG_LAYOUTS, LAYOUTS, XMP_PACKET, Layout, generate
from bench.imports import STAGES
from bench.report import MAX_MEMORY_GROWTH
from bench.shaped import namespaces
from bench.throughput import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
XMP_RESERVATION = "EMBEDDED_RESERVATION:xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """Given BENCH_QUICK=1, when `python -m bench` runs, then its JSON document and printed table."""
    output = tmp_path_factory.mktemp("bench") / "latest.json"
    env = {**os.environ, "BENCH_QUICK": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(output.read_text(encoding="utf-8")), done.stdout


def test_every_layout_is_decided_by_both_paths_alike(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then each layout has one row, and ranged reads reach the verdict the whole file gives."""
    document, _ = quick_run
    rows = {row["layout"]: row for row in document["decisions"]}
    assert sorted(rows) == sorted(layout.name for layout in LAYOUTS + COMMON_LAYOUTS)
    for layout in LAYOUTS + COMMON_LAYOUTS:
        row = rows[layout.name]
        assert row["same_verdict"], row
        # The carve-out matches only through embedded label/ISRC: the tags were read.
        assert "CARVE_OUT:acme-records" in row["verdict"]["ai_training"], row
        if layout.xmp:
            assert XMP_RESERVATION in row["verdict"]["genai_training"], row


def test_gatekeeper_reads_within_the_budget_of_issue_6(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then every ranged decision reads at most max(256 KiB, tag + 64 KiB) in at most 3 requests."""
    document, _ = quick_run
    for row in document["decisions"]:
        gatekeeper = row["gatekeeper"]
        assert gatekeeper["bytes_served"] <= row["read_budget"], row
        assert 1 <= gatekeeper["requests"] <= 3, row
        assert row["within_budget"] is True
    assert document["targets"]["read_budget_and_requests"] is True


def test_common_layouts_take_one_round_trip(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then every layout whose tags fit the first ranges is decided in one round trip of two GETs sent together."""
    document, _ = quick_run
    for row in document["decisions"]:
        gatekeeper = row["gatekeeper"]
        # The reader's count is exact; the hooks see the GETs it sends together as one wave when
        # they overlap in time (tests/aws/test_s3_source.py holds that they are sent together).
        if row["group"] == "common":
            assert (gatekeeper["reader_round_trips"], gatekeeper["requests"]) == (1, 2), row
        else:  # a 96 KiB tag exceeds the head or the suffix: one more GET, alone
            assert (gatekeeper["reader_round_trips"], gatekeeper["requests"]) == (2, 3), row
        assert gatekeeper["reader_round_trips"] <= gatekeeper["round_trips"] <= gatekeeper["requests"], row
        assert 1 <= gatekeeper["max_in_flight"] <= 2, row


def test_hook_counts_agree_with_the_readers_own_stats(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then botocore's view of the traffic and the reader's ReadStats are the same numbers."""
    document, _ = quick_run
    for row in document["decisions"]:
        gatekeeper, baseline = row["gatekeeper"], row["baseline"]
        assert gatekeeper["requests"] == gatekeeper["reader_requests"], row
        assert gatekeeper["bytes_consumed"] == gatekeeper["reader_bytes"] == gatekeeper["bytes_served"], row
        assert row["counts_agree"] is True
        # The baseline is one GET of the whole object.
        assert baseline["requests"] == 1 and baseline["bytes_served"] == row["size"], row
        assert baseline["round_trips"] == 1, row
        for cost in (gatekeeper, baseline):
            assert cost["cpu_shares"]["s3_calls"] > 0, "the profile sees the S3 calls"
            assert sum(cost["cpu_shares"].values()) == pytest.approx(1.0)


def test_memory_does_not_grow_with_the_object(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then the larger object costs the gatekeeper the same requests, bytes and about the same memory."""
    document, _ = quick_run
    small, large = document["memory"]["runs"]
    assert large["size"] > 4 * small["size"]
    assert large["requests"] == small["requests"]
    assert large["bytes_served"] == small["bytes_served"]
    assert document["memory"]["growth"] <= MAX_MEMORY_GROWTH


def test_cold_import_and_throughput_are_measured_and_printed(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then import medians, the decision rate and the table are in the output (no timing asserted)."""
    document, printed = quick_run
    imports = document["cold_import"]
    assert set(imports["medians"]) == {
        "import boto3", "handler (tracing off)", "handler (tracing on)", "handler + every format reader (eager, as before)"
    }  # fmt: skip
    assert imports["ratio_eager"] > 0
    assert all(len(samples) == imports["repeats"] for samples in imports["samples"].values())
    assert imports["profile"], "the import profile names where the handler's import time goes"
    assert [name for name, _ in imports["stages"]] == [name for name, _ in STAGES]
    assert document["throughput"]["decisions_per_second"] > 0
    assert document["throughput"]["inputs"] == 2_000
    assert document["throughput"]["reference"] == REFERENCE
    assert document["throughput"]["reference_units_per_second"] > 0
    assert document["throughput"]["decisions_per_reference_unit"] > 0
    for layout in LAYOUTS + COMMON_LAYOUTS:
        assert layout.name in printed
    assert "Targets:" in printed and "Cold import" in printed and "Issue 12:" in printed
    assert "decisions per reference unit" in printed


def test_the_link_is_described_and_taken_down(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then the document says which link the decisions crossed; a shaped one was checked, and is gone."""
    document, printed = quick_run
    link = document["link"]
    assert (link["first_byte_ms"], link["mib_per_second"]) == (20.0, 90.0)
    if link["shaped"]:
        assert link["unavailable"] is None
        assert link["setup"]["namespace"] not in namespaces()
        check = link["verification"]
        assert check["tiny_get_ms"]["shaped"] > 0 and check["shaped_mib_per_second"] > 0
        assert all(row["gatekeeper"]["shaped"] and row["baseline"]["shaped"] for row in document["decisions"])
        assert "Link: shaped" in printed
    else:  # never silently: the reason is recorded and printed
        assert link["unavailable"]
        assert f"Link: NOT SHAPED ({link['unavailable']})" in printed
        assert all(row["ratios"]["wall_shaped"] is None for row in document["decisions"])


@pytest.mark.parametrize("layout", LAYOUTS + COMMON_LAYOUTS + LARGE_TAG_LAYOUTS, ids=lambda layout: layout.name)
def test_generated_uploads_carry_tags_of_real_size(layout: Layout, tmp_path: Path) -> None:
    """Given a generated 2 MiB upload, then its measured tag size covers the padding and the XMP packet."""
    upload = generate(layout, 2 << 20, tmp_path)
    assert upload.path.stat().st_size == upload.size
    assert 0 < upload.metadata_bytes < upload.size
    if layout.xmp:
        assert upload.metadata_bytes >= layout.tag_padding + len(XMP_PACKET)
    if layout.ape_and_id3v1:
        assert upload.path.read_bytes()[-128:].startswith(b"TAG")
    assert upload.read_budget == max(256 * 1024, upload.metadata_bytes + 64 * 1024)


def test_tag_size_of_an_mp3_is_its_id3v2_tag_as_mutagen_reads_it(tmp_path: Path) -> None:
    """Given a generated MP3, then the benchmark's tag size equals mutagen's ID3v2 size (header included)."""
    upload = generate(LAYOUTS[0], 1 << 20, tmp_path)
    assert LAYOUTS[0].fmt == "mp3"
    assert upload.metadata_bytes == ID3(upload.path).size


def test_hostile_files_are_refused_beside_an_ordinary_file(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then every hostile file failed closed at its bound, each beside an ordinary file of its format."""
    from bench.hostile import HOSTILE

    document, printed = quick_run
    rows = {row["name"]: row for row in document["hostile"]}
    assert set(rows) == set(HOSTILE)
    for name, row in rows.items():
        assert row["unreadable"], name
        assert row["baseline"]["unreadable"] is None, name  # the ordinary file reads cleanly
        assert row["wall_ratio"] > 0
    assert "x ordinary" in printed


def test_consent_propagation_flips_the_account_and_reads_no_audio(quick_run: tuple[dict[str, Any], str]) -> None:
    """Then the account's rows all flipped, the other account's none, with about one request a row."""
    document, printed = quick_run
    figures = document["consent"]
    assert figures["flipped"] == figures["rows"] == 300
    assert figures["other_account_untouched"] is True
    assert figures["s3_requests"] == 0
    assert figures["requests"]["dynamodb:PutItem"] == figures["rows"]
    assert figures["requests"]["dynamodb:GetItem"] == 1  # the account's record, read once
    assert 1.0 <= figures["requests_per_row"] < 1.1
    assert figures["ratio_to_baseline"] > 0
    assert "consent propagation: one account, 300 uploads" in printed
