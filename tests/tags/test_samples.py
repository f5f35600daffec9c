"""The sample synthesizer makes valid files that mutagen and ffmpeg both accept."""

from __future__ import annotations

import io
import subprocess
import uuid
from pathlib import Path

import mutagen
import pytest
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from gatekeeper.samples import FORMATS, make_audio, write_audio
from gatekeeper.tags.mp4boxes import XMP_UUID

KINDS = {"mp3": MP3, "flac": FLAC, "ogg_vorbis": OggVorbis, "opus": OggOpus, "mp4": MP4, "wav": WAVE, "aiff": AIFF}
TAGS = {"title": "Song", "artist": ["One", "Two"], "label": "Acme Records", "isrc": "USAC12400001", "AI_TRAINING": "no"}
XMP = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'></x:xmpmeta>"


def _values(tags, *keys: str) -> list[str]:
    """Every text value stored under any of `keys` (mutagen frame or list)."""
    out: list[str] = []
    for key in keys:
        if key in tags:
            value = tags[key]
            items = getattr(value, "text", value)
            out += [v.decode() if isinstance(v, bytes) else str(v) for v in items]
    return out


NATIVE = {
    "mp3": {
        "title": ["TIT2"],
        "artist": ["TPE1"],
        "label": ["TPUB"],
        "isrc": ["TSRC"],
        "AI_TRAINING": ["TXXX:AI_TRAINING"],
    },
    "mp4": {
        "title": ["\xa9nam"],
        "artist": ["\xa9ART"],
        "label": ["----:com.apple.iTunes:LABEL"],
        "isrc": ["----:com.apple.iTunes:ISRC"],
        "AI_TRAINING": ["----:com.apple.iTunes:AI_TRAINING"],
    },
}
NATIVE["wav"] = NATIVE["aiff"] = NATIVE["mp3"]
VORBIS = {
    "title": ["title"],
    "artist": ["artist"],
    "label": ["label"],
    "isrc": ["isrc"],
    "AI_TRAINING": ["ai_training"],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_mutagen_identifies_the_format_and_reads_every_tag_back(fmt: str) -> None:
    # Given a synthesized file with rights tags and a free-form signal tag
    data = make_audio(fmt, tags=TAGS)
    # When mutagen opens it from content alone (no file name)
    audio = mutagen.File(io.BytesIO(data))
    # Then it is the expected container, has a length, and every value is back
    assert isinstance(audio, KINDS[fmt])
    assert audio.info.length > 0
    for generic, keys in NATIVE.get(fmt, VORBIS).items():
        expected = TAGS[generic] if isinstance(TAGS[generic], list) else [TAGS[generic]]
        assert _values(audio.tags, *keys) == expected, (fmt, generic)


@pytest.mark.parametrize("fmt", FORMATS)
def test_ffmpeg_decodes_every_sample_without_error(fmt: str, tmp_path: Path) -> None:
    # Given a synthesized file on disk
    path = tmp_path / f"sample.{fmt}"
    path.write_bytes(make_audio(fmt, tags=TAGS))
    # When an independent decoder decodes the whole stream
    run = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    # Then it reports no error at all
    assert run.returncode == 0 and run.stderr == ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_size_hint_makes_a_file_of_about_that_size(fmt: str, tmp_path: Path) -> None:
    # Given a request for a file of about 1 MiB, streamed to disk
    path = tmp_path / "big"
    written = write_audio(path, fmt, tags={"title": "Big"}, size_hint=1 << 20)
    # Then the file is within 5 % of the hint and mutagen still reads it
    assert written == path.stat().st_size
    assert abs(written - (1 << 20)) < (1 << 20) // 20
    assert isinstance(mutagen.File(path), KINDS[fmt])


def test_mp4_with_moov_at_end_puts_the_metadata_after_the_audio() -> None:
    # Given an M4A whose moov follows the mdat
    data = make_audio("mp4", tags={"title": "Late"}, moov_at_end=True, size_hint=200_000)
    # Then the moov atom comes after mdat and mutagen finds the tags there
    assert data.index(b"moov") > data.index(b"mdat")
    assert MP4(io.BytesIO(data)).tags["\xa9nam"] == ["Late"]


def test_xmp_goes_to_each_containers_spec_carrier() -> None:
    # Given the same XMP packet for every container that can carry it
    # Then MP3 has it as PRIV owner XMP, MP4 in the XMP uuid box, WAV in _PMX, AIFF in APPL "XMP "
    privs = MP3(io.BytesIO(make_audio("mp3", xmp=XMP))).tags.getall("PRIV")
    assert [(p.owner, p.data) for p in privs] == [("XMP", XMP)]
    assert b"uuid" + uuid.UUID(XMP_UUID).bytes + XMP in make_audio("mp4", xmp=XMP)
    assert b"_PMX" + len(XMP).to_bytes(4, "little") + XMP in make_audio("wav", xmp=XMP)
    assert b"APPL" + (len(XMP) + 4).to_bytes(4, "big") + b"XMP " + XMP in make_audio("aiff", xmp=XMP)


def test_wav_info_items_are_written_as_a_riff_list_info_chunk() -> None:
    # Given RIFF INFO items
    data = make_audio("wav", info={"ICOP": "(c) Acme", "IART": "Band"})
    # Then a LIST/INFO chunk holds them NUL-terminated, and the file still parses
    assert b"LIST" in data and b"INFOICOP\x09\x00\x00\x00(c) Acme\x00\x00" in data
    assert isinstance(mutagen.File(io.BytesIO(data)), WAVE)


def test_padding_bytes_grow_the_tag_block() -> None:
    # Given the same tags with and without 1000 bytes of padding
    # Then the padded MP3 is exactly 1000 bytes longer
    assert len(make_audio("mp3", tags=TAGS, padding_bytes=1000)) - len(make_audio("mp3", tags=TAGS)) == 1000


@pytest.mark.parametrize(
    ("fmt", "kwargs"),
    [("flac", {"xmp": XMP}), ("mp3", {"info": {"ICOP": "x"}}), ("wav", {"moov_at_end": True}), ("mod", {})],
)
def test_impossible_requests_are_refused(fmt: str, kwargs: dict) -> None:
    # When asked for a carrier the container does not have, or an unknown format
    # Then the synthesizer refuses instead of writing something else
    with pytest.raises(ValueError):
        make_audio(fmt, **kwargs)
