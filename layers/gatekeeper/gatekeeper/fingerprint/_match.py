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


def _inliers(
    qt: np.ndarray, rt: np.ndarray, dp: np.ndarray, line: tuple[float, float], pitch: float, tolerance: float
) -> np.ndarray:
    """Votes within `tolerance` frames of the line and one bin of the pitch."""
    a, b = line
    return (np.abs(qt - (a * rt + b)) <= tolerance) & (np.abs(dp - pitch) <= 1)


@dataclass(frozen=True)
class _WindowHypothesis:
    """One window's best line: its score, line, pitch and where its inliers lie (query frames)."""

    window: int
    score: int
    line: tuple[float, float]
    pitch: int
    centre_q: float


def _window_hypothesis(
    window: int, qt: np.ndarray, rt: np.ndarray, dp: np.ndarray, keys: np.ndarray
) -> _WindowHypothesis | None:
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


def _guided(
    seed: _WindowHypothesis, qt: np.ndarray, rt: np.ndarray, dp: np.ndarray, keys: np.ndarray
) -> tuple[int, np.ndarray]:
    """Distinct keys of another window on the seed's line: (score, inlier mask).

    The seed's slope comes from one short window, so where it puts a distant window is
    uncertain by ~0.3 % of the distance: the votes within that band (and the seed's
    pitch) are binned by their offset from the line, and the best bin's inliers count.
    A noisy window whose own best bin was a chance one still adds its true votes.
    """
    a, b = seed.line
    residual = qt - (a * rt + b)
    centre = float(np.mean(qt)) if qt.size else seed.centre_q
    tolerance = 3 * P.OFFSET_BIN_FRAMES + P.GUIDE_SLOPE_TOLERANCE * abs(centre - seed.centre_q)
    near = (np.abs(residual) <= tolerance) & (np.abs(dp - seed.pitch) <= 1)
    if not near.any():
        return 0, near
    bins = np.rint(residual[near] / P.OFFSET_BIN_FRAMES).astype(np.int64)
    groups, counts = distinct_counts(bins - bins.min(), keys[near])
    shift = float((groups[int(np.argmax(counts))] + bins.min()) * P.OFFSET_BIN_FRAMES)
    inside = near & (np.abs(residual - shift) <= P.INLIER_FRAMES + P.OFFSET_BIN_FRAMES / 2)
    score = int(sorted_unique(keys[inside]).size)
    if score < P.MIN_WINDOW_SCORE:
        return 0, np.zeros_like(near)
    return score, inside


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
    # Each of the strongest windows seeds a line; every other window adds the distinct
    # keys it has on that line. The best total wins.
    best_total, best_masks, best_seed, best_windows = -1, np.zeros(qt.size, bool), hypotheses[0], 1
    windows = np.unique(qwin)
    for seed in sorted(hypotheses, key=lambda h: (-h.score, h.window))[: P.MAX_SEEDS]:
        masks = np.zeros(qt.size, bool)
        inside = qwin == seed.window
        masks[inside] = _inliers(qt[inside], rt[inside], dp[inside], seed.line, seed.pitch, P.INLIER_FRAMES)
        total, agreeing = seed.score, 1
        for window in windows:
            if window == seed.window:
                continue
            part = qwin == window
            score, mask = _guided(seed, qt[part].astype(np.float64), rt[part].astype(np.float64), dp[part], keys[part])
            if score:
                total += score
                agreeing += 1
                masks[np.flatnonzero(part)[mask]] = True
        if total > best_total:
            best_total, best_masks, best_seed, best_windows = total, masks, seed, agreeing
    per_window = best_masks
    qf, rf = qt[per_window].astype(np.float64), rt[per_window].astype(np.float64)
    line = _fit(qf, rf, best_seed.line[0]) if best_windows > 1 else best_seed.line
    score = best_total
    pitch = float(np.median(dp[per_window])) if per_window.any() else float(best_seed.pitch)
    windows = best_windows
    return Alignment(
        score=int(score),
        slope=float(line[0]),
        intercept=float(line[1]),
        pitch_bins=pitch,
        windows=windows,
        query_frames=(int(qf.min()), int(qf.max())),
        reference_frames=(int(rf.min()), int(rf.max())),
    )
