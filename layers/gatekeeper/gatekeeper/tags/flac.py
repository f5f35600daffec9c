"""FLAC: every `VORBIS_COMMENT` block, and C2PA in an `APPLICATION` block with id `c2pa`.

mutagen (`mutagen.flac.FLAC`) reads the stream and keeps only the first Vorbis
comment block as the file's tags (a second one, which some writers add, is
ignored). The metadata blocks are therefore walked here first — exactly as
mutagen walks them, including its rule that a Vorbis comment or picture block is
as long as its content, whatever its header says — bounded by
`Limits.max_chunks` blocks, so a file of a million empty `PADDING` blocks is
refused at once instead of walked. Every Vorbis comment block is then parsed
strictly (`tags.vorbis`); mutagen must find as many as this walk did.
"""

from __future__ import annotations

from dataclasses import dataclass

from mutagen.flac import FLAC

from gatekeeper.tags.c2pa import FLAC_APPLICATION_ID
from gatekeeper.tags.collect import Collector
from gatekeeper.tags.limits import Limits, Unreadable, check_count
from gatekeeper.tags.source import SourceView
from gatekeeper.tags.vorbis import read_comment

FLAC_MAGIC = b"fLaC"
APPLICATION = 2
VORBIS_COMMENT = 4
PICTURE = 6

_WHAT = "flac"


@dataclass(frozen=True)
class Block:
    code: int
    offset: int  # first payload byte
    size: int  # payload bytes, as mutagen reads them


def _exact(stream: SourceView, offset: int, size: int) -> bytes:
    data = stream.read_at(offset, size)
    if len(data) != size:
        raise Unreadable(_WHAT, f"flac: truncated at offset {offset} ({len(data)} of {size} bytes)")
    return data


def _le32(stream: SourceView, offset: int) -> int:
    return int.from_bytes(_exact(stream, offset, 4), "little")


def _be32(stream: SourceView, offset: int) -> int:
    return int.from_bytes(_exact(stream, offset, 4), "big")


def _comment_size(stream: SourceView, offset: int, limits: Limits) -> int:
    """Bytes a Vorbis comment at `offset` takes, from its own length fields (no framing bit in FLAC)."""
    position = offset + 4 + _le32(stream, offset)
    count = _le32(stream, position)
    check_count(limits, "max_chunks", count, "vorbis_comment")
    position += 4
    for _ in range(count):
        position += 4 + _le32(stream, position)
    return position - offset


def _picture_size(stream: SourceView, offset: int) -> int:
    """Bytes a picture block's content takes, from its own length fields."""
    mime = _be32(stream, offset + 4)
    description = _be32(stream, offset + 8 + mime)
    data = _be32(stream, offset + 28 + mime + description)
    return 32 + mime + description + data


def metadata_blocks(stream: SourceView, limits: Limits) -> list[Block]:
    """The metadata blocks after `fLaC`, walked as mutagen walks them, at most `max_chunks`."""
    if _exact(stream, 0, 4) != FLAC_MAGIC:
        raise Unreadable(_WHAT, "flac: no fLaC marker")
    blocks: list[Block] = []
    position, last = 4, False
    while not last:
        header = _exact(stream, position, 4)
        code, last, declared = header[0] & 0x7F, bool(header[0] & 0x80), int.from_bytes(header[1:], "big")
        if code == VORBIS_COMMENT:
            size = _comment_size(stream, position + 4, limits)
        elif code == PICTURE:
            size = _picture_size(stream, position + 4)
        else:
            size = declared
        blocks.append(Block(code, position + 4, size))
        check_count(limits, "max_chunks", len(blocks), _WHAT)
        position += 4 + size
        if position > stream.size:
            raise Unreadable(_WHAT, f"flac: metadata block {code} at {position - 4 - size} runs past the end")
    return blocks


def read_flac(stream: SourceView, collector: Collector) -> None:
    """Every Vorbis comment block and every C2PA application block of a FLAC stream."""
    blocks = metadata_blocks(stream, collector.limits)
    check_count(
        collector.limits, "max_tag_blocks", sum(b.code in (VORBIS_COMMENT, APPLICATION) for b in blocks), _WHAT
    )
    stream.seek(0)
    audio = FLAC(stream)
    comments = [block for block in blocks if block.code == VORBIS_COMMENT]
    if len(comments) != sum(block.code == VORBIS_COMMENT for block in audio.metadata_blocks):
        raise Unreadable(_WHAT, "flac: mutagen and the bounded walk disagree on the Vorbis comment blocks")
    for block in blocks:
        if block.code == VORBIS_COMMENT:
            read_comment(_exact(stream, block.offset, block.size), collector, framing=False)
        elif block.code == APPLICATION and block.size >= 4:
            if _exact(stream, block.offset, 4) == FLAC_APPLICATION_ID:
                collector.c2pa(_exact(stream, block.offset + 4, block.size - 4))
