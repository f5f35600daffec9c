"""Reading rights and AI-use signals from audio: one door, one module per format family.

`extract(fileobj)` identifies the container from its content (mutagen's scoring,
never a file name), reads its tags through a size-bounded view of the file, and
returns an `Extraction`. It never raises because of the content: a file that is
not audio, a tag that does not parse or a bound exceeded gives
`Extraction(unreadable=<detail>)` (fail closed). Only a
`gatekeeper.errors.SourceReadError` anywhere in an exception chain propagates,
since it means reading the object failed, not the file.

Format families: `tags.id3` (ID3v2/ID3v1), `tags.vorbis` (Vorbis comments),
`tags.mp4` (MP4 atoms and uuid boxes), `tags.ape` (APEv2), `tags.asf` (ASF),
`tags.iff` (WAV/AIFF chunks); shared rules in `tags.collect`.
"""

from __future__ import annotations

import contextlib
import logging
import struct
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from mutagen import FileType
from mutagen._vorbis import VComment
from mutagen.aac import AAC
from mutagen.ac3 import AC3
from mutagen.aiff import AIFF
from mutagen.apev2 import APEv2
from mutagen.asf import ASF, ASFTags
from mutagen.dsdiff import DSDIFF
from mutagen.dsf import DSF
from mutagen.flac import FLAC
from mutagen.id3 import ID3
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Tags
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
from gatekeeper.tags.ape import read_apev2, read_trailing_apev2
from gatekeeper.tags.asf import read_asf
from gatekeeper.tags.collect import Collector
from gatekeeper.tags.id3 import read_id3, read_prepended_id3
from gatekeeper.tags.iff import read_aiff_chunks, read_wav_chunks
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.mp4 import read_mp4, read_mp4_boxes
from gatekeeper.tags.source import BoundedSource
from gatekeeper.tags.vorbis import read_flac_c2pa, read_vorbis

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

#: The tag systems mutagen exposes as `audio.tags` -> their reader.
TAG_READERS: tuple[tuple[type, Callable[[Any, Collector], None]], ...] = (
    (ID3, read_id3),
    (VComment, read_vorbis),
    (MP4Tags, read_mp4),
    (APEv2, read_apev2),
    (ASFTags, read_asf),
)
#: What a container carries beside the tags mutagen exposes, read from the object itself.
SIDE_READERS: dict[type[FileType], tuple[Callable[[BinaryIO, Collector], None], ...]] = {
    FLAC: (read_prepended_id3,),
    AAC: (read_prepended_id3,),
    MP3: (read_trailing_apev2,),
    TrueAudio: (read_trailing_apev2,),
    MP4: (read_mp4_boxes,),
    WAVE: (read_wav_chunks,),
    AIFF: (read_aiff_chunks,),
}
UNIDENTIFIED = "format"
TRUNCATED = "truncated"
#: mutagen modules whose errors name a tag block rather than the container.
_TAG_BLOCK_DETAILS = {"id3": "id3", "apev2": "apev2", "_vorbis": "vorbis_comment"}


def extract(fileobj: BinaryIO, *, limits: Limits | None = None) -> Extraction:
    """Rights and signals of the audio in a seekable binary file object (see the module doc)."""
    limits = limits or Limits.from_env()
    extraction = Extraction()
    try:
        bounded = BoundedSource(fileobj, limits)
        kind = _identify(bounded)
        if kind is None:
            return Extraction(unreadable=UNIDENTIFIED)
        extraction.format = FORMAT_NAMES[kind]
        source = cast(BinaryIO, bounded)  # a RawIOBase, which typing does not count as BinaryIO
        source.seek(0)
        _read(kind(source), source, Collector(extraction, limits))
    except Exception as exc:  # noqa: BLE001 - fail closed on anything the content causes
        failure = caused_by(exc, SourceReadError)
        if failure is not None:
            raise failure  # noqa: B904 - the transient cause itself, not mutagen's wrapper
        detail = _detail(exc, extraction.format)
        logger.debug("unreadable %s (%s): %s: %s", detail, extraction.format, type(exc).__qualname__, exc, exc_info=exc)
        return Extraction(format=extraction.format, unreadable=detail)
    return extraction


def _identify(source: BoundedSource) -> type[FileType] | None:
    """The container kind from content alone, by mutagen's scores (ties by name, as `mutagen.File`).

    Two gaps in scoring without a file name are closed by looking further:
    - a leading ID3v2 tag makes mutagen score MP3 whatever follows it, so the kind
      is scored again on the bytes after the tag (FLAC, ADTS AAC, ... with an ID3 prefix);
    - untagged MPEG audio and ADTS, and MIDI, score 0: a frame sync or `MThd` at
      the start picks MP3, AAC or SMF (their loaders verify the rest).
    """
    header = source.read_at(0, 128)
    kind = _best_scored(source, header)
    if kind is MP3 and header.startswith(b"ID3") and len(header) >= 10:
        end = _id3v2_end(header)
        # The whole tag first, as mutagen reads it next: one sequential range, not a jump
        # past the tag and back. A tag over a bound fails later, once the format is known.
        with contextlib.suppress(Unreadable):
            source.read_at(0, end)
        after = source.read_at(end, 128)
        return _best_scored(source, after, exclude=(MP3,)) or _sniffed(after) or MP3
    return kind or _sniffed(header)


def _best_scored(
    source: BoundedSource, header: bytes, exclude: tuple[type[FileType], ...] = ()
) -> type[FileType] | None:
    scores = [((kind.score("", source, header), kind.__name__), kind) for kind in _KINDS if kind not in exclude]
    (score, _name), kind = max(scores, key=lambda entry: entry[0])
    return kind if score > 0 else None


def _sniffed(header: bytes) -> type[FileType] | None:
    if header.startswith(b"MThd"):
        return SMF
    if len(header) < 2 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    return AAC if header[1] & 0xF6 == 0xF0 else MP3  # ADTS has layer bits 00


def _id3v2_end(header: bytes) -> int:
    """Offset after an ID3v2 tag: 10-byte header, syncsafe size, optional 10-byte footer."""
    size = 0
    for byte in header[6:10]:
        size = size << 7 | (byte & 0x7F)
    return 10 + size + (10 if header[5] & 0x10 else 0)


def _read(audio: FileType, source: BinaryIO, collector: Collector) -> None:
    """The container's own tags, then what sits beside them in that format."""
    for tag_type, read_tags in TAG_READERS:
        if isinstance(audio.tags, tag_type):
            read_tags(audio.tags, collector)
    if isinstance(audio, FLAC):
        read_flac_c2pa(audio, collector)
    for read_beside in SIDE_READERS.get(type(audio), ()):
        read_beside(source, collector)


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
