"""A seeded mutation fuzzer for `gatekeeper.tags.extract`.

Each case takes one seed file (real-world corpus or synthesized) and applies one
to three mutations: truncation, bit flips, an absurd value written into a size
field next to a structure marker (`ID3`, `moov`, `LIST`, `OggS`, ...), inserted
junk, a duplicated range, or a zeroed range; or, for the structure-count run, a
structure at a marker repeated thousands of times. `extract` must return an
`Extraction` for every case; anything it raises is an escape. The same seed
always produces the same cases, so an escape is reproducible from its case number.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gatekeeper.models import Extraction
from gatekeeper.tags import extract
from gatekeeper.tags.limits import Limits

#: Byte strings that mark a structure whose size field sits right before or after them.
MARKERS: tuple[bytes, ...] = (
    b"ID3", b"APETAGEX", b"TXXX", b"PRIV", b"GEOB", b"fLaC", b"OggS", b"vorbis", b"OpusTags",
    b"moov", b"udta", b"meta", b"ilst", b"trak", b"mdat", b"uuid", b"----", b"data",
    b"RIFF", b"LIST", b"INFO", b"_PMX", b"fmt ", b"FORM", b"COMM", b"SSND", b"APPL", b"jumb",
    b"wvpk", b"MAC ", b"MPCK", b"tBaK", b"DSD ", b"FRM8", b"MThd", b"\x30\x26\xb2\x75",
)  # fmt: skip
ABSURD_SIZES: tuple[bytes, ...] = (
    b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x00\x01",
    b"\x80\x00\x00\x00", b"\x00\x00\x00\x08", b"\x7f\x7f\x7f\x7f", b"\xff\xff\xff\xfe",
)  # fmt: skip

Mutation = Callable[[bytearray, random.Random], None]


def truncate(data: bytearray, rng: random.Random) -> None:
    del data[rng.randrange(len(data) + 1) :]


def flip_bits(data: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 16)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def absurd_size(data: bytearray, rng: random.Random) -> None:
    """Overwrite the 4 bytes before or after a structure marker (or anywhere) with an absurd size."""
    hits = [m for m in MARKERS if m in data]
    if hits:
        marker = rng.choice(hits)
        at = rng.choice(_occurrences(data, marker, 64))
        offset = max(0, rng.choice((at - 4, at + len(marker), at + len(marker) + 4)))
    else:
        offset = rng.randrange(len(data) + 1)
    data[offset : offset + 4] = rng.choice(ABSURD_SIZES)


def _occurrences(data: bytearray, marker: bytes, limit: int) -> list[int]:
    found: list[int] = []
    at = data.find(marker)
    while at >= 0 and len(found) < limit:
        found.append(at)
        at = data.find(marker, at + 1)
    return found


def insert_junk(data: bytearray, rng: random.Random) -> None:
    junk = rng.choice((bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))), rng.choice(MARKERS)))
    at = rng.randrange(len(data) + 1)
    data[at:at] = junk


def duplicate_range(data: bytearray, rng: random.Random) -> None:
    if data:
        start = rng.randrange(len(data))
        chunk = data[start : start + rng.randint(1, 4096)]
        at = rng.randrange(len(data) + 1)
        data[at:at] = chunk * rng.randint(1, 4)


def zero_range(data: bytearray, rng: random.Random) -> None:
    if data:
        start = rng.randrange(len(data))
        end = min(len(data), start + rng.randint(1, 256))
        data[start:end] = bytes(end - start)


def repeat_structure(data: bytearray, rng: random.Random) -> None:
    """Repeat a structure thousands of times: the bytes at a marker (a block, box, frame, chunk header)."""
    hits = [m for m in MARKERS if m in data]
    if hits:
        marker = rng.choice(hits)
        start = max(0, rng.choice(_occurrences(data, marker, 64)) - rng.choice((0, 4, 8)))
    else:
        start = rng.randrange(len(data) + 1)
    unit = bytes(data[start : start + rng.choice((4, 8, 10, 12, 16, 27, 32))]) or bytes(8)
    data[start:start] = unit * rng.choice((1_000, 5_000, 20_000))


MUTATIONS: tuple[Mutation, ...] = (truncate, flip_bits, absurd_size, insert_junk, duplicate_range, zero_range)
#: Structure-count mutations: each case repeats one structure thousands of times.
STRUCTURE_MUTATIONS: tuple[Mutation, ...] = (repeat_structure,)


def mutate(seed: bytes, rng: random.Random, mutations: Sequence[Mutation] = MUTATIONS) -> bytes:
    data = bytearray(seed)
    for mutation in rng.sample(list(mutations), min(len(mutations), rng.randint(1, 3))):
        mutation(data, rng)
    return bytes(data)


class CountingBytes(io.BytesIO):
    """A file object counting the reads asked of it: the readers' work, whatever the machine."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)


@dataclass
class Escape:
    case: int
    seed_name: str
    error: str
    data: bytes


@dataclass
class FuzzReport:
    cases: int = 0
    unreadable: int = 0
    escapes: list[Escape] = field(default_factory=list)
    slowest_seconds: float = 0.0
    most_reads: int = 0
    details: dict[str, int] = field(default_factory=dict)


def run(
    seeds: Sequence[tuple[str, bytes]],
    cases: int,
    *,
    seed: int,
    first_case: int = 0,
    limits: Limits | None = None,
    mutations: Sequence[Mutation] = MUTATIONS,
) -> FuzzReport:
    """Run cases `first_case`..`first_case + cases - 1` of the seeded sequence."""
    report = FuzzReport()
    limits = limits or Limits()
    for case in range(first_case, first_case + cases):
        rng = random.Random(f"{seed}:{case}")
        name, original = seeds[rng.randrange(len(seeds))]
        data = mutate(original, rng, mutations)
        source = CountingBytes(data)
        started = time.perf_counter()
        try:
            result = extract(source, limits=limits)
        except Exception as exc:  # noqa: BLE001 - an escape is what we count
            report.escapes.append(Escape(case, name, f"{type(exc).__name__}: {exc}", data))
            continue
        finally:
            report.slowest_seconds = max(report.slowest_seconds, time.perf_counter() - started)
            report.most_reads = max(report.most_reads, source.reads)
            report.cases += 1
        if not isinstance(result, Extraction):
            report.escapes.append(Escape(case, name, f"returned {type(result).__name__}", data))
        elif result.unreadable is not None:
            report.unreadable += 1
            report.details[result.unreadable] = report.details.get(result.unreadable, 0) + 1
    return report
