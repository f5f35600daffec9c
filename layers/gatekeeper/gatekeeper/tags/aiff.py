"""AIFF/AIFF-C: the XMP packet of a top-level `APPL` chunk with signature `XMP `.

FORM container, big-endian sizes, payloads padded to even length. Only the top
level is walked; `SSND` and every other payload is seeked past.
"""

from __future__ import annotations

from typing import BinaryIO

from gatekeeper.tags.chunks import Chunk, append_iff_chunk, iter_iff_chunks, read_exact, read_payload, stream_size
from gatekeeper.tags.limits import Limits, Unreadable

AIFF_FORMS = (b"AIFF", b"AIFC")
XMP_SIGNATURE = b"XMP "

_WHAT = "aiff"


def read_aiff_xmp(fileobj: BinaryIO, limits: Limits) -> bytes | None:
    """The XMP packet of the file's `APPL`/`XMP ` chunk, or None.

    Raises `Unreadable("aiff")` for a broken chunk chain and `Unreadable("xmp")`
    for a packet over `max_xmp_bytes` or a second XMP chunk (ambiguous).
    """
    file_end = stream_size(fileobj)
    header = read_exact(fileobj, 0, 12, _WHAT)
    form_size = int.from_bytes(header[4:8], "big")
    if header[:4] != b"FORM" or header[8:] not in AIFF_FORMS:
        raise Unreadable(_WHAT, f"aiff: not an AIFF file ({header[:4]!r}/{header[8:]!r})")
    end = 8 + form_size
    if end > file_end:
        raise Unreadable(_WHAT, f"aiff: FORM size {form_size} runs past the end of the file ({file_end} bytes)")
    packet: bytes | None = None
    for chunk in iter_iff_chunks(fileobj, 12, end, byteorder="big", limits=limits, what=_WHAT):
        if chunk.id != b"APPL" or chunk.size < 4 or read_exact(fileobj, chunk.offset, 4, _WHAT) != XMP_SIGNATURE:
            continue
        if packet is not None:
            raise Unreadable("xmp", "xmp: more than one APPL/XMP chunk")
        body = Chunk(chunk.id, chunk.offset + 4, chunk.size - 4)
        packet = read_payload(fileobj, body, limits.max_xmp_bytes, "max_xmp_bytes", "xmp")
    return packet


# ---------------------------------------------------------------- writers (tests, samples, demo)


def add_aiff_chunk(data: bytes, chunk_id: bytes, payload: bytes) -> bytes:
    """An AIFF file (written by anyone) with one more top-level chunk at its end."""
    return append_iff_chunk(data, chunk_id, payload, "big")


def add_aiff_xmp(data: bytes, packet: bytes) -> bytes:
    """An AIFF file with an `APPL`/`XMP ` chunk appended."""
    return add_aiff_chunk(data, b"APPL", XMP_SIGNATURE + packet)
