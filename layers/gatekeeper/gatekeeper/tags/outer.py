"""Tags outside any container: before the stream, after it, or both, whatever the container.

Writers put tag blocks around streams that know nothing of them, and a player or
a container's own reader often skips them. All of them are found here and read:

- at the start: every ID3v2 tag in a row (two tags before an MP3, an ID3v2 before
  FLAC, WavPack, Musepack, APE, TAK, OptimFROG, TrueAudio, AAC, AC-3, ...), and an
  APEv2 tag with a header;
- at the end, peeled from the last byte backwards in any order: ID3v1 (`TAG`),
  Lyrics3v2 (skipped: it holds lyrics, title and artist only), APEv2 (footer
  `APETAGEX`), and an appended ID3v2.4 tag (footer `3DI`).

`locate` finds where each block lies (reading only their headers and footers:
the ID3 and APEv2 readers are imported when a block of theirs is found) and the
`Layout`'s inner span, the bytes
between them; the door identifies the container on that span and gives it to the
container's reader as a file of its own, so no reader is confused by a tag that is
not its own and no tag is read twice. A block whose own header says it runs past
the file, or more than `Limits.max_tag_blocks` blocks, fail closed.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from enum import StrEnum

from gatekeeper.tags.collect import Collector
from gatekeeper.tags.limits import Limits, Unreadable, check_count
from gatekeeper.tags.source import BoundedSource

ID3V2_HEADER = 10
ID3V1_SIZE = 128
APE_FOOTER = 32
APE_MAGIC = b"APETAGEX"
APE_HAS_HEADER = 0x80000000
LYRICS3V2_END = b"LYRICS200"
LYRICS3V2_BEGIN = b"LYRICSBEGIN"


class BlockKind(StrEnum):
    ID3V2 = "id3v2"
    ID3V1 = "id3v1"
    APEV2 = "apev2"
    LYRICS3 = "lyrics3"


@dataclass(frozen=True)
class TagBlock:
    kind: BlockKind
    start: int
    end: int
    data: bytes | None = None  # the block's bytes, when locating already read them


@dataclass(frozen=True)
class Layout:
    """The tag blocks around the stream, in file order, and the stream's span [inner_start, inner_end)."""

    blocks: tuple[TagBlock, ...]
    inner_start: int
    inner_end: int


def _syncsafe(data: bytes) -> int | None:
    if any(byte & 0x80 for byte in data):
        return None
    value = 0
    for byte in data:
        value = value << 7 | byte
    return value


def id3v2_span(header: bytes) -> int | None:
    """Bytes an ID3v2 tag takes (header, frames, padding, footer) from its 10-byte header; None if not one."""
    if len(header) < ID3V2_HEADER or header[:3] != b"ID3" or header[3] == 0xFF or header[4] == 0xFF:
        return None
    size = _syncsafe(header[6:10])
    if size is None:
        return None
    return ID3V2_HEADER + size + (ID3V2_HEADER if header[3] >= 4 and header[5] & 0x10 else 0)


def locate(source: BoundedSource, limits: Limits) -> Layout:
    """Every tag block outside the stream, and where the stream lies."""
    blocks: list[TagBlock] = []
    start = _leading(source, blocks, limits)
    end = _trailing(source, blocks, start, limits)
    blocks.sort(key=lambda block: block.start)
    return Layout(tuple(blocks), start, end)


def _add(blocks: list[TagBlock], block: TagBlock, limits: Limits) -> None:
    blocks.append(block)
    check_count(limits, "max_tag_blocks", len(blocks), "tags")


def _leading(source: BoundedSource, blocks: list[TagBlock], limits: Limits) -> int:
    position = 0
    header = source.read_at(0, APE_FOOTER)
    if header.startswith(APE_MAGIC) and int.from_bytes(header[20:24], "little") & APE_HAS_HEADER:
        size = APE_FOOTER + int.from_bytes(header[12:16], "little")
        _add(blocks, _inside(source, TagBlock(BlockKind.APEV2, 0, size), "apev2"), limits)
        position = size
    while True:
        header = source.read_at(position, ID3V2_HEADER)
        span = id3v2_span(header)
        if span is None:
            if header.startswith(b"ID3"):
                raise Unreadable("id3", f"id3: an ID3v2 header at {position} with a size that is not syncsafe")
            return position
        block = _inside(source, TagBlock(BlockKind.ID3V2, position, position + span), "id3")
        # The whole tag now, kept for reading: one sequential range over S3, not a jump past
        # the tag (to look for another) and back. A tag over a bound fails when it is read,
        # once the format is known.
        with contextlib.suppress(Unreadable):
            block = TagBlock(block.kind, block.start, block.end, source.read_at(position, span))
        _add(blocks, block, limits)
        position += span


def _trailing(source: BoundedSource, blocks: list[TagBlock], floor: int, limits: Limits) -> int:
    end = source.size
    while end > floor:
        block = _trailing_block(source, floor, end)
        if block is None:
            return end
        _add(blocks, block, limits)
        end = block.start
    return max(end, floor)


def _trailing_block(source: BoundedSource, floor: int, end: int) -> TagBlock | None:
    """The tag block that ends at `end`, if one does."""
    if end - floor >= ID3V1_SIZE and source.read_at(end - ID3V1_SIZE, 3) == b"TAG":
        return TagBlock(BlockKind.ID3V1, end - ID3V1_SIZE, end)
    tail = source.read_at(max(floor, end - APE_FOOTER), min(APE_FOOTER, end - floor))
    if len(tail) >= 15 and tail.endswith(LYRICS3V2_END) and tail[-15:-9].isdigit():
        start = end - 15 - int(tail[-15:-9])
        if start >= floor and source.read_at(start, len(LYRICS3V2_BEGIN)) == LYRICS3V2_BEGIN:
            return TagBlock(BlockKind.LYRICS3, start, end)
    if len(tail) == APE_FOOTER and tail.startswith(APE_MAGIC):
        size = int.from_bytes(tail[12:16], "little")
        flags = int.from_bytes(tail[20:24], "little")
        start = end - size - (APE_FOOTER if flags & APE_HAS_HEADER else 0)
        return _inside(source, TagBlock(BlockKind.APEV2, start, end), "apev2", floor)
    if len(tail) >= ID3V2_HEADER and tail[-10:-7] == b"3DI":
        span = id3v2_span(b"ID3" + tail[-7:])
        # A footer is a copy of the tag's header: with no header where it points, it is not one.
        if span is not None and end - span >= floor and source.read_at(end - span, 3) == b"ID3":
            return TagBlock(BlockKind.ID3V2, end - span, end)
    return None


def _inside(source: BoundedSource, block: TagBlock, what: str, floor: int = 0) -> TagBlock:
    if block.start < floor or block.end > source.size or block.start > block.end:
        raise Unreadable(what, f"{what}: a tag at {block.start}-{block.end} runs outside the file ({source.size} bytes)")
    return block


def read_blocks(source: BoundedSource, layout: Layout, collector: Collector) -> None:
    """Rights and signals of every tag block around the stream, in file order."""
    for block in layout.blocks:
        view = io.BytesIO(block.data) if block.data is not None else source.view(block.start, block.end)
        if block.kind is BlockKind.ID3V2:
            from gatekeeper.tags.id3 import read_id3v2

            read_id3v2(view, collector)
        elif block.kind is BlockKind.ID3V1:
            from gatekeeper.tags.id3 import read_id3v1

            read_id3v1(view.read(), collector)
        elif block.kind is BlockKind.APEV2:
            from gatekeeper.tags.ape import read_apev2_block

            read_apev2_block(view, collector)
