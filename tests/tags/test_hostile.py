"""Hostile files (`bench.hostile`): a structure repeated a million times fails closed after a bounded read.

Their time and memory are measured by `make bench` (docs/formats.md records them);
here only what holds on any machine: the verdict, and how little is read.
"""

from __future__ import annotations

import io
import pytest

from bench.hostile import HOSTILE
from gatekeeper.tags import extract


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        self.reads += 1
        return data


@pytest.fixture(scope="module")
def hostile_files() -> dict[str, bytes]:
    return {name: generate() for name, (generate, _) in HOSTILE.items()}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_structure_repeated_past_its_bound_fails_closed(name: str, hostile_files: dict[str, bytes]) -> None:
    # Given a file whose one structure is repeated hundreds of thousands of times
    data, detail = hostile_files[name], HOSTILE[name][1]
    source = CountingFile(data)
    # When it is read
    extraction = extract(source)
    # Then it fails closed at the structure's bound, having made at most ~10,000 reads (the bound),
    # not one per structure
    assert extraction.unreadable == detail
    assert source.reads <= 25_000, source.reads
