"""Where the real music is: the tracks `scripts/install-music.sh` (`make music`) installs."""

from __future__ import annotations

import subprocess
from pathlib import Path

PACKAGES = ("warzone2100-music", "asc-music")
EXTENSIONS = (".opus", ".ogg", ".mp3", ".flac")


class MusicMissing(RuntimeError):
    """The music packages are not installed."""


def reference_tracks() -> list[Path]:
    """Every track of the music packages, sorted by path (what the install script lists)."""
    tracks: list[Path] = []
    for package in PACKAGES:
        listed = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True, check=False)
        if listed.returncode != 0:
            raise MusicMissing(f"Debian package {package} is not installed: run `make music` (scripts/install-music.sh)")
        tracks.extend(Path(line) for line in listed.stdout.splitlines() if line.endswith(EXTENSIONS))
    missing = [t for t in tracks if not t.is_file()]
    if missing or not tracks:
        raise MusicMissing(f"music files missing ({missing[:3]}): run `make music` (scripts/install-music.sh)")
    return sorted(tracks)


def track_name(path: Path) -> str:
    """A short unique name: album folder (if any) and file stem."""
    parent = path.parent.name
    return f"{parent}/{path.stem}" if parent not in ("music",) else path.stem
