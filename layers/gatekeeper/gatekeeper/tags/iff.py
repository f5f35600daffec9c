"""WAV and AIFF beyond mutagen's ID3 chunk: RIFF `LIST/INFO`, AIFF text chunks, XMP and C2PA.

mutagen reads the `id3 `/`ID3 ` chunk of both (handled by `tags.id3`). The rest
is walked by the bounded chunk readers of `tags.riff` / `tags.aiff` / `tags.chunks`:

- WAV: `LIST/INFO` `INAM` title, `IART` artist, `ICOP` copyright; XMP in `_PMX`;
  C2PA in a `C2PA` chunk.
- AIFF: `NAME` title, `AUTH` artist, `(c) ` copyright; XMP in `APPL` with
  signature `XMP `.
"""

from __future__ import annotations

from typing import BinaryIO

from gatekeeper.tags.aiff import read_aiff_xmp
from gatekeeper.tags.chunks import iter_iff_chunks, read_exact, read_payload
from gatekeeper.tags.collect import Collector
from gatekeeper.tags.riff import decode_info_text, read_riff

#: RIFF INFO ids -> rights field.
INFO_IDS: dict[str, str] = {"INAM": "title", "IART": "artist", "ICOP": "copyright"}
#: AIFF text chunk ids -> rights field.
AIFF_TEXT_CHUNKS: dict[bytes, str] = {b"NAME": "title", b"AUTH": "artist", b"(c) ": "copyright"}


def read_wav_chunks(source: BinaryIO, collector: Collector) -> None:
    """Rights of `LIST/INFO` and the signals of the XMP and C2PA chunks."""
    chunks = read_riff(source, collector.limits)
    for info_id, field in INFO_IDS.items():
        collector.right(field, chunks.info.get(info_id, ()))
    collector.xmp(chunks.xmp)
    collector.c2pa(chunks.c2pa)


def read_aiff_chunks(source: BinaryIO, collector: Collector) -> None:
    """Rights of the AIFF text chunks and the signals of the XMP chunk."""
    collector.xmp(read_aiff_xmp(source, collector.limits))
    limits = collector.limits
    form_end = 8 + int.from_bytes(read_exact(source, 4, 4, "aiff"), "big")
    for chunk in iter_iff_chunks(source, 12, form_end, byteorder="big", limits=limits, what="aiff"):
        field = AIFF_TEXT_CHUNKS.get(chunk.id)
        if field is not None:
            text = read_payload(source, chunk, limits.max_frame_bytes, "max_frame_bytes", "aiff")
            collector.right(field, [decode_info_text(text)])
