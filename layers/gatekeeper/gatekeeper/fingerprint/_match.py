"""Alignment of a query's hashes with a reference's postings (numpy, vectorised)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gatekeeper.fingerprint import params as P

_SCALES = np.arange(P.SCALE_MIN, P.SCALE_MAX + P.SCALE_STEP / 2, P.SCALE_STEP)
_PITCHES = 2 * P.MAX_PITCH_BINS + 1


@dataclass(frozen=True)
class Alignment:
    """A reference's best line through the votes: query = slope * reference + intercept."""

    score: int
    slope: float
    intercept: float
    pitch_bins: float
    windows: int
    query_frames: tuple[int, int]
    reference_frames: tuple[int, int]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (a sort and a mask: faster here than np.unique)."""
    values = np.sort(values, kind="stable")
    if values.size == 0:
        return values
    keep = np.empty(values.size, bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def distinct_counts(groups: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct group, ascending, the number of distinct keys in it."""
    pairs = sorted_unique(groups.astype(np.int64) * P.KEY_SPACE + keys)
    owner = pairs // P.KEY_SPACE
    if owner.size == 0:
        return owner, owner
    starts = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
    return owner[starts], np.diff(np.concatenate([starts, [owner.size]]))


def _fit(qt: np.ndarray, rt: np.ndarray, slope: float) -> tuple[float, float]:
    """Least-squares line through the points (slope kept when they cannot fix it)."""
    if qt.size >= 3 and np.ptp(rt) >= 8:
        a, b = np.polyfit(rt, qt, 1)
        if P.SCALE_MIN - P.SCALE_STEP <= a <= P.SCALE_MAX + P.SCALE_STEP:
            return float(a), float(b)
    return slope, float(np.median(qt - slope * rt))


def _inliers(qt, rt, dp, line, pitch, tolerance):
    a, b = line
    return (np.abs(qt - (a * rt + b)) <= tolerance) & (np.abs(dp - pitch) <= 1)


@dataclass(frozen=True)
class _WindowHypothesis:
    window: int
    score: int
    line: tuple[float, float]
    pitch: int
    centre_q: float


def _window_hypothesis(window, qt, rt, dp, keys) -> _WindowHypothesis | None:
    """The best (scale, offset, pitch) bin of one window's votes, refined by a line fit."""
    n = qt.size
    if n == 0:
        return None
    offsets = np.rint((qt[None, :] - _SCALES[:, None] * rt[None, :]) / P.OFFSET_BIN_FRAMES).astype(np.int64)
    lo = offsets.min()
    span = int(offsets.max() - lo) + 1
    codes = ((np.arange(_SCALES.size)[:, None] * span + (offsets - lo)) * _PITCHES + (dp + P.MAX_PITCH_BINS)[None, :])
    codes_flat = codes.ravel()
    keys_flat = np.broadcast_to(keys, codes.shape).ravel()
    uniq, counts = distinct_counts(codes_flat, keys_flat)
    best = int(uniq[int(np.argmax(counts))])  # ties: the smallest code
    scale_index, rest = divmod(best // _PITCHES, span)
    pitch = best % _PITCHES - P.MAX_PITCH_BINS
    scale = float(_SCALES[scale_index])
    offset = float((rest + lo) * P.OFFSET_BIN_FRAMES)
    near = (np.abs(qt - scale * rt - offset) <= P.OFFSET_BIN_FRAMES) & (np.abs(dp - pitch) <= 1)
    line = _fit(qt[near], rt[near], scale)
    inside = _inliers(qt, rt, dp, line, pitch, P.INLIER_FRAMES)
    if not inside.any():
        return None
    line = _fit(qt[inside], rt[inside], line[0])
    inside = _inliers(qt, rt, dp, line, pitch, P.INLIER_FRAMES)
    score = int(sorted_unique(keys[inside]).size)
    return _WindowHypothesis(window, score, line, pitch, float(np.mean(qt[inside])) if inside.any() else 0.0)


def _consistent(seed: _WindowHypothesis, other: _WindowHypothesis) -> bool:
    """Could both windows lie on one line (one offset, one scale, one pitch)?"""
    if abs(seed.pitch - other.pitch) > 1 or abs(seed.line[0] - other.line[0]) > 2 * P.SCALE_STEP:
        return False
    # Where the seed's line puts the other window's reference position, within a tolerance
    # that grows with the distance (the seed's slope comes from one short window).
    a_o, b_o = other.line
    r_other = (other.centre_q - b_o) / a_o
    predicted = seed.line[0] * r_other + seed.line[1]
    tolerance = 3 * P.OFFSET_BIN_FRAMES + 0.003 * abs(other.centre_q - seed.centre_q)
    return abs(predicted - other.centre_q) <= tolerance


def align(qt: np.ndarray, qwin: np.ndarray, rt: np.ndarray, dp: np.ndarray, keys: np.ndarray) -> Alignment | None:
    """The best alignment of one reference's votes (query frame, window, reference frame, pitch, key)."""
    keep = np.abs(dp) <= P.MAX_PITCH_BINS
    qt, qwin, rt, dp, keys = qt[keep], qwin[keep], rt[keep], dp[keep], keys[keep]
    hypotheses = []
    for window in np.unique(qwin):
        inside = qwin == window
        h = _window_hypothesis(int(window), qt[inside].astype(np.float64), rt[inside].astype(np.float64), dp[inside], keys[inside])
        if h is not None and h.score > 0:
            hypotheses.append(h)
    if not hypotheses:
        return None
    best_cluster: list[_WindowHypothesis] = []
    best_total = -1
    for seed in sorted(hypotheses, key=lambda h: (-h.score, h.window)):
        cluster = [h for h in hypotheses if h is seed or _consistent(seed, h)]
        total = sum(h.score for h in cluster)
        if total > best_total:
            best_cluster, best_total = cluster, total
    seed = max(best_cluster, key=lambda h: (h.score, -h.window))
    windows = {h.window for h in best_cluster}
    # One line through every window's inliers: its speed and offset are what is reported.
    per_window = np.zeros(qt.size, bool)
    for h in best_cluster:
        per_window |= (qwin == h.window) & _inliers(qt, rt, dp, h.line, h.pitch, P.INLIER_FRAMES)
    qf, rf = qt[per_window].astype(np.float64), rt[per_window].astype(np.float64)
    line = _fit(qf, rf, seed.line[0]) if len(windows) > 1 else seed.line
    # The score: distinct keys aligned, counted per window (a key may align in two windows).
    score = sum(h.score for h in best_cluster)
    pitch = float(np.median(dp[per_window])) if per_window.any() else float(seed.pitch)
    return Alignment(
        score=int(score),
        slope=float(line[0]),
        intercept=float(line[1]),
        pitch_bins=pitch,
        windows=len(windows),
        query_frames=(int(qf.min()), int(qf.max())),
        reference_frames=(int(rf.min()), int(rf.max())),
    )
