"""`tags.kinds`: the containers' scores equal mutagen's, so identifying a file imports no container."""

from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest

from gatekeeper.samples import FORMATS, make_audio
from gatekeeper.tags.kinds import KINDS, best_scored
from tests.conftest import CORPUS
from tests.tags.fuzz import MARKERS

MAGICS = (b"ID3", b"\xff\xfb", b"\xff\xf2", b"\xff\xf3", b"\xff\xfa", b"fLaC", b"OggS", b"\x01vorbis", b"OpusHead",
          b"FLAC", b"Speex   ", b"\x80theora", b"\x81theora", b"ftyp", b"mp4", b"RIFF", b"WAVE", b"FORM", b"MAC ",
          b"wvpk", b"MP+", b"MPCK", b"tBaK", b"OFR", b"DSD ", b"FRM8", b"ADIF", b"\x0b\x77", b"TTA", b"MThd",
          bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"))  # fmt: skip


def _headers() -> list[bytes]:
    headers = [path.read_bytes()[:128] for path in sorted(CORPUS.iterdir())]
    headers += [make_audio(fmt)[:128] for fmt in FORMATS]
    rng = random.Random(20261201)
    for _ in range(3000):
        parts = [rng.choice(MAGICS + MARKERS) if rng.random() < 0.7 else rng.randbytes(rng.randint(1, 12))
                 for _ in range(rng.randint(1, 6))]  # fmt: skip
        header = bytearray(b"".join(parts)[:128])
        if rng.random() < 0.5 and len(header) > 12:
            header[8:12] = rng.choice((b"WAVE", b"AIFF", b"ftyp", b"\x01vor"))
        headers.append(bytes(header))
    return headers


HEADERS = _headers()


@pytest.mark.parametrize("kind", KINDS, ids=[kind.cls for kind in KINDS])
def test_each_score_is_mutagens_with_no_file_name(kind) -> None:
    # Given real headers of every format, and thousands of headers made of every magic number
    cls = kind.load()
    # Then our score is the one mutagen's class gives with an empty file name, on every one
    mismatches = [h for h in HEADERS if kind.score(h) != int(cls.score("", io.BytesIO(h), h))]
    assert mismatches == []


def test_the_pick_is_mutagens_pick() -> None:
    classes = {kind.cls: kind.load() for kind in KINDS}
    for header in HEADERS:
        scores = [((cls.score("", io.BytesIO(header), header), name), name) for name, cls in classes.items()]
        (score, _), name = max(scores)
        ours = best_scored(header)
        assert (ours.cls if ours else None) == (name if score > 0 else None), header


def test_identifying_and_reading_an_mp3_imports_no_other_container() -> None:
    # Given a fresh interpreter that reads one MP3
    code = (
        "import io, sys; from gatekeeper.samples import make_audio; data = make_audio('mp3', tags={'title': 'x'});"
        "before = set(sys.modules); from gatekeeper.tags import extract; assert extract(io.BytesIO(data)).rights;"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('mutagen.'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # Then of mutagen's container modules only MP3's (and the ID3 it reads) were imported
    containers = {kind.module for kind in KINDS}
    assert sorted(m for m in loaded if m in containers) == ["mutagen.mp3"]
    assert "mutagen.mp4" not in loaded and "mutagen.asf" not in loaded
