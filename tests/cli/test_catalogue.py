"""`gatekeeper catalogue init|add|remove|list|match` against a moto *server*, on real music
(`make music`): references indexed from files, uploads matched, and `decide` with a
content-id policy reading the same catalogue."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
import pytest

from bench.music import MusicMissing, reference_tracks, track_name
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH
from tests.cli.support import run_gatekeeper

pytest.importorskip("numpy", reason="the content-id extra (make venv installs it)")

FINGERPRINTS = "gatekeeper-fingerprints-cli"


def ffmpeg(source: Path, out: Path, start: float, seconds: float, *codec: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(seconds), "-i", str(source),
                    "-map_metadata", "-1", "-vn", *codec, str(out)], check=True, capture_output=True)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 30 s reference of one track (FLAC), a stripped MP3 of it, and a stripped MP3 of another track."""
    try:
        tracks = {track_name(path): path for path in reference_tracks()}
    except MusicMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    here = tmp_path_factory.mktemp("music")
    mp3 = ("-c:a", "libmp3lame", "-b:a", "128k")
    return {
        "reference": ffmpeg(tracks["original_soundtrack/track2"], here / "track2.flac", 30, 30, "-c:a", "flac"),
        "copy": ffmpeg(tracks["original_soundtrack/track2"], here / "upload.mp3", 32, 25, *mp3),
        "other": ffmpeg(tracks["original_soundtrack/track1"], here / "other.mp3", 30, 25, *mp3),
    }


def catalogue(endpoint: str, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_gatekeeper(endpoint, home, "unused-flags", "catalogue", *args, FINGERPRINT_TABLE_NAME=FINGERPRINTS, **env)


def test_a_reference_is_indexed_listed_matched_and_removed(moto_endpoint: str, music: dict[str, Path], tmp_path: Path) -> None:
    # Given a new catalogue on the emulator
    init = catalogue(moto_endpoint, tmp_path, "init")
    assert init.returncode == 0 and f"{FINGERPRINTS}: created" in init.stdout, init.stderr
    assert "already exists" in catalogue(moto_endpoint, tmp_path, "init").stdout
    # When a label's reference is added under its carve-out
    add = catalogue(moto_endpoint, tmp_path, "add", "--carve-out", "acme-records", "--reference-id", "acme/track2",
                    str(music["reference"]))  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert add.stdout.startswith("acme/track2: indexed for acme-records, 30.0 s, ")
    # Then it is listed with its carve-out
    (listed,) = [json.loads(line) for line in catalogue(moto_endpoint, tmp_path, "list", "--json").stdout.splitlines()]
    assert (listed["reference_id"], listed["carve_out"]) == ("acme/track2", "acme-records")
    assert listed["keys"] > 100
    # And a stripped MP3 of its recording matches it; another track matches nothing
    matched = catalogue(moto_endpoint, tmp_path, "match", "--json", str(music["copy"]), str(music["other"]))
    assert matched.returncode == 0, matched.stderr
    copy, other = (json.loads(line) for line in matched.stdout.splitlines())
    assert [m["reference_id"] for m in copy["matches"]] == ["acme/track2"]
    assert copy["matches"][0]["carve_out"] == "acme-records"
    assert other["matches"] == []
    # And `decide` with a content-id policy names the match as the reason
    policy = json.loads(DEFAULT_POLICY_PATH.read_text()) | {"policy_id": "cli-content-id", "content_id": {"required": True}}
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    decide = run_gatekeeper(moto_endpoint, tmp_path, "unused-flags", "decide", "--json", "--policy",
                            str(tmp_path / "policy.json"), "--meta", "terms-version=2025-05-14", str(music["copy"]),
                            FINGERPRINT_TABLE_NAME=FINGERPRINTS)  # fmt: skip
    assert decide.returncode == 0, decide.stderr
    assert json.loads(decide.stdout)["reasons"]["ai_training"] == ["CONTENT_MATCH:acme-records/acme/track2"]
    # When it is removed
    removed = catalogue(moto_endpoint, tmp_path, "remove", "acme/track2")
    assert removed.returncode == 0 and "acme/track2: removed" in removed.stdout
    # Then nothing matches it any more, and removing it again is a usage error naming it
    again = catalogue(moto_endpoint, tmp_path, "match", "--json", str(music["copy"]))
    assert json.loads(again.stdout)["matches"] == []
    missing = catalogue(moto_endpoint, tmp_path, "remove", "acme/track2")
    assert missing.returncode == 2 and "not in the catalogue: acme/track2" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "--carve-out", "bad:id", "README.md"), "a carve-out id, without ':'"),
        (("add", "--carve-out", "acme-records", "--reference-id", "x", "a.flac", "b.flac"), "exactly one SOURCE"),
        (("add", "--carve-out", "acme-records", "s3://bucket-only"), "not an s3://bucket/key address"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(moto_endpoint: str, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    proc = catalogue(moto_endpoint, tmp_path, *args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_reference_that_is_not_audio_is_refused(moto_endpoint: str, tmp_path: Path) -> None:
    assert catalogue(moto_endpoint, tmp_path, "init").returncode == 0
    junk = tmp_path / "notes.flac"
    junk.write_bytes(b"fLaC" + b"\x00" * 5000)
    proc = catalogue(moto_endpoint, tmp_path, "add", "--carve-out", "acme-records", str(junk))
    assert proc.returncode == 2 and "cannot be decoded as audio" in proc.stderr, proc.stderr


def test_the_catalogue_needs_its_table(moto_endpoint: str, tmp_path: Path) -> None:
    proc = run_gatekeeper(moto_endpoint, tmp_path, "unused-flags", "catalogue", "list")
    assert proc.returncode == 2 and "FINGERPRINT_TABLE_NAME" in proc.stderr, proc.stderr
