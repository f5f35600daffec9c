"""Reading rights and AI-use signals from audio: one door, one module per format family.

`extract(fileobj)` finds every tag block outside the stream (`tags.outer`: ID3v2
tags before it, ID3v1 / APEv2 / an appended ID3v2 after it), identifies the
container of the bytes between them from their content (mutagen's scoring, never
a file name), and reads the outer tags and the container's own, each through a
size-bounded window of the file, into an `Extraction`. It never raises because of
the content: a file that is not audio, a tag that does not parse, a value that
cannot be read whole or a bound exceeded gives `Extraction(unreadable=<detail>)`
(fail closed). Only a `gatekeeper.errors.SourceReadError` anywhere in an
exception chain propagates, since it means reading the object failed, not the file.

Format families, each reading every carrier of its container: `tags.id3`
(ID3v2/ID3v1), `tags.ape` (APEv2), `tags.flac` and `tags.vorbis` (Vorbis
comments), `tags.ogg` (every logical stream of every link), `tags.mp4` (every
`ilst`, uuid boxes), `tags.iff` (WAV, AIFF, DSF, DSDIFF chunks), `tags.asf`
(ASF), `tags.streams` (containers whose tags are all outer); shared rules in
`tags.collect`, bounds in `tags.limits`.
"""

from __future__ import annotations

import logging
import struct
from typing import BinaryIO

from gatekeeper.errors import SourceReadError, caused_by
from gatekeeper.models import Extraction
from gatekeeper.tags.collect import Collector
from gatekeeper.tags.kinds import BY_FORMAT, KINDS, Kind, best_scored, by_class_name
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.outer import locate, read_blocks
from gatekeeper.tags.source import BoundedSource, SourceView

__all__ = ["FORMATS", "KINDS", "extract", "format_of"]

logger = logging.getLogger(__name__)

#: Every `format` the door reports.
FORMATS: tuple[str, ...] = tuple(BY_FORMAT)


def format_of(mutagen_class: type) -> str | None:
    """The `format` name of a mutagen file type (None for one the door does not read)."""
    try:
        return by_class_name(mutagen_class.__name__).format
    except StopIteration:
        return None


UNIDENTIFIED = "format"
TRUNCATED = "truncated"
#: NUL bytes skipped after a tag to find an MPEG/ADTS frame sync (as mutagen's MP3 reader does).
_MAX_PADDING = 64 * 1024
#: mutagen modules whose errors name a tag block rather than the container.
_TAG_BLOCK_DETAILS = {"id3": "id3", "apev2": "apev2", "_vorbis": "vorbis_comment"}


def extract(fileobj: BinaryIO, *, limits: Limits | None = None) -> Extraction:
    """Rights and signals of the audio in a seekable binary file object (see the module doc)."""
    limits = limits or Limits.from_env()
    extraction = Extraction()
    try:
        source = BoundedSource(fileobj, limits)
        layout = locate(source, limits)
        stream = source.view(layout.inner_start, layout.inner_end)
        kind = _identify(stream)
        if kind is None:
            return Extraction(unreadable=UNIDENTIFIED)
        extraction.format = kind.format
        collector = Collector(extraction, limits)
        read_blocks(source, layout, collector)
        kind.read(stream, collector)
    except Exception as exc:  # noqa: BLE001 - fail closed on anything the content causes
        failure = caused_by(exc, SourceReadError)
        if failure is not None:
            raise failure  # noqa: B904 - the transient cause itself, not mutagen's wrapper
        detail = _detail(exc, extraction.format)
        logger.debug("unreadable %s (%s): %s: %s", detail, extraction.format, type(exc).__qualname__, exc, exc_info=exc)
        return Extraction(format=extraction.format, unreadable=detail)
    return extraction


def _identify(stream: SourceView) -> Kind | None:
    """The container of the stream window from content alone, by mutagen's scores (`tags.kinds`).

    Untagged MPEG audio and ADTS, and MIDI, score 0 without a file name: a frame
    sync or `MThd` at the start (after any NUL padding that followed a tag) picks
    MP3, AAC or SMF (their loaders verify the rest).
    """
    header = stream.read_at(0, 128)
    return best_scored(header) or _sniffed(_after_padding(stream, header))


def _after_padding(stream: SourceView, header: bytes) -> bytes:
    """The first bytes after the NULs some writers leave between a tag and the stream."""
    if header[:1] != b"\0":
        return header
    head = stream.read_at(0, _MAX_PADDING)
    start = len(head) - len(head.lstrip(b"\0"))
    return head[start : start + 128]


def _sniffed(header: bytes) -> Kind | None:
    if header.startswith(b"MThd"):
        return by_class_name("SMF")
    if len(header) < 2 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    return by_class_name("AAC" if header[1] & 0xF6 == 0xF0 else "MP3")  # ADTS has layer bits 00


def _detail(exc: BaseException, fmt: str | None) -> str:
    """The `UNREADABLE:<detail>` of a failure: a bound or structure name, a tag block, or the container."""
    bound = caused_by(exc, Unreadable)
    if isinstance(bound, Unreadable):
        return bound.detail
    module = type(exc).__module__.split(".")
    if module[0] == "mutagen" and len(module) > 1 and module[1] in _TAG_BLOCK_DETAILS:
        return _TAG_BLOCK_DETAILS[module[1]]
    if isinstance(exc, (EOFError, struct.error)):
        return TRUNCATED
    return fmt or UNIDENTIFIED
