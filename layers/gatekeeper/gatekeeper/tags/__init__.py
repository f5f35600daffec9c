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
from collections.abc import Callable
from typing import BinaryIO

from mutagen import FileType
from mutagen.aac import AAC
from mutagen.ac3 import AC3
from mutagen.aiff import AIFF
from mutagen.asf import ASF
from mutagen.dsdiff import DSDIFF
from mutagen.dsf import DSF
from mutagen.flac import FLAC
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.musepack import Musepack
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggtheora import OggTheora
from mutagen.oggvorbis import OggVorbis
from mutagen.optimfrog import OptimFROG
from mutagen.smf import SMF
from mutagen.tak import TAK
from mutagen.trueaudio import TrueAudio
from mutagen.wave import WAVE
from mutagen.wavpack import WavPack

from gatekeeper.errors import SourceReadError, caused_by
from gatekeeper.models import Extraction
from gatekeeper.tags.asf import read_asf_file
from gatekeeper.tags.collect import Collector
from gatekeeper.tags.flac import read_flac
from gatekeeper.tags.iff import read_aiff_file, read_dsdiff, read_dsf, read_wav
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.mp4 import read_mp4
from gatekeeper.tags.ogg import read_ogg
from gatekeeper.tags.outer import locate, read_blocks
from gatekeeper.tags.source import BoundedSource, SourceView
from gatekeeper.tags.streams import NoID3, stream_reader

__all__ = ["FORMAT_NAMES", "extract"]

logger = logging.getLogger(__name__)

#: Every audio container mutagen reads -> the short name reported as `format`.
FORMAT_NAMES: dict[type[FileType], str] = {
    MP3: "mp3",
    FLAC: "flac",
    OggVorbis: "ogg_vorbis",
    OggOpus: "opus",
    OggFLAC: "ogg_flac",
    OggSpeex: "ogg_speex",
    OggTheora: "ogg_theora",
    MP4: "mp4",
    WAVE: "wav",
    AIFF: "aiff",
    ASF: "asf",
    MonkeysAudio: "ape",
    WavPack: "wavpack",
    Musepack: "musepack",
    TAK: "tak",
    OptimFROG: "optimfrog",
    DSF: "dsf",
    DSDIFF: "dsdiff",
    AAC: "aac",
    AC3: "ac3",
    TrueAudio: "trueaudio",
    SMF: "smf",
}
_KINDS = list(FORMAT_NAMES)

ContainerReader = Callable[[SourceView, Collector], None]

#: Container -> the reader of its own tags (the stream window between the outer tags).
CONTAINER_READERS: dict[type[FileType], ContainerReader] = {
    MP3: stream_reader(MP3, ID3=NoID3),
    TrueAudio: stream_reader(TrueAudio, ID3=NoID3),
    AAC: stream_reader(AAC),
    AC3: stream_reader(AC3),
    SMF: stream_reader(SMF),
    MonkeysAudio: stream_reader(MonkeysAudio),
    WavPack: stream_reader(WavPack),
    Musepack: stream_reader(Musepack),
    TAK: stream_reader(TAK),
    OptimFROG: stream_reader(OptimFROG),
    FLAC: read_flac,
    OggVorbis: read_ogg,
    OggOpus: read_ogg,
    OggFLAC: read_ogg,
    OggSpeex: read_ogg,
    OggTheora: read_ogg,
    MP4: read_mp4,
    WAVE: read_wav,
    AIFF: read_aiff_file,
    DSF: read_dsf,
    DSDIFF: read_dsdiff,
    ASF: read_asf_file,
}
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
        extraction.format = FORMAT_NAMES[kind]
        collector = Collector(extraction, limits)
        read_blocks(source, layout, collector)
        CONTAINER_READERS[kind](stream, collector)
    except Exception as exc:  # noqa: BLE001 - fail closed on anything the content causes
        failure = caused_by(exc, SourceReadError)
        if failure is not None:
            raise failure  # noqa: B904 - the transient cause itself, not mutagen's wrapper
        detail = _detail(exc, extraction.format)
        logger.debug("unreadable %s (%s): %s: %s", detail, extraction.format, type(exc).__qualname__, exc, exc_info=exc)
        return Extraction(format=extraction.format, unreadable=detail)
    return extraction


def _identify(stream: SourceView) -> type[FileType] | None:
    """The container kind of the stream window from content alone, by mutagen's scores (ties by name).

    Untagged MPEG audio and ADTS, and MIDI, score 0 without a file name: a frame
    sync or `MThd` at the start (after any NUL padding that followed a tag) picks
    MP3, AAC or SMF (their loaders verify the rest).
    """
    header = stream.read_at(0, 128)
    return _best_scored(stream, header) or _sniffed(_after_padding(stream, header))


def _after_padding(stream: SourceView, header: bytes) -> bytes:
    """The first bytes after the NULs some writers leave between a tag and the stream."""
    if header[:1] != b"\0":
        return header
    head = stream.read_at(0, _MAX_PADDING)
    start = len(head) - len(head.lstrip(b"\0"))
    return head[start : start + 128]


def _best_scored(stream: SourceView, header: bytes) -> type[FileType] | None:
    scores = [((kind.score("", stream, header), kind.__name__), kind) for kind in _KINDS]
    (score, _name), kind = max(scores, key=lambda entry: entry[0])
    return kind if score > 0 else None


def _sniffed(header: bytes) -> type[FileType] | None:
    if header.startswith(b"MThd"):
        return SMF
    if len(header) < 2 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    return AAC if header[1] & 0xF6 == 0xF0 else MP3  # ADTS has layer bits 00


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
