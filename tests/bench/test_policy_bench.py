"""The policy-loading measurement (`python -m bench.policy`), run small (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

from bench.policy import measure


def test_a_generated_policy_is_loaded_and_measured(tmp_path: Path) -> None:
    m = measure("isrcs=2000", tmp_path)
    assert m.outcome == "valid: 2 carve-outs, 2003 match values"
    assert m.cpu_seconds > 0 and m.peak_rss_bytes > 0 and m.document_bytes > 2000 * 12


def test_a_document_over_the_bound_is_refused_before_it_is_read(tmp_path: Path) -> None:
    m = measure(f"bytes={17 * 2**20}", tmp_path)
    assert m.document_bytes > 16 * 2**20
    assert m.outcome.startswith("refused: ") and "over the size bound of 16777216 bytes" in m.outcome
