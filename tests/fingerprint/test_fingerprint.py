"""The pure fingerprint package: determinism, storage, the query-key budget, matching rules."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from gatekeeper import fingerprint as fpr
from gatekeeper.fingerprint import params

from tests.fingerprint.support import melody


@pytest.fixture(scope="module")
def tune() -> np.ndarray:
    """Given two minutes of a deterministic synthetic tune at the analysis rate."""
    return melody(120.0, seed=7)


@pytest.fixture(scope="module")
def query(tune: np.ndarray) -> fpr.Fingerprint:
    """Given the fingerprint of three 12 s windows of it, placed on its timeline."""
    rate = fpr.SAMPLE_RATE
    return fpr.combine(fpr.fingerprint(tune[int(s * rate) : int((s + 12) * rate)], s) for s in (10.0, 50.0, 90.0))


def test_fingerprints_are_deterministic(tune: np.ndarray) -> None:
    # When the same audio is fingerprinted twice
    first, second = fpr.fingerprint(tune[: 30 * fpr.SAMPLE_RATE]), fpr.fingerprint(tune[: 30 * fpr.SAMPLE_RATE].copy())
    # Then the fingerprints, and their encodings, are identical
    assert len(first) > 500
    assert first == second
    assert fpr.encode(first) == fpr.encode(second)


def test_hashes_are_in_key_space_and_times_on_the_timeline(query: fpr.Fingerprint) -> None:
    # Then every hash is below KEY_SPACE and every time lies inside its window's span
    assert query.hashes.max() < params.KEY_SPACE < 2**19
    for window, (first, frames) in enumerate(query.spans):
        times = query.times[query.windows == window]
        assert times.size > 0
        assert first <= times.min() and times.max() < first + frames
    # And the windows start where they were placed (10 s, 50 s, 90 s)
    assert [round(first * fpr.FRAME_S) for first, _ in query.spans] == [10, 50, 90]


def test_reference_chunking_changes_nothing(tune: np.ndarray) -> None:
    # When a reference longer than one analysis chunk is fingerprinted
    whole = fpr.reference_fingerprint(tune)
    # Then its first minute's hashes are those of the first minute analysed alone
    # (chunks overlap by margins wider than any neighbourhood)
    head = fpr.reference_fingerprint(tune[: 61 * fpr.SAMPLE_RATE])
    cut = 55 / fpr.FRAME_S  # away from the shorter signal's end
    a = {(int(h), int(t)) for h, t in zip(whole.hashes, whole.times, strict=True) if t < cut}
    b = {(int(h), int(t)) for h, t in zip(head.hashes, head.times, strict=True) if t < cut}
    assert a == b and len(a) > 1000


def test_silence_and_too_little_audio_give_no_hashes() -> None:
    # Given digital silence, and fewer samples than one FFT
    silent = fpr.fingerprint(np.zeros(10 * fpr.SAMPLE_RATE, np.float32))
    tiny = fpr.fingerprint(np.ones(100, np.float32) * 0.1)
    # Then neither has a hash, and neither matches anything
    assert len(silent) == 0 and len(tiny) == 0
    assert fpr.query_keys(silent) == []
    assert fpr.match(silent, {1: [(0, 0)]}) == []


def test_bad_pcm_is_refused_or_sanitised() -> None:
    # Stereo or integer PCM is a programming error
    with pytest.raises(ValueError, match="mono"):
        fpr.fingerprint(np.zeros((2, 8000), np.float32))
    with pytest.raises(ValueError, match="float"):
        fpr.fingerprint(np.zeros(8000, np.int16))
    # Non-finite samples are treated as silence, not propagated
    signal = melody(12.0, seed=3)
    signal[1000:2000] = np.nan
    assert len(fpr.fingerprint(signal)) > 0


def test_encode_decode_round_trip_is_exact_and_small(query: fpr.Fingerprint) -> None:
    # When the selected query fingerprint is encoded and decoded
    selected = fpr.select(query)
    data = fpr.encode(selected)
    # Then it is the same fingerprint, in a few KB (DynamoDB items hold 400 KB)
    assert fpr.decode(data) == selected
    assert len(data) < 8 * 1024
    assert fpr.query_keys(fpr.decode(data)) == fpr.query_keys(query)


def test_encode_of_an_empty_fingerprint_round_trips() -> None:
    empty = fpr.combine([])
    assert fpr.decode(fpr.encode(empty)) == empty


def _header(n_windows: int, n: int, *, version: int = 1, params_version: int = params.PARAMS_VERSION) -> bytes:
    return struct.pack(">4sBBHI", b"GKFP", version, params_version, n_windows, n)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated"),
        (b"GKFP\x01", "truncated"),
        (b"RIFF" + bytes(20), "magic"),
        (_header(1, 0, version=9), "format 9"),
        (_header(1, 0, params_version=99), "parameters v99"),
        (_header(1, 10**6), "exceed"),
        (_header(300, 0), "windows exceed"),
        (_header(1, 5), "truncated: window"),
        (_header(1, 5) + struct.pack(">III", 0, 100, 4), "add up"),
        (_header(1, 2) + struct.pack(">III", 0, 100, 2) + b"not zlib", "corrupt"),
        (_header(1, 2) + struct.pack(">III", 0, 100, 2) + zlib.compress(bytes(17)), "length"),
        (_header(1, 2) + struct.pack(">III", 0, 100, 2) + zlib.compress(bytes(19)), "length"),
        (_header(1, 1) + struct.pack(">III", 0, 100, 1) + zlib.compress(bytes([0, 0, 0, 0, 255, 255, 255, 0, 0])), "range"),
        (_header(1, 1) + struct.pack(">III", 0, 100, 1) + zlib.compress(bytes([200, 0, 0, 0, 1, 0, 0, 0, 0])), "outside"),
        (b"GKFP" + bytes(300 * 1024), "exceeds"),
    ],
)
def test_decode_refuses_hostile_bytes_with_a_clear_error(data: bytes, message: str) -> None:
    # When bytes that are not a valid fingerprint are decoded
    with pytest.raises(fpr.FingerprintDecodeError, match=message) as caught:
        fpr.decode(data)
    # Then the error is a ValueError naming the problem
    assert isinstance(caught.value, ValueError)


def test_decode_never_inflates_a_zip_bomb() -> None:
    # Given a header promising 2 hashes and a body inflating to 100 MB
    bomb = _header(1, 2) + struct.pack(">III", 0, 100, 2) + zlib.compress(bytes(100 * 2**20), 9)
    assert len(bomb) < params.MAX_QUERY_KEYS * 1024  # small on the wire
    # Then decoding stops at the promised size and refuses it
    with pytest.raises(fpr.FingerprintDecodeError, match="length"):
        fpr.decode(bomb)


def test_decode_of_random_bytes_only_ever_raises_the_decode_error() -> None:
    rng = np.random.default_rng(5)
    valid = fpr.encode(fpr.fingerprint(melody(12.0, seed=1)))
    for trial in range(300):
        data = bytearray(valid)
        for _ in range(int(rng.integers(1, 8))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        if trial % 3 == 0:
            data = data[: int(rng.integers(0, len(data)))]
        try:
            fp = fpr.decode(bytes(data))
        except fpr.FingerprintDecodeError:
            continue
        assert fp.hashes.max(initial=0) < params.KEY_SPACE


def test_query_keys_are_capped_deterministic_and_shared_by_windows(tune: np.ndarray) -> None:
    # Given a fingerprint of far more distinct keys than the budget (two minutes, six windows)
    rate = fpr.SAMPLE_RATE
    big = fpr.combine(fpr.fingerprint(tune[int(s * rate) : int((s + 20) * rate)], s) for s in range(0, 120, 20))
    assert np.unique(big.hashes).size > 2 * params.MAX_QUERY_KEYS
    # When its query keys are chosen
    keys = fpr.query_keys(big)
    # Then there are exactly MAX_QUERY_KEYS distinct ones (10 BatchGetItem requests), ascending
    assert len(keys) == params.MAX_QUERY_KEYS == len(set(keys))
    assert keys == sorted(keys)
    # And the same ones every time, also from the selected fingerprint (idempotent)
    selected = fpr.select(big)
    assert fpr.query_keys(big) == keys == fpr.query_keys(selected)
    assert fpr.select(selected) is selected
    # And every window keeps a fair share of them
    per_window = [np.unique(selected.hashes[selected.windows == w]).size for w in range(6)]
    assert min(per_window) >= params.MAX_QUERY_KEYS // 6 * 0.8
    # And a smaller budget is honoured too
    assert len(fpr.query_keys(big, 100)) == 100


def test_select_prefers_the_strongest_hashes(query: fpr.Fingerprint) -> None:
    selected = fpr.select(query, 200)
    dropped = ~np.isin(query.hashes, selected.hashes)
    assert np.median(selected.strengths) > np.median(query.strengths[dropped])


def test_a_window_matches_its_reference_at_the_right_offset(tune: np.ndarray, query: fpr.Fingerprint) -> None:
    # Given an index of the tune and of another tune
    index = fpr.MemoryIndex()
    index.add(1, fpr.reference_fingerprint(melody(120.0, seed=8)))
    index.add(7, fpr.reference_fingerprint(tune))
    # When the query taken from the tune is matched
    matches = fpr.match(query, index.postings(fpr.query_keys(query)))
    # Then the tune is the one match, with all three windows on one line at offset 0, speed 1
    assert [m.reference for m in matches] == [7]
    best = matches[0]
    assert best.score >= params.MIN_SCORE and best.windows == 3
    assert abs(best.offset_s) < 0.1 and abs(best.speed - 1) < 0.002 and best.pitch_semitones == 0
    assert 9.5 <= best.query_start_s and best.query_end_s <= 102.5


def test_an_offset_excerpt_matches_with_its_offset(tune: np.ndarray) -> None:
    # Given a 10 s upload that is the tune from 40 s on
    index = fpr.MemoryIndex()
    index.add(3, fpr.reference_fingerprint(tune))
    upload = fpr.fingerprint(tune[40 * fpr.SAMPLE_RATE : 50 * fpr.SAMPLE_RATE], 0.0)
    # Then upload second 0 is reference second 40
    (found,) = fpr.match(upload, index.postings(fpr.query_keys(upload)))
    assert abs(found.offset_s - 40.0) < 0.1
    assert 39.5 <= found.reference_start_s < found.reference_end_s <= 50.5


def test_hot_and_missing_keys_cast_no_votes(tune: np.ndarray, query: fpr.Fingerprint) -> None:
    # Given an index of the tune with a cap so low that every key is hot
    index = fpr.MemoryIndex(max_postings=0)
    index.add(0, fpr.reference_fingerprint(tune))
    assert index.hot_keys() > 0
    # Then the index returns empty lists and nothing matches
    postings = index.postings(fpr.query_keys(query))
    assert all(values == [] for values in postings.values())
    assert fpr.match(query, postings) == []
    # And postings longer than MAX_POSTINGS_PER_KEY are ignored by the matcher itself
    full = fpr.MemoryIndex(max_postings=10**9)
    full.add(0, fpr.reference_fingerprint(tune))
    lists = full.postings(fpr.query_keys(query))
    padded = {k: v + [(9, 0)] * (params.MAX_POSTINGS_PER_KEY + 1 - len(v)) for k, v in lists.items()}
    assert fpr.match(query, padded) == []
    assert fpr.match(query, {}) == []


def test_points_pack_time_and_bin() -> None:
    assert fpr.unpack_point(fpr.pack_point(123456, 84)) == (123456, 84)
    postings = list(fpr.reference_postings(fpr.fingerprint(melody(12.0, seed=2))))
    assert postings == sorted(set(postings)) and len(postings) > 100


def test_a_different_tune_does_not_match(query: fpr.Fingerprint) -> None:
    index = fpr.MemoryIndex()
    for seed in range(20, 26):
        index.add(seed, fpr.reference_fingerprint(melody(120.0, seed=seed)))
    found = fpr.match(query, index.postings(fpr.query_keys(query)), min_score=1)
    assert all(m.score < params.MIN_SCORE // 2 for m in found)
