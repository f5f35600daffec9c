"""Chunked containers whose tags sit in chunks: WAV (RIFF/RF64/BW64), AIFF, DSF and DSDIFF.

mutagen reads the stream information of each (`WaveStreamInfo`, `AIFFInfo`,
`DSFInfo`, `DSDIFFInfo`) but its tag reading is left out: it reads only the first
ID3 chunk, with mutagen's quadratic frame walk. The chunks are walked here first,
by the bounded readers of `tags.riff` / `tags.aiff` / `tags.chunks` (which also
bounds mutagen's own walk of the same chunks), and every carrier is read:

- WAV: every `id3 `/`ID3 ` chunk (`tags.id3`), `LIST/INFO` `INAM` title, `IART`
  artist, `ICOP` copyright; XMP in every `_PMX`; C2PA in every `C2PA` chunk.
- AIFF: every `ID3 ` chunk, `NAME` title, `AUTH` artist, `(c) ` copyright; XMP
  in every `APPL` chunk with signature `XMP `.
- DSF: the ID3v2 tag the header's metadata pointer names.
- DSDIFF: every top-level `ID3 ` chunk.
"""

from __future__ import annotations

import io

from mutagen.aiff import AIFFInfo
from mutagen.dsdiff import DSDIFFInfo
from mutagen.dsf import DSFFile, DSFInfo
from mutagen.wave import WaveStreamInfo

from gatekeeper.tags.aiff import read_aiff
from gatekeeper.tags.chunks import iter_iff_chunks, read_exact, read_payload
from gatekeeper.tags.collect import Collector
from gatekeeper.tags.id3 import read_id3v2
from gatekeeper.tags.limits import Unreadable, check_count
from gatekeeper.tags.riff import read_riff
from gatekeeper.tags.source import SourceView

#: RIFF INFO ids -> rights field.
INFO_IDS: dict[str, str] = {"INAM": "title", "IART": "artist", "ICOP": "copyright"}


def _id3_payloads(payloads: list[bytes], collector: Collector) -> None:
    for payload in payloads:
        read_id3v2(io.BytesIO(payload), collector)


def read_wav(stream: SourceView, collector: Collector) -> None:
    """Every ID3 chunk, `LIST/INFO` item, XMP and C2PA chunk of a WAV file."""
    chunks = read_riff(stream, collector.limits)
    stream.seek(0)
    WaveStreamInfo(stream)
    _id3_payloads(chunks.id3, collector)
    for info_id, field in INFO_IDS.items():
        collector.right(field, chunks.info.get(info_id, ()))
    for packet in chunks.xmp:
        collector.xmp(packet)
    for store in chunks.c2pa:
        collector.c2pa(store)


def read_aiff_file(stream: SourceView, collector: Collector) -> None:
    """Every ID3 chunk, text chunk and XMP chunk of an AIFF file."""
    chunks = read_aiff(stream, collector.limits)
    stream.seek(0)
    AIFFInfo(stream)
    _id3_payloads(chunks.id3, collector)
    for field, text in chunks.text:
        collector.right(field, [text])
    for packet in chunks.xmp:
        collector.xmp(packet)


def read_dsf(stream: SourceView, collector: Collector) -> None:
    """The ID3v2 tag of a DSF file, where its header's metadata pointer says."""
    stream.seek(0)
    dsf = DSFFile(stream)
    DSFInfo(dsf.fmt_chunk)
    offset = dsf.dsd_chunk.offset_metdata_chunk
    if offset:
        if offset >= stream.size:
            raise Unreadable("dsf", f"dsf: the metadata pointer {offset} lies past the end ({stream.size} bytes)")
        read_id3v2(stream.view(offset), collector)


def read_dsdiff(stream: SourceView, collector: Collector) -> None:
    """Every top-level ID3 chunk of a DSDIFF file (its `PROP` sub-chunks are bounded as mutagen walks them)."""
    limits = collector.limits
    header = read_exact(stream, 0, 16, "dsdiff")
    end = min(stream.size, 12 + int.from_bytes(header[4:12], "big"))
    payloads: list[bytes] = []
    for chunk in iter_iff_chunks(stream, 16, end, byteorder="big", limits=limits, what="dsdiff", size_bytes=8):
        if chunk.id == b"PROP":
            for _ in iter_iff_chunks(stream, chunk.offset + 4, chunk.end, byteorder="big", limits=limits,
                                     what="dsdiff", size_bytes=8):
                pass
        elif chunk.id == b"ID3 ":
            payloads.append(read_payload(stream, chunk, limits.max_tag_bytes, "max_tag_bytes", "id3"))
            check_count(limits, "max_tag_blocks", len(payloads), "dsdiff")
    stream.seek(0)
    DSDIFFInfo(stream)
    _id3_payloads(payloads, collector)
