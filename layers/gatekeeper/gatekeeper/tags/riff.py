"""RIFF/WAV (and RF64/BW64): LIST/INFO text, XMP (`_PMX`), C2PA (`C2PA`) and ID3 chunks.

mutagen's WAVE reads only the ID3 chunk; rights in `LIST/INFO` (ICOP, IART, ...)
and the XMP and C2PA carriers are found here. The walk covers the top level and
the `LIST` chunks of form `INFO`; every other payload (`data` above all) is
seeked past, never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from gatekeeper.tags.chunks import (
    SIZE_IN_DS64,
    Chunk,
    append_iff_chunk,
    iff_chunk,
    iter_iff_chunks,
    read_exact,
    read_payload,
    stream_size,
)
from gatekeeper.tags.limits import Limits, Unreadable, check_count

RIFF_MAGICS = (b"RIFF", b"RF64", b"BW64")
XMP_CHUNK = b"_PMX"
C2PA_CHUNK = b"C2PA"
ID3_CHUNKS = (b"id3 ", b"ID3 ")

_WHAT = "riff"


@dataclass
class RiffChunks:
    """What a RIFF file carries besides audio, every carrier of each kind in file order.

    - `info`: LIST/INFO id (e.g. `ICOP`) -> its text values (every `LIST/INFO` chunk);
    - `xmp`, `c2pa`, `id3`: the raw payload of every `_PMX`, `C2PA` and `id3 `/`ID3 ` chunk.
    """

    info: dict[str, list[str]] = field(default_factory=dict)
    xmp: list[bytes] = field(default_factory=list)
    c2pa: list[bytes] = field(default_factory=list)
    id3: list[bytes] = field(default_factory=list)

    @property
    def carriers(self) -> int:
        return len(self.xmp) + len(self.c2pa) + len(self.id3)


def read_riff(fileobj: BinaryIO, limits: Limits) -> RiffChunks:
    """Walk a RIFF/RF64/BW64 file; raises `Unreadable` ("riff", or the bound a carrier passes).

    A streamed WAV (RIFF and chunk sizes left at 0xFFFFFFFF, as ffmpeg writes to a
    pipe) is walked to the end of the file, its open chunk (`data`) running to the end.
    """
    file_end = stream_size(fileobj)
    header = read_exact(fileobj, 0, 12, _WHAT)
    magic, riff_size = header[:4], int.from_bytes(header[4:8], "little")
    if magic not in RIFF_MAGICS:
        raise Unreadable(_WHAT, f"riff: not a RIFF file (magic {magic!r})")
    large_sizes: dict[bytes, int] = {}
    if magic != b"RIFF":
        riff_size, large_sizes = _read_ds64(fileobj, riff_size, limits)
    streamed = magic == b"RIFF" and riff_size == SIZE_IN_DS64
    end = file_end if streamed else 8 + riff_size
    if end == file_end + 1:  # the pad byte of an odd last chunk, counted but never written
        end = file_end
    if end > file_end:
        raise Unreadable(_WHAT, f"riff: RIFF size {riff_size} runs past the end of the file ({file_end} bytes)")
    found = RiffChunks()
    for chunk in iter_iff_chunks(
        fileobj, 12, end, byteorder="little", limits=limits, what=_WHAT, large_sizes=large_sizes, open_ended=streamed
    ):
        _take(fileobj, chunk, found, limits)
    return found


def _take(fileobj: BinaryIO, chunk: Chunk, found: RiffChunks, limits: Limits) -> None:
    if chunk.id == b"LIST" and chunk.size >= 4 and read_exact(fileobj, chunk.offset, 4, _WHAT) == b"INFO":
        _read_info(fileobj, chunk, found.info, limits)
    elif chunk.id == XMP_CHUNK:
        found.xmp.append(read_payload(fileobj, chunk, limits.max_xmp_bytes, "max_xmp_bytes", "xmp"))
    elif chunk.id == C2PA_CHUNK:
        found.c2pa.append(read_payload(fileobj, chunk, limits.max_c2pa_bytes, "max_c2pa_bytes", "c2pa"))
    elif chunk.id in ID3_CHUNKS:
        found.id3.append(read_payload(fileobj, chunk, limits.max_tag_bytes, "max_tag_bytes", "id3"))
    else:
        return
    check_count(limits, "max_tag_blocks", found.carriers, _WHAT)


def _read_info(fileobj: BinaryIO, listing: Chunk, info: dict[str, list[str]], limits: Limits) -> None:
    """The text sub-chunks of one LIST/INFO chunk (every value, interpreted by the collector's bounds)."""
    for sub in iter_iff_chunks(
        fileobj, listing.offset + 4, listing.end, byteorder="little", limits=limits, what=_WHAT
    ):
        text = decode_info_text(read_payload(fileobj, sub, limits.max_frame_bytes, "max_frame_bytes", _WHAT))
        values = info.setdefault(sub.id.decode("latin-1"), [])
        if text and text not in values:
            values.append(text)


def decode_info_text(raw: bytes) -> str:
    """INFO text: UTF-8 when it decodes, else latin-1; NULs and outer spaces removed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\0", "").strip()


def _read_ds64(fileobj: BinaryIO, riff_size: int, limits: Limits) -> tuple[int, dict[bytes, int]]:
    """RF64/BW64: the 64-bit RIFF and chunk sizes from the mandatory first `ds64` chunk."""
    header = read_exact(fileobj, 12, 8, _WHAT)
    ds64 = Chunk(header[:4], 20, int.from_bytes(header[4:], "little"))
    if ds64.id != b"ds64" or ds64.size < 28:
        raise Unreadable(_WHAT, "riff: RF64 file without a valid ds64 chunk")
    payload = read_payload(fileobj, ds64, limits.max_frame_bytes, "max_frame_bytes", _WHAT)
    riff64, data64 = int.from_bytes(payload[:8], "little"), int.from_bytes(payload[8:16], "little")
    table_length = int.from_bytes(payload[24:28], "little")
    if 28 + 12 * table_length > len(payload):
        raise Unreadable(_WHAT, f"riff: ds64 table of {table_length} entries runs past its chunk")
    large_sizes = {b"data": data64}
    for index in range(table_length):
        entry = payload[28 + 12 * index : 40 + 12 * index]
        large_sizes[entry[:4]] = int.from_bytes(entry[4:], "little")
    return (riff64 if riff_size == SIZE_IN_DS64 else riff_size), large_sizes


# ---------------------------------------------------------------- writers (tests, samples, demo)

_FMT_PCM_8K_MONO_16 = (
    (1).to_bytes(2, "little")  # PCM
    + (1).to_bytes(2, "little")  # channels
    + (8000).to_bytes(4, "little")  # sample rate
    + (16000).to_bytes(4, "little")  # byte rate
    + (2).to_bytes(2, "little")  # block align
    + (16).to_bytes(2, "little")  # bits per sample
)


def riff_chunk(chunk_id: bytes, payload: bytes) -> bytes:
    """One RIFF chunk (little-endian size, even padding)."""
    return iff_chunk(chunk_id, payload, "little")


def info_list(fields: dict[str, str]) -> bytes:
    """A `LIST` chunk of form `INFO` with NUL-terminated UTF-8 text sub-chunks."""
    body = b"".join(riff_chunk(name.encode("latin-1"), value.encode("utf-8") + b"\0") for name, value in fields.items())
    return riff_chunk(b"LIST", b"INFO" + body)


def build_wav(chunks: list[tuple[bytes, bytes]], pcm: bytes = b"\0" * 1600) -> bytes:
    """A valid 8 kHz mono 16-bit PCM WAV: `fmt `, the given chunks, then `data`."""
    body = riff_chunk(b"fmt ", _FMT_PCM_8K_MONO_16)
    body += b"".join(riff_chunk(chunk_id, payload) for chunk_id, payload in chunks)
    body += riff_chunk(b"data", pcm)
    return b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WAVE" + body


def add_riff_chunk(data: bytes, chunk_id: bytes, payload: bytes) -> bytes:
    """A RIFF file (written by anyone) with one more chunk at its end."""
    return append_iff_chunk(data, chunk_id, payload, "little")
