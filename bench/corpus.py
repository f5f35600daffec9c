"""The benchmark's uploads: one tagged file per layout and size, generated on disk.

Files come from `gatekeeper.samples.write_audio` (streamed, so 1 GiB costs no
memory) into a temporary directory and are never committed. Each carries every
rights field, a non-reserving text signal, an XMP packet where the container has
a carrier, and tag padding standing in for cover art: `TAG_PADDING_BYTES` in
`LAYOUTS`, 1 MiB in `LARGE_TAG_LAYOUTS` (where the budget's `tag size + 64 KiB`
clause applies), none in `COMMON_LAYOUTS` (tags of a few hundred bytes to a few
KiB, as most uploads carry: they fit the reader's first two ranges, so issue 12
expects one round trip for each). `mp3-ape-id3v1` also ends with an APEv2 tag
and an ID3v1 tag (`append_ape_and_id3v1`).

`metadata_bytes` measures, independently of the gatekeeper's readers, how many
bytes of the file are not audio payload: the "tag size" of issue 6's read budget
`max(256 KiB, tag size + 64 KiB)`.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from gatekeeper.samples import write_audio
from mutagen.ogg import OggPage

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: Tag padding in every file: about one embedded cover image.
TAG_PADDING_BYTES = 96 * KIB

RIGHTS_TAGS: dict[str, str] = {
    "title": "Benchmark Track",
    "artist": "The Benchmarks",
    "label": "Acme Records",
    "copyright": "(P) 2025 Acme Records",
    "isrc": "USAC12400001",
    "upc": "0123456789012",
    "license": "https://example.com/licence",
    "TDM_RESERVATION": "0",
}

XMP_PACKET = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"
    plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-GENAIMLTRAINING"/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


@dataclass(frozen=True)
class Layout:
    """A container and where its metadata sits."""

    name: str  # as the report shows it
    fmt: str  # `gatekeeper.samples` format
    xmp: bool = True
    moov_at_end: bool = False
    tag_padding: int = TAG_PADDING_BYTES
    ape_and_id3v1: bool = False  # an APEv2 and an ID3v1 tag at the end (MP3)
    group: str = "cover-art"  # "common" (small tags), "cover-art" (96 KiB), "1m-tag"


LAYOUTS: tuple[Layout, ...] = (
    Layout("mp3", "mp3"),
    Layout("flac", "flac", xmp=False),
    Layout("ogg", "ogg_vorbis", xmp=False, group="common"),  # the sample Ogg writer takes no padding
    Layout("m4a-moov-front", "mp4"),
    Layout("m4a-moov-end", "mp4", moov_at_end=True),
    Layout("wav-id3-end", "wav"),
    Layout("aiff", "aiff"),
)

#: Every common layout with small tags (no padding): one round trip each (issue 12).
#: (Ogg is `LAYOUTS`' "ogg": its tags are small already.)
COMMON_LAYOUTS: tuple[Layout, ...] = (
    Layout("mp3-small-tag", "mp3", tag_padding=0, group="common"),
    Layout("mp3-ape-id3v1", "mp3", tag_padding=0, ape_and_id3v1=True, group="common"),
    Layout("flac-small-tag", "flac", xmp=False, tag_padding=0, group="common"),
    Layout("opus-small-tag", "opus", xmp=False, tag_padding=0, group="common"),
    Layout("m4a-front-small", "mp4", tag_padding=0, group="common"),
    Layout("m4a-end-small", "mp4", moov_at_end=True, tag_padding=0, group="common"),
    Layout("wav-small-tag", "wav", tag_padding=0, group="common"),
    Layout("aiff-small-tag", "aiff", tag_padding=0, group="common"),
)

#: The same layouts with a 1 MiB tag (the sample Ogg writer takes no padding).
LARGE_TAG_LAYOUTS: tuple[Layout, ...] = tuple(
    replace(layout, name=f"{layout.name}-1m-tag", tag_padding=MIB, group="1m-tag")
    for layout in LAYOUTS
    if layout.fmt != "ogg_vorbis"
)

#: The layout of the 1 GiB memory run: its tags lie after a 1 GiB `data` chunk.
GIB_LAYOUT = LAYOUTS[5]


@dataclass(frozen=True)
class Upload:
    """One generated file and what the read budget allows for it."""

    layout: Layout
    path: Path
    size: int
    metadata_bytes: int

    @property
    def key(self) -> str:
        return f"bench/{self.layout.name}-{self.size}.{self.layout.fmt}"

    @property
    def read_budget(self) -> int:
        """Issue 6: at most max(256 KiB, tag size + 64 KiB) read per decision."""
        return max(256 * KIB, self.metadata_bytes + 64 * KIB)


def generate(layout: Layout, size: int, directory: Path) -> Upload:
    """Write a tagged file of about `size` bytes into `directory`."""
    path = directory / f"{layout.name}-{size}.{layout.fmt}"
    written = write_audio(
        path,
        layout.fmt,
        tags=RIGHTS_TAGS,
        xmp=XMP_PACKET if layout.xmp else None,
        padding_bytes=layout.tag_padding,
        size_hint=size,
        moov_at_end=layout.moov_at_end,
    )
    with path.open("rb") as fh:
        tag_bytes = metadata_bytes(fh, layout.fmt)
    if layout.ape_and_id3v1:
        with path.open("r+b") as fh:
            appended = append_ape_and_id3v1(fh)
        written += appended
        tag_bytes += appended
    return Upload(layout, path, written, tag_bytes)


def append_ape_and_id3v1(fh: BinaryIO, tags: dict[str, str] | None = None) -> int:
    """Append an APEv2 tag and then an ID3v1 tag to a file (an MP3); the bytes added.

    The APEv2 carries the rights fields (read from its free-form keys), the ID3v1
    title and artist: tags at the very end, read from the reader's suffix range.
    """
    from mutagen.apev2 import APEv2

    values = RIGHTS_TAGS if tags is None else tags
    start = fh.seek(0, io.SEEK_END)
    ape = APEv2()
    for name, key in (("title", "Title"), ("artist", "Artist"), ("label", "Label"), ("copyright", "Copyright"),
                      ("isrc", "ISRC"), ("TDM_RESERVATION", "TDM_RESERVATION")):
        if name in values:
            ape[key] = values[name]
    fh.seek(0)
    ape.save(fh)
    fh.seek(0, io.SEEK_END)
    fh.write(id3v1(values.get("title", ""), values.get("artist", "")))
    return fh.seek(0, io.SEEK_END) - start


def id3v1(title: str, artist: str) -> bytes:
    """A 128-byte ID3v1.1 tag (Latin-1 fields, genre 255 = none)."""

    def field(text: str, size: int) -> bytes:
        return text.encode("latin-1", "replace")[:size].ljust(size, b"\x00")

    return b"TAG" + field(title, 30) + field(artist, 30) + field("", 30) + b"2025" + field("", 30) + b"\xff"


# ---------------------------------------------------------------- tag size


def metadata_bytes(fh: BinaryIO, fmt: str) -> int:
    """Bytes of the file that are not audio payload (headers, tags, indexes)."""
    return _MEASURES[fmt](fh)


def _id3v2_bytes(fh: BinaryIO) -> int:
    fh.seek(0)
    header = fh.read(10)
    if header[:3] != b"ID3":
        return 0
    size = 0
    for byte in header[6:10]:
        size = size << 7 | (byte & 0x7F)
    footer = 10 if header[5] & 0x10 else 0
    return 10 + size + footer


def _flac_bytes(fh: BinaryIO) -> int:
    offset = 4
    while True:
        fh.seek(offset)
        header = fh.read(4)
        offset += 4 + int.from_bytes(header[1:4], "big")
        if header[0] & 0x80:
            return offset


def _ogg_bytes(fh: BinaryIO) -> int:
    """The header pages: every page before the first one carrying audio."""
    fh.seek(0)
    total = 0
    while True:
        page = OggPage(fh)
        if page.position > 0:
            return total
        total += page.size


def _boxes_except(payload: bytes) -> Callable[[BinaryIO], int]:
    def measure(fh: BinaryIO) -> int:
        end = fh.seek(0, io.SEEK_END)
        offset = total = 0
        while offset < end:
            fh.seek(offset)
            size, kind = struct.unpack(">I4s", fh.read(8))
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
            if kind != payload:
                total += size
            offset += size
        return total

    return measure


def _chunks_except(payload: bytes, byte_order: str) -> Callable[[BinaryIO], int]:
    def measure(fh: BinaryIO) -> int:
        end = fh.seek(0, io.SEEK_END)
        offset = total = 12  # the FORM/RIFF header
        while offset < end:
            fh.seek(offset)
            kind, size = struct.unpack(f"{byte_order}4sI", fh.read(8))
            span = 8 + size + (size & 1)
            if kind != payload:
                total += span
            offset += span
        return total

    return measure


_MEASURES: dict[str, Callable[[BinaryIO], int]] = {
    "mp3": _id3v2_bytes,
    "flac": _flac_bytes,
    "ogg_vorbis": _ogg_bytes,
    "opus": _ogg_bytes,
    "mp4": _boxes_except(b"mdat"),
    "wav": _chunks_except(b"data", "<"),
    "aiff": _chunks_except(b"SSND", ">"),
}
