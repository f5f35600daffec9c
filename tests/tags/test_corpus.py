"""Every file of mutagen's own test corpus (100 real files, many malformed) gets a verdict."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mutagen
import pytest

from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import PURPOSES, DecisionInputs, PlatformMetadata
from gatekeeper.tags import extract, format_of
from tests.conftest import CORPUS

FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []
POLICY = load_policy_file(DEFAULT_POLICY_PATH)

#: Files mutagen reads only because of their name or leniently, and we refuse by content:
#: bare APEv2 tags (no audio), headerless Musepack SV4/SV5 (no magic bytes to identify),
#: and an MP4 whose top-level box chain runs past the end of the file.
NOT_AUDIO_BY_CONTENT = {
    "145-invalid-item-count.apev2": "format",
    "brokentag.apev2": "format",
    "oldtag.apev2": "format",
    "sv4_header.mpc": "format",
    "sv5_header.mpc": "format",
    "truncated-64bit.mp4": "mp4",
}

#: Rights known to be in some files (checked with mutagen and the files' own tests).
KNOWN_RIGHTS = {
    "silence-44-s.mp3": {"title": ["Silence"], "artist": ["piman", "jzig"]},
    "silence-44-s.flac": {"artist": ["piman", "jzig"], "title": ["Silence"]},
    "silence-44-s.wv": {"title": ["Silence"], "artist": ["piman", "jzig"]},
    "silence-2s-PCM-44100-16-ID3v23.wav": {"title": ["Silence"], "artist": ["piman / jzig", "piman, jzig"]},
    "variable-block.flac": {
        "artist": ["Boom Boom Satellites"],
        "label": ["Sony Music Records (SRCP-371)"],
        "title": ["DIVE FOR YOU"],
    },
    "nero-chapters.m4b": {
        "title": ["The Land: Predators: A LitRPG Saga: Chaos Seeds, Book 7 (Unabridged)"],
        "artist": ["Aleron Kong"],
        "label": ["Tamori Publications LLC"],
    },
    "sample_length.oggtheora": {
        "title": ["Sintel Trailer"],
        "artist": ["Durian Open Movie Team"],
        "copyright": ["(c) copyright Blender Foundation | durian.blender.org"],
        "license": ["Creative Commons Attribution 3.0 license"],
    },
    "issue_29.wma": {"title": ["Señor Flamingos Adieu"], "artist": ["Kaizers Orchestra"]},
    "has-tags.tak": {"artist": ["The Artist"]},
    "with-id3.aif": {"title": ["AIFF title"]},
    "with-id3.dsf": {"title": ["DSF title"]},
    "apev2-lyricsv2.mp3": {"title": ["A song"], "artist": ["Auth"]},
    "silence-44-s-v1.mp3": {"title": ["Silence"], "artist": ["piman"]},
}

#: Deliberately malformed files and the detail they fail with.
MALFORMED = {
    "106-invalid-streaminfo.flac": "flac",
    # A Vorbis comment claiming billions of fields: refused before it is walked.
    "ooming-header.flac": "vorbis_comment",
    "too-short.mp3": "mp3",
    "emptyfile.mp3": "format",
    "almostempty.mpc": "id3",
    "image.jpg": "format",
    "id3v23_unsynch.id3": "mp3",
    # A bare ID3 tag, no audio after it.
    "id3v24_extended_header.id3": "format",
    "64bit.mp4": "format",
}


def _mutagen_format(path: Path) -> str | None:
    """What mutagen itself, given the file name too, makes of the file (None: not audio it reads)."""
    try:
        audio = mutagen.File(path)
    except Exception:  # noqa: BLE001 - any mutagen failure means "not readable"
        return None
    return format_of(type(audio)) if audio is not None else None


def test_the_corpus_has_all_100_files() -> None:
    # Given the shared real-world corpus
    # Then all 100 files are there, so the parametrized tests below cover every one
    assert len(FILES) == 100


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_corpus_file_gets_a_verdict_consistent_with_mutagen(path: Path) -> None:
    # Given a real-world file, read by content only
    with path.open("rb") as fh:
        extraction = extract(fh)
    verdict = decide(
        DecisionInputs(PlatformMetadata(terms_version="2025-05-14"), extraction), POLICY, dt.date(2025, 6, 1)
    )
    # Then a verdict exists for both purposes, UNREADABLE exactly when the file was unreadable
    unreadable = {p: any(r.startswith("UNREADABLE") for r in verdict.reasons[p]) for p in PURPOSES}
    assert set(unreadable.values()) == {extraction.unreadable is not None}
    # And it is readable exactly when mutagen (helped by the name) reads it, with the same format
    if path.name in NOT_AUDIO_BY_CONTENT:
        assert extraction.unreadable == NOT_AUDIO_BY_CONTENT[path.name]
    else:
        expected = _mutagen_format(path)
        assert (extraction.format if extraction.unreadable is None else None) == expected


@pytest.mark.parametrize("name", sorted(KNOWN_RIGHTS))
def test_known_rights_of_real_files_are_read(name: str) -> None:
    # Given a real file whose tags are known
    with (CORPUS / name).open("rb") as fh:
        extraction = extract(fh)
    # Then exactly those rights are read
    assert extraction.unreadable is None
    assert extraction.rights == KNOWN_RIGHTS[name]


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_real_files_are_unreadable_with_a_detail(name: str) -> None:
    # Given a deliberately malformed or non-audio file
    with (CORPUS / name).open("rb") as fh:
        extraction = extract(fh)
    # Then it fails closed with the expected detail and no rights
    assert extraction.unreadable == MALFORMED[name]
    assert extraction.rights == {} and extraction.signals == []
