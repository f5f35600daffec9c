"""Content identification on real music (Debian's warzone2100-music and asc-music).

The full robustness table (every transform, every track) is the benchmark's
(`python -m bench.content_id`); these tests hold a few of its cases to the goal on a
subset: re-encodes, an excerpt, noise at 0 dB SNR, a speed change, and no match
between different tracks — also by the same composer. Queries are made with ffmpeg
from the references, tags stripped, and go through the upload path: the decoder's
window sampler over the file, the fingerprint, the query keys, the index, the matcher.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gatekeeper import fingerprint as fpr
from gatekeeper.audio import sample_windows
from gatekeeper.fingerprint import params

from tests.fingerprint.conftest import Catalogue
from tests.fingerprint.support import ffmpeg_noisy_query, ffmpeg_query


def _matches(path: Path, catalogue: Catalogue) -> list[fpr.Match]:
    with path.open("rb") as fh:
        sampled = sample_windows(fh)
    assert sampled.unchecked is None, sampled.unchecked
    fp = fpr.select(fpr.combine(fpr.fingerprint(w.pcm, w.start_s) for w in sampled.windows))
    keys = fpr.query_keys(fp)
    assert len(keys) <= params.MAX_QUERY_KEYS
    return fpr.match(fp, catalogue.index.postings(keys), min_score=1)


CASES = {
    # name: (reference, start s, length s, ffmpeg filters, encoder options, extension)
    "mp3 64k": ("original_soundtrack/track2", 200.0, 45.0, "", ("-c:a", "libmp3lame", "-b:a", "64k"), "mp3"),
    "opus 64k": ("legacy_soundtrack/track6", 30.0, 45.0, "", ("-c:a", "libopus", "-b:a", "64k"), "opus"),
    "excerpt 10 s, aac": ("machine_wars", 151.3, 10.0, "", ("-c:a", "aac", "-b:a", "96k"), "m4a"),
    "speed +3 %": ("aftermath_soundtrack/track19", 120.0, 45.0, "aresample=48000,asetrate=49440,aresample=48000",
                   ("-c:a", "flac"), "flac"),  # fmt: skip
    "band 300-3400 Hz": ("menu", 90.0, 45.0, ",".join(["highpass=f=300"] * 4 + ["lowpass=f=3400"] * 4), ("-c:a", "flac"), "flac"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_transformed_excerpt_matches_its_reference(case: str, catalogue: Catalogue, tmp_path: Path, ffmpeg: str) -> None:
    name, start, length, filters, codec, ext = CASES[case]
    # Given an upload made from the reference with ffmpeg, tags stripped
    upload = ffmpeg_query(catalogue.paths[catalogue.number(name)], tmp_path / f"q.{ext}", start=start, length=length,
                          filters=filters, codec=codec)  # fmt: skip
    # When it goes through the upload path
    matches = _matches(upload, catalogue)
    # Then its reference is the best match, above the threshold, at the excerpt's offset
    best = matches[0]
    assert best.reference == catalogue.number(name), matches[:3]
    assert best.score >= params.MIN_SCORE
    speed = 1.03 if "speed" in case else 1.0
    assert abs(best.speed - speed) < 0.006
    assert abs(best.offset_s - start) < 0.5 + 0.001 * start
    # And no other reference comes near it
    assert all(m.score < params.MIN_SCORE for m in matches[1:]), matches[:3]


#: Pink-noise queries (0 dB SNR over the excerpt): reference, start.
PINK = (("legacy_soundtrack/track14", 200.0), ("menu", 90.0), ("original_soundtrack/track2", 250.0),
        ("legacy_soundtrack/track6", 60.0), ("aftermath_soundtrack/track19", 150.0))  # fmt: skip


def test_pink_noise_at_0_db_snr_mostly_matches_and_never_falsely(catalogue: Catalogue, tmp_path: Path, ffmpeg: str) -> None:
    # Given 45 s excerpts with as much pink noise as music (0 dB SNR), from five references
    found = []
    for number, (name, start) in enumerate(PINK):
        upload = ffmpeg_noisy_query(catalogue.paths[catalogue.number(name)], tmp_path / f"noisy{number}.flac",
                                    start=start, length=45.0, color="pink", seed=number)  # fmt: skip
        matches = _matches(upload, catalogue)
        # Then no other reference ever reaches the threshold
        assert all(m.score < params.MIN_SCORE for m in matches if m.reference != catalogue.number(name)), matches[:3]
        true = [m for m in matches if m.reference == catalogue.number(name) and m.score >= params.MIN_SCORE]
        if true:  # (its offset may be another repeat of a loop: not checked here)
            found.append(name)
    # And most match their reference: the benchmark measures ~76 % recall at 0 dB pink
    # noise (docs/content-id.md), below the 99 % goal; three of these five match
    assert len(found) >= 3, found


def test_different_tracks_never_match(music: dict[str, Path], catalogue: Catalogue, tmp_path: Path, ffmpeg: str) -> None:
    # Given uploads of tracks that are not in the index: by the same composers (the
    # indexed tracks' album mates) and from the other package
    distractors = ["legacy_soundtrack/track5", "legacy_soundtrack/track15", "aftermath_soundtrack/track20",
                   "original_soundtrack/track1", "frontiers"]  # fmt: skip
    worst = 0
    for number, name in enumerate(distractors):
        upload = ffmpeg_query(music[name], tmp_path / f"d{number}.mp3", start=60.0, length=45.0,
                              codec=("-c:a", "libmp3lame", "-b:a", "128k"))  # fmt: skip
        # Then none of them matches any reference; the best candidate stays well under the threshold
        matches = _matches(upload, catalogue)
        worst = max([worst] + [m.score for m in matches])
        assert all(m.score < params.MIN_SCORE for m in matches), (name, matches[:2])
    assert worst < params.MIN_SCORE * 0.75


def test_indexed_tracks_do_not_match_each_other(catalogue: Catalogue, tmp_path: Path, ffmpeg: str) -> None:
    # Given an upload of each indexed reference (45 s, re-encoded)
    for number, path in enumerate(catalogue.paths):
        upload = ffmpeg_query(path, tmp_path / f"self{number}.mp3", start=100.0, length=45.0,
                              codec=("-c:a", "libmp3lame", "-b:a", "96k"))  # fmt: skip
        matches = _matches(upload, catalogue)
        # Then it matches itself, and no other reference (same composer included)
        assert [m.reference for m in matches if m.score >= params.MIN_SCORE] == [number]
