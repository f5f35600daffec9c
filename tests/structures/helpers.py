"""Test doubles and bounds shared by the embedded-structure tests.

`CountingReader` and `SparseFile` are stand-ins for the ranged S3 reader: they
let a test prove that a reader seeks past payloads (bytes read stay small) and
that a 64-bit size costs nothing. `bounded` runs a call under tracemalloc and a
clock so a hostile input is shown to fail closed within time and memory.
"""

from __future__ import annotations

import io
import subprocess
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from gatekeeper.errors import SourceReadError
from gatekeeper.tags.limits import Unreadable


class CountingReader(io.RawIOBase):
    """A seekable reader over bytes that counts what is read and can fail like S3."""

    def __init__(self, data: bytes, *, fail_after: int | None = None):
        self.data, self.pos, self.bytes_read, self.largest_read = data, 0, 0, 0
        self.fail_after = fail_after

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: len(self.data)}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("reader asked for the whole object")
        if self.fail_after is not None and self.bytes_read + size > self.fail_after:
            raise SourceReadError("simulated S3 failure")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        self.bytes_read += len(chunk)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


class SparseFile(CountingReader):
    """A huge object made of a few written regions and zeros elsewhere (nothing allocated)."""

    def __init__(self, size: int, regions: dict[int, bytes]):
        super().__init__(b"")
        self.size, self.regions = size, regions

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > 1 << 24:
            raise AssertionError(f"reader asked for {size} bytes of a sparse object")
        size = max(0, min(size, self.size - self.pos))
        out = bytearray(size)
        for start, data in self.regions.items():
            lo, hi = max(start, self.pos), min(start + len(data), self.pos + size)
            if lo < hi:
                out[lo - self.pos : hi - self.pos] = data[lo - start : hi - start]
        self.pos += size
        self.bytes_read += size
        return bytes(out)


def bounded(call: Callable[[], Any], *, mib: float = 16.0) -> Any:
    """Run `call`, assert it raises `Unreadable` within the peak-memory bound (traced, so the same on
    any machine); return it. Time is measured by `make bench`, never asserted."""
    tracemalloc.start()
    try:
        with pytest.raises(Unreadable) as caught:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < mib * (1 << 20), f"peak memory {peak / (1 << 20):.1f} MiB"
    return caught.value


def run_tool(*argv: str) -> None:
    """Run an independent writer (exempi, exiftool, ffmpeg) and fail the test if it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{argv[0]} failed: {result.stderr or result.stdout}"
