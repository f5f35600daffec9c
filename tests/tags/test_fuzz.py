"""The seeded mutation fuzzer: thousands of hostile variants, zero escapes.

`FUZZ_CASES` (default 4000) and `FUZZ_SEED` select a bigger or different run,
e.g. `FUZZ_CASES=200000 pytest tests/tags/test_fuzz.py`.
"""

from __future__ import annotations

import os

import pytest

from gatekeeper.samples import FORMATS, make_audio
from gatekeeper.tags.c2pa import c2pa_store
from gatekeeper.tags.riff import add_riff_chunk
from gatekeeper.tags.xmp import xmp_packet
from tests.conftest import CORPUS
from tests.tags.fuzz import STRUCTURE_MUTATIONS, run

CASES = int(os.environ.get("FUZZ_CASES", "4000"))
STRUCTURE_CASES = int(os.environ.get("FUZZ_STRUCTURE_CASES", "300"))
SEED = int(os.environ.get("FUZZ_SEED", "20261126"))
SHARDS = 4
MAX_SEED_BYTES = 256 << 10
RIGHTS = {"title": "Song", "label": "Acme", "isrc": "USAC12400001", "TDM_RESERVATION": "1", "AI_TRAINING": "no"}


def _seeds() -> list[tuple[str, bytes]]:
    """Real files of the corpus (up to 256 KiB) and synthesized files with every carrier filled."""
    seeds = [(p.name, p.read_bytes()) for p in sorted(CORPUS.iterdir()) if p.stat().st_size <= MAX_SEED_BYTES]
    packet = xmp_packet(dmi="DMI-PROHIBITED-AIMLTRAINING", tdm="1")
    for fmt in FORMATS:
        seeds.append((fmt, make_audio(fmt, tags=RIGHTS, xmp=packet if fmt in ("mp3", "mp4", "wav", "aiff") else None)))
    store = c2pa_store({"c2pa.training-mining": {"entries": {"c2pa.ai_training": {"use": "notAllowed"}}}})
    seeds.append(("wav+c2pa+info", add_riff_chunk(make_audio("wav", info={"ICOP": "(c) x"}), b"C2PA", store)))
    return seeds


SEEDS = _seeds()


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_mutated_file_makes_extract_raise(shard: int) -> None:
    # Given a deterministic share of the seeded mutation cases
    per_shard = -(-CASES // SHARDS)
    report = run(SEEDS, per_shard, seed=SEED, first_case=shard * per_shard)
    # Then every case returns an Extraction: zero escapes
    assert report.cases == per_shard
    assert [(e.case, e.seed_name, e.error) for e in report.escapes] == []
    # And the mutations bite: many cases fail closed, for many different reasons, and many stay readable
    assert report.cases // 5 < report.unreadable < report.cases
    assert len(report.details) >= 10


def test_the_same_seed_gives_the_same_cases() -> None:
    # Given two runs of the same seed and case range
    first, second = run(SEEDS, 200, seed=SEED), run(SEEDS, 200, seed=SEED)
    # Then their outcomes are identical (an escape is reproducible from its case number)
    assert (first.unreadable, first.details) == (second.unreadable, second.details)
    assert run(SEEDS, 200, seed=SEED + 1).details != first.details


def test_a_structure_repeated_thousands_of_times_is_refused_after_bounded_work() -> None:
    # Given seeded cases that each repeat one structure (a block, box, frame, chunk header) thousands of times
    report = run(SEEDS, STRUCTURE_CASES, seed=SEED, mutations=STRUCTURE_MUTATIONS)
    # Then none escapes, and no case makes the readers do unbounded work: at most a few times the
    # structure bound (max_chunks = 10,000) of reads, whatever the number of repeats
    assert [(e.case, e.seed_name, e.error) for e in report.escapes] == []
    assert report.unreadable > 0
    assert report.most_reads <= 50_000, report.most_reads
