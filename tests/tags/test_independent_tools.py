"""Files encoded and tagged by independent tools (ffmpeg, lame, flac, metaflac, vorbiscomment, kid3-cli, exempi).

The reader must not only agree with its own sample writer. `make test` installs
the tools (scripts/install-audio-tools.sh); files are generated into tmp_path.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gatekeeper.tags import extract

PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
TDM_NS = "http://www.w3.org/ns/tdmrep/"
DMI_URI = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"


def _run(*command: str | Path) -> None:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr[-500:]}"


def _read(path: Path):
    with path.open("rb") as fh:
        return extract(fh)


@pytest.fixture(scope="module")
def pcm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of mono silence as WAV, the input of every encoder below."""
    path = tmp_path_factory.mktemp("independent") / "silence.wav"
    _run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "1", "-bitexact", path)
    return path


FFMPEG_METADATA = {
    "title": "Ff Title",
    "artist": "Ff Artist",
    "copyright": "(c) Ff",
    "publisher": "Ff Publisher",
    "label": "Ff Label",
    "isrc": "USAC12400001",
    "AI_TRAINING": "no",
}
FULL = {
    "title": ["Ff Title"],
    "artist": ["Ff Artist"],
    "copyright": ["(c) Ff"],
    "label": ["Ff Label", "Ff Publisher"],
    "isrc": ["USAC12400001"],
}
BASIC = {"title": ["Ff Title"], "artist": ["Ff Artist"], "copyright": ["(c) Ff"]}

#: ffmpeg output -> (encoder options, format, rights, signals). What each muxer writes decides the row:
#: Vorbis comments, APEv2, ASF and ID3 (also before ADTS) keep every key; MP4, RIFF INFO and
#: AIFF text chunks only their native ones.
FFMPEG_CASES = {
    "mp3": ([], "mp3", FULL, ["tag:AI_TRAINING=no"]),
    "flac": ([], "flac", FULL, ["tag:AI_TRAINING=no"]),
    "ogg": (["-c:a", "libvorbis"], "ogg_vorbis", FULL, ["tag:AI_TRAINING=no"]),
    "opus": (["-c:a", "libopus"], "opus", FULL, ["tag:AI_TRAINING=no"]),
    "spx": (["-c:a", "libspeex"], "ogg_speex", FULL, ["tag:AI_TRAINING=no"]),
    "oga": (["-c:a", "flac"], "ogg_flac", FULL, ["tag:AI_TRAINING=no"]),
    "wv": ([], "wavpack", FULL, ["tag:AI_TRAINING=no"]),
    "tta": ([], "trueaudio", FULL, ["tag:AI_TRAINING=no"]),
    "wma": (["-c:a", "wmav2"], "asf", FULL, ["tag:AI_TRAINING=no"]),
    "m4a": (["-c:a", "aac"], "mp4", BASIC, []),
    "wav": ([], "wav", BASIC, []),
    "aiff": (["-metadata", "author=Ff Artist"], "aiff", BASIC, []),
    "ac3": ([], "ac3", {}, []),
    "aac": (["-c:a", "aac", "-f", "adts", "-write_id3v2", "1"], "aac", FULL, ["tag:AI_TRAINING=no"]),
}


@pytest.mark.parametrize("suffix", sorted(FFMPEG_CASES))
def test_files_encoded_and_tagged_by_ffmpeg(pcm: Path, tmp_path: Path, suffix: str) -> None:
    # Given a file ffmpeg encoded with rights metadata and an AI_TRAINING tag
    options, fmt, rights, signals = FFMPEG_CASES[suffix]
    metadata = [arg for key, value in FFMPEG_METADATA.items() for arg in ("-metadata", f"{key}={value}")]
    path = tmp_path / f"ffmpeg.{suffix}"
    _run("ffmpeg", "-v", "error", "-i", pcm, *options, *metadata, path)
    # Then the container is named from content and every value its muxer kept is read
    extraction = _read(path)
    assert (extraction.format, extraction.unreadable) == (fmt, None)
    assert {name: sorted(values) for name, values in extraction.rights.items()} == rights
    assert extraction.signals == signals


