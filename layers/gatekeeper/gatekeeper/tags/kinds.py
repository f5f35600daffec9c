"""The containers the door reads, identified without importing them, each loaded when a file needs it.

A container is picked by mutagen's own scoring of the first 128 bytes of the
stream with no file name (the highest score wins, ties by mutagen's class name),
but the scores are computed from `Kind.score` here — the same expression as each
mutagen class's `score` given an empty file name, held equal by
`tests/tags/test_kinds.py` on every corpus file and fuzzed headers — so that
identifying a file imports nothing, and reading it imports only its own mutagen
module and its reader in `gatekeeper.tags`. An MP3 decision never loads the MP4,
ASF or Ogg code (each costs milliseconds of a cold start); `load_all` loads every
one (SnapStart priming, the tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

#: The header object GUID of ASF (mutagen.asf._objects.HeaderObject.GUID).
ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_MPEG_SYNCS = (b"ID3", b"\xff\xf2", b"\xff\xf3", b"\xff\xfa", b"\xff\xfb")


def _ogg(*markers: bytes, weight: int = 1) -> Callable[[bytes], int]:
    return lambda h: h.startswith(b"OggS") * sum(marker in h for marker in markers) * weight


@dataclass(frozen=True)
class Kind:
    """One container: its `format` name, where mutagen has it, how it scores, and who reads its tags.

    `reader` is `module:function` taking (stream window, collector); None for a
    container with no tag system of its own (mutagen loads it; its tags are outer).
    `options` are passed to mutagen's loader (`ID3` off for MP3 and TrueAudio).
    """

    format: str
    module: str
    cls: str
    score: Callable[[bytes], int]
    reader: str | None = None
    no_id3: bool = False

    def load(self) -> type[Any]:
        """The mutagen class (its module imported now)."""
        return _attribute(f"{self.module}:{self.cls}")

    def read(self, stream: Any, collector: Any) -> None:
        """Read the container's own tags from its stream window."""
        if self.reader is not None:
            _attribute(self.reader)(stream, collector)
            return
        from gatekeeper.tags.streams import load_stream

        load_stream(self.load(), stream, no_id3=self.no_id3)


KINDS: tuple[Kind, ...] = (
    Kind("mp3", "mutagen.mp3", "MP3", lambda h: h.startswith(_MPEG_SYNCS) * 2, no_id3=True),
    Kind("flac", "mutagen.flac", "FLAC", lambda h: int(h.startswith(b"fLaC")), "gatekeeper.tags.flac:read_flac"),
    Kind("ogg_vorbis", "mutagen.oggvorbis", "OggVorbis", _ogg(b"\x01vorbis"), "gatekeeper.tags.ogg:read_ogg"),
    Kind("opus", "mutagen.oggopus", "OggOpus", _ogg(b"OpusHead"), "gatekeeper.tags.ogg:read_ogg"),
    Kind("ogg_flac", "mutagen.oggflac", "OggFLAC", _ogg(b"FLAC", b"fLaC"), "gatekeeper.tags.ogg:read_ogg"),
    Kind("ogg_speex", "mutagen.oggspeex", "OggSpeex", _ogg(b"Speex   "), "gatekeeper.tags.ogg:read_ogg"),
    Kind("ogg_theora", "mutagen.oggtheora", "OggTheora", _ogg(b"\x80theora", b"\x81theora", weight=2),
         "gatekeeper.tags.ogg:read_ogg"),  # fmt: skip
    Kind("mp4", "mutagen.mp4", "MP4", lambda h: (b"ftyp" in h) + (b"mp4" in h), "gatekeeper.tags.mp4:read_mp4"),
    Kind("wav", "mutagen.wave", "WAVE", lambda h: h.startswith(b"RIFF") + (h[8:12] == b"WAVE"),
         "gatekeeper.tags.iff:read_wav"),  # fmt: skip
    Kind("aiff", "mutagen.aiff", "AIFF", lambda h: h.startswith(b"FORM") * 2, "gatekeeper.tags.iff:read_aiff_file"),
    Kind("asf", "mutagen.asf", "ASF", lambda h: h.startswith(ASF_GUID) * 2, "gatekeeper.tags.asf:read_asf_file"),
    Kind("ape", "mutagen.monkeysaudio", "MonkeysAudio", lambda h: int(h.startswith(b"MAC "))),
    Kind("wavpack", "mutagen.wavpack", "WavPack", lambda h: h.startswith(b"wvpk") * 2),
    Kind("musepack", "mutagen.musepack", "Musepack", lambda h: h.startswith(b"MP+") + h.startswith(b"MPCK")),
    Kind("tak", "mutagen.tak", "TAK", lambda h: int(h.startswith(b"tBaK"))),
    Kind("optimfrog", "mutagen.optimfrog", "OptimFROG", lambda h: int(h.startswith(b"OFR"))),
    Kind("dsf", "mutagen.dsf", "DSF", lambda h: h.startswith(b"DSD ") * 2, "gatekeeper.tags.iff:read_dsf"),
    Kind("dsdiff", "mutagen.dsdiff", "DSDIFF", lambda h: h.startswith(b"FRM8") * 2, "gatekeeper.tags.iff:read_dsdiff"),
    Kind("aac", "mutagen.aac", "AAC", lambda h: int(b"ADIF" in h)),
    Kind("ac3", "mutagen.ac3", "AC3", lambda h: h.startswith(b"\x0b\x77") * 2),
    Kind("trueaudio", "mutagen.trueaudio", "TrueAudio", lambda h: h.startswith(b"ID3") + h.startswith(b"TTA"),
         no_id3=True),  # fmt: skip
    Kind("smf", "mutagen.smf", "SMF", lambda h: 0),  # MIDI scores only by file name: sniffed by `MThd`
)
BY_FORMAT: dict[str, tuple[Kind, ...]] = {}
for _kind in KINDS:
    BY_FORMAT[_kind.format] = (*BY_FORMAT.get(_kind.format, ()), _kind)


def best_scored(header: bytes) -> Kind | None:
    """The kind mutagen's scoring picks for `header` with no file name (ties: the greater class name)."""
    score, _name, kind = max((kind.score(header), kind.cls, kind) for kind in KINDS)
    return kind if score > 0 else None


def by_class_name(name: str) -> Kind:
    return next(kind for kind in KINDS if kind.cls == name)


@cache
def _attribute(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def load_all() -> None:
    """Import every container's mutagen module and reader (before a snapshot; tests)."""
    for kind in KINDS:
        kind.load()
        if kind.reader is not None:
            _attribute(kind.reader)
    from gatekeeper.tags import ape, id3, streams  # noqa: F401 - the outer tags' readers
