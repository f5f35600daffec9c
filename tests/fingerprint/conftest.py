"""Real music for the content-identification tests (`make music` installs it)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from gatekeeper import fingerprint as fpr
from gatekeeper.audio import decode_whole

from bench.music import MusicMissing, reference_tracks, track_name

#: The indexed subset: two composers, three albums, both packages (Opus and MP3 at 22 kHz).
INDEXED = (
    "menu",  # Martin Severn (original soundtrack theme)
    "original_soundtrack/track2",  # Martin Severn
    "legacy_soundtrack/track6",  # LupusMechanicus
    "legacy_soundtrack/track14",  # LupusMechanicus (same composer, same album as track6)
    "aftermath_soundtrack/track19",  # LupusMechanicus
    "machine_wars",  # asc-music (MP3, 22.05 kHz)
)


@pytest.fixture(scope="session")
def music() -> dict[str, Path]:
    """Every track of the music packages by name; fails (never skips) when they are missing."""
    try:
        tracks = reference_tracks()
    except MusicMissing as exc:
        pytest.fail(f"{exc}", pytrace=False)
    return {track_name(p): p for p in tracks}


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.fail("ffmpeg missing: run `make audio-tools` (scripts/install-audio-tools.sh)", pytrace=False)
    return path


@dataclass(frozen=True)
class Catalogue:
    index: fpr.MemoryIndex
    names: tuple[str, ...]
    paths: tuple[Path, ...]
    durations: tuple[float, ...]

    def number(self, name: str) -> int:
        return self.names.index(name)


@pytest.fixture(scope="session")
def catalogue(music: dict[str, Path]) -> Catalogue:
    """Given an in-memory index of the INDEXED references, decoded whole and fingerprinted."""
    index = fpr.MemoryIndex()
    durations = []
    for number, name in enumerate(INDEXED):
        with music[name].open("rb") as fh:
            sampled = decode_whole(fh)
        assert sampled.unchecked is None, f"{name}: {sampled.unchecked}"
        durations.append(sampled.windows[0].duration_s)
        index.add(number, fpr.reference_fingerprint(sampled.windows[0].pcm))
    return Catalogue(index, INDEXED, tuple(music[n] for n in INDEXED), tuple(durations))