def test_mp3_tagged_by_lame(pcm: Path, tmp_path: Path) -> None:
    # Given an MP3 encoded by lame with title, artist and user-defined ID3 frames
    path = tmp_path / "lame.mp3"
    _run(
        "lame", "--silent", "--tt", "Lame Title", "--ta", "Lame Artist", "--tc", "a comment",
        "--tv", "TPUB=Lame Label", "--tv", "TCOP=(c) Lame", "--tv", "TSRC=USAC12400003",
        "--tv", "TXXX=AI-TRAINING=opt-out", pcm, path,
    )  # fmt: skip
    # Then rights and the hyphenated signal are read
    extraction = _read(path)
    assert extraction.rights == {
        "title": ["Lame Title"],
        "artist": ["Lame Artist"],
        "label": ["Lame Label"],
        "copyright": ["(c) Lame"],
        "isrc": ["USAC12400003"],
    }
    assert extraction.signals == ["tag:AI-TRAINING=opt-out"]


def test_flac_tagged_by_flac_and_metaflac(pcm: Path, tmp_path: Path) -> None:
    # Given a FLAC tagged at encode time (flac -T) and afterwards (metaflac --set-tag)
    path = tmp_path / "reference.flac"
    _run(
        "flac",
        "-s",
        "-f",
        "-T",
        "TITLE=Flac Title",
        "-T",
        "LICENSE=https://example.com/l",
        "-T",
        "TDM-RESERVATION=1",
        pcm,
        "-o",
        path,
    )
    _run("metaflac", "--set-tag=UPC=0123456789012", "--set-tag=ORGANIZATION=Flac Org", path)
    # Then both tools' fields are read
    extraction = _read(path)
    assert extraction.rights == {
        "title": ["Flac Title"],
        "license": ["https://example.com/l"],
        "upc": ["0123456789012"],
        "label": ["Flac Org"],
    }
    assert extraction.signals == ["tag:TDM-RESERVATION=1"]


def test_ogg_vorbis_tagged_by_vorbiscomment(pcm: Path, tmp_path: Path) -> None:
    # Given an Ogg Vorbis file whose comments vorbiscomment appended
    path = tmp_path / "vc.ogg"
    _run("ffmpeg", "-v", "error", "-i", pcm, "-c:a", "libvorbis", path)
    _run("vorbiscomment", "-a", "-t", "BARCODE=0123456789012", "-t", "GENAI-TRAINING=denied", path)
    # Then the barcode is a UPC and the signal is read
    extraction = _read(path)
    assert extraction.rights == {"upc": ["0123456789012"]}
    assert extraction.signals == ["tag:GENAI-TRAINING=denied"]


@pytest.mark.parametrize(("suffix", "encoder"), [("mp3", []), ("m4a", ["-c:a", "aac"]), ("flac", [])])
def test_files_tagged_by_kid3(pcm: Path, tmp_path: Path, suffix: str, encoder: list[str]) -> None:
    # Given a file kid3-cli tagged with its generic frame names and free names
    path = tmp_path / f"kid3.{suffix}"
    _run("ffmpeg", "-v", "error", "-i", pcm, *encoder, path)
    _run(
        "kid3-cli", "-c", "set title 'Kid Title'", "-c", "set publisher 'Kid Pub'", "-c", "set copyright '(c) Kid'",
        "-c", "set isrc USAC12400002", "-c", "set LABEL 'Kid Label'", "-c", "set TDM_RESERVATION 1", path,
    )  # fmt: skip
    # Then kid3's native or free-form slot of each container is read
    extraction = _read(path)
    assert {name: sorted(values) for name, values in extraction.rights.items()} == {
        "title": ["Kid Title"],
        "label": ["Kid Label", "Kid Pub"],
        "copyright": ["(c) Kid"],
        "isrc": ["USAC12400002"],
    }
    assert extraction.signals == ["tag:TDM_RESERVATION=1"]


@pytest.mark.parametrize(("suffix", "encoder"), [("mp3", []), ("wav", []), ("m4a", ["-c:a", "aac"])])
def test_xmp_written_by_exempi(pcm: Path, tmp_path: Path, suffix: str, encoder: list[str]) -> None:
    # Given a file into which Adobe's XMP toolkit (exempi) wrote both reservation properties
    path = tmp_path / f"exempi.{suffix}"
    _run("ffmpeg", "-v", "error", "-i", pcm, *encoder, path)
    _run("exempi", "-w", "-n", PLUS_NS, "plus", "-s", "plus:DataMining", "-v", DMI_URI, path)
    _run("exempi", "-w", "-n", TDM_NS, "tdm", "-s", "tdm:reservation", "-v", "1", path)
    # Then the XMP carrier of the container is found and both signals read
    extraction = _read(path)
    assert extraction.unreadable is None
    assert extraction.signals == ["xmp:plus:DataMining=DMI-PROHIBITED-AIMLTRAINING", "xmp:tdm:reservation=1"]
