"""Bounded walking of chunked containers: IFF-style chunks and ISO boxes.

Two layouts cover every embedded structure the gatekeeper walks by hand:

- IFF chunks (RIFF/WAV little-endian, AIFF big-endian): 4-byte id, 4-byte
  payload size, payload, one pad byte after an odd-sized payload.
- ISO boxes (MP4/BMFF, and JUMBF inside a C2PA manifest store): 4-byte size
  *including* the header, 4-byte type; size 1 means a 64-bit `largesize`
  follows, size 0 means "to the end of the enclosing container".

Every byte is attacker-controlled. The walkers read only headers (seek + bounded
read), never a payload, so a 1 GiB `data`/`mdat` costs nothing; they stop after
`Limits.max_chunks` entries, refuse an entry that runs past its container or a
box smaller than its own header (the two ways a walk fails to make progress), and
raise `Unreadable(what)` with a message saying where. Errors of the file object
itself (e.g. `gatekeeper.errors.SourceReadError`) propagate untouched.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO, Literal

from gatekeeper.tags.limits import Limits, Unreadable

ByteOrder = Literal["little", "big"]

#: RF64/BW64 put this in a 32-bit size field whose real value lives in `ds64`.
SIZE_IN_DS64 = 0xFFFFFFFF


@dataclass(frozen=True)
class Chunk:
    """One chunk or box: its id/type and where its payload lies in the stream."""

    id: bytes
    offset: int  # first payload byte
    size: int  # payload bytes (header and pad excluded)
    header: int = 8  # header bytes before the payload (16 for an ISO box with a 64-bit largesize)

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def start(self) -> int:
        """Where the chunk or box begins (its header)."""
        return self.offset - self.header


def stream_size(fileobj: BinaryIO) -> int:
    """Size of a seekable stream, found by seeking to its end."""
    return fileobj.seek(0, io.SEEK_END)


def read_exact(fileobj: BinaryIO, offset: int, size: int, what: str) -> bytes:
    """Exactly `size` bytes at `offset`; a short read is a truncated structure."""
    fileobj.seek(offset)
    data = fileobj.read(size)
    if len(data) != size:
        raise Unreadable(what, f"{what}: truncated at offset {offset} ({len(data)} of {size} bytes)")
    return data


def read_payload(fileobj: BinaryIO, chunk: Chunk, bound: int, bound_name: str, what: str) -> bytes:
    """A chunk's payload, refused (before any read) when larger than `bound`."""
    if chunk.size > bound:
        raise Unreadable(
            what,
            f"{what}: {chunk.id!r} payload of {chunk.size} bytes exceeds {bound_name}={bound}",
        )
    return read_exact(fileobj, chunk.offset, chunk.size, what)


def _count(count: int, limits: Limits, what: str) -> None:
    if count > limits.max_chunks:
        raise Unreadable(what, f"{what}: more than max_chunks={limits.max_chunks} entries in one level")


def iter_iff_chunks(
    fileobj: BinaryIO,
    start: int,
    end: int,
    *,
    byteorder: ByteOrder,
    limits: Limits,
    what: str,
    large_sizes: Mapping[bytes, int] | None = None,
    open_ended: bool = False,
    size_bytes: int = 4,
) -> Iterator[Chunk]:
    """The chunks between `start` and `end` (IFF layout, even padding).

    Fewer trailing bytes than a header (a header cannot fit) end the walk. A 32-bit
    size of 0xFFFFFFFF is looked up in `large_sizes` (RF64's ds64 table) when given,
    else, when `open_ended` (a streamed file whose sizes were never filled in),
    the chunk runs to `end`. `size_bytes=8` walks DSDIFF's 64-bit chunk sizes.
    """
    pos, count, header_size = start, 0, 4 + size_bytes
    while end - pos >= header_size:
        count += 1
        _count(count, limits, what)
        header = read_exact(fileobj, pos, header_size, what)
        chunk_id, size = header[:4], int.from_bytes(header[4:], byteorder)
        if size == SIZE_IN_DS64 and large_sizes and chunk_id in large_sizes:
            size = large_sizes[chunk_id]
        elif size == SIZE_IN_DS64 and open_ended:
            size = end - pos - header_size
        chunk = Chunk(chunk_id, pos + header_size, size, header_size)
        if chunk.end > end:
            raise Unreadable(
                what,
                f"{what}: chunk {chunk_id!r} at offset {pos} ({size} bytes) runs past the end ({end})",
            )
        yield chunk
        pos = chunk.end + (size & 1)


def iter_boxes(fileobj: BinaryIO, start: int, end: int, *, limits: Limits, what: str) -> Iterator[Chunk]:
    """The ISO boxes between `start` and `end` (32-bit size, 64-bit largesize, 0 = to end)."""
    pos, count = start, 0
    while pos < end:
        count += 1
        _count(count, limits, what)
        if end - pos < 8:
            raise Unreadable(what, f"{what}: {end - pos} stray bytes at offset {pos}, too short for a box")
        header = read_exact(fileobj, pos, 8, what)
        size, box_type, header_len = int.from_bytes(header[:4], "big"), header[4:], 8
        if size == 1:
            size = int.from_bytes(read_exact(fileobj, pos + 8, 8, what), "big")
            header_len = 16
        elif size == 0:
            size = end - pos
        if size < header_len:
            raise Unreadable(
                what, f"{what}: box {box_type!r} at offset {pos} has size {size}, smaller than its header"
            )
        if pos + size > end:
            raise Unreadable(
                what,
                f"{what}: box {box_type!r} at offset {pos} ({size} bytes) runs past the end ({end})",
            )
        yield Chunk(box_type, pos + header_len, size - header_len, header_len)
        pos += size


# ---------------------------------------------------------------- writers (tests, samples, demo)


def iff_chunk(chunk_id: bytes, payload: bytes, byteorder: ByteOrder) -> bytes:
    """One IFF chunk with its pad byte."""
    if len(chunk_id) != 4:
        raise ValueError(f"chunk id must be 4 bytes, got {chunk_id!r}")
    pad = b"\0" if len(payload) & 1 else b""
    return chunk_id + len(payload).to_bytes(4, byteorder) + payload + pad


def append_iff_chunk(container: bytes, chunk_id: bytes, payload: bytes, byteorder: ByteOrder) -> bytes:
    """`container` (RIFF or FORM) with one more top-level chunk, its size field updated."""
    body = container[8:] + iff_chunk(chunk_id, payload, byteorder)
    return container[:4] + len(body).to_bytes(4, byteorder) + body


def box(box_type: bytes, payload: bytes) -> bytes:
    """One ISO box with a 32-bit size."""
    if len(box_type) != 4:
        raise ValueError(f"box type must be 4 bytes, got {box_type!r}")
    return (8 + len(payload)).to_bytes(4, "big") + box_type + payload
