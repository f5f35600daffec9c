"""AIFF/AIFF-C: every `ID3 ` chunk, `NAME`/`AUTH`/`(c) ` text chunk and `APPL` chunk with signature `XMP `.

FORM container, big-endian sizes, payloads padded to even length. Only the top
level is walked; `SSND` and every other payload is seeked past. mutagen's AIFF
reads only the first ID3 chunk; here every carrier of each kind is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from gatekeeper.tags.chunks import Chunk, append_iff_chunk, iter_iff_chunks, read_exact, read_payload, stream_size
from gatekeeper.tags.limits import Limits, Unreadable, check_count
from gatekeeper.tags.riff import decode_info_text

AIFF_FORMS = (b"AIFF", b"AIFC")
XMP_SIGNATURE = b"XMP "
ID3_CHUNKS = (b"ID3 ", b"id3 ")
#: AIFF text chunk ids -> rights field.
TEXT_CHUNKS: dict[bytes, str] = {b"NAME": "title", b"AUTH": "artist", b"(c) ": "copyright"}

_WHAT = "aiff"


@dataclass
class AiffChunks:
    """What an AIFF file carries besides audio, every carrier in file order."""

    text: list[tuple[str, str]] = field(default_factory=list)  # (rights field, text)
    xmp: list[bytes] = field(default_factory=list)
    id3: list[bytes] = field(default_factory=list)


def read_aiff(fileobj: BinaryIO, limits: Limits) -> AiffChunks:
    """Walk an AIFF file's top-level chunks; raises `Unreadable("aiff")` for a broken chunk chain."""
    file_end = stream_size(fileobj)
    header = read_exact(fileobj, 0, 12, _WHAT)
    form_size = int.from_bytes(header[4:8], "big")
    if header[:4] != b"FORM" or header[8:] not in AIFF_FORMS:
        raise Unreadable(_WHAT, f"aiff: not an AIFF file ({header[:4]!r}/{header[8:]!r})")
    end = 8 + form_size
    if end > file_end:
        raise Unreadable(_WHAT, f"aiff: FORM size {form_size} runs past the end of the file ({file_end} bytes)")
    found = AiffChunks()
    for chunk in iter_iff_chunks(fileobj, 12, end, byteorder="big", limits=limits, what=_WHAT):
        if chunk.id in TEXT_CHUNKS:
            text = read_payload(fileobj, chunk, limits.max_frame_bytes, "max_frame_bytes", _WHAT)
            found.text.append((TEXT_CHUNKS[chunk.id], decode_info_text(text)))
        elif chunk.id in ID3_CHUNKS:
            found.id3.append(read_payload(fileobj, chunk, limits.max_tag_bytes, "max_tag_bytes", "id3"))
        elif chunk.id == b"APPL" and chunk.size >= 4 and read_exact(fileobj, chunk.offset, 4, _WHAT) == XMP_SIGNATURE:
            body = Chunk(chunk.id, chunk.offset + 4, chunk.size - 4)
            found.xmp.append(read_payload(fileobj, body, limits.max_xmp_bytes, "max_xmp_bytes", "xmp"))
        else:
            continue
        check_count(limits, "max_tag_blocks", len(found.xmp) + len(found.id3), _WHAT)
    return found


# ---------------------------------------------------------------- writers (tests, samples, demo)


def add_aiff_chunk(data: bytes, chunk_id: bytes, payload: bytes) -> bytes:
    """An AIFF file (written by anyone) with one more top-level chunk at its end."""
    return append_iff_chunk(data, chunk_id, payload, "big")


def add_aiff_xmp(data: bytes, packet: bytes) -> bytes:
    """An AIFF file with an `APPL`/`XMP ` chunk appended."""
    return add_aiff_chunk(data, b"APPL", XMP_SIGNATURE + packet)
