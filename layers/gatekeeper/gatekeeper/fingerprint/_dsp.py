"""The signal processing: log-frequency spectrogram, spectral peaks, peak triplets.

Everything is vectorised numpy over whole arrays; the only loop is the doubling of a
running-max window (log2 of its width).
"""

from __future__ import annotations

import numpy as np

from gatekeeper.fingerprint import params as P

_WINDOW = np.hanning(P.N_FFT).astype(np.float32)


def _band_edges() -> np.ndarray:
    """FFT-bin edges of the log-frequency bins (each bin: the max over its FFT bins)."""
    k = np.arange(P.N_BINS + 1, dtype=np.float64) - 0.5
    freq = P.F_MIN * 2.0 ** (k / (12 * P.BINS_PER_SEMITONE))
    edges = np.round(freq * P.N_FFT / P.SAMPLE_RATE).astype(np.int64)
    return np.maximum.accumulate(edges)


_EDGES = _band_edges()


def _along(x: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def running_max(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Max over a centred window of 2*radius+1 samples along `axis` (outside: -inf)."""
    if radius <= 0:
        return x
    width, n = 2 * radius + 1, x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    m = np.pad(x, pad, constant_values=-np.inf)
    span = 1
    while span * 2 <= width:
        length = m.shape[axis]
        m = np.maximum(_along(m, axis, 0, length - span), _along(m, axis, span, length))
        span *= 2
    return np.maximum(_along(m, axis, 0, n), _along(m, axis, width - span, width - span + n))


def box_mean(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Mean over a centred window of 2*radius+1 along `axis` (at the edges: the part inside)."""
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (1, 0)
    c = np.pad(np.cumsum(x, axis=axis, dtype=np.float64), pad)
    idx = np.arange(n)
    hi, lo = np.minimum(idx + radius + 1, n), np.maximum(idx - radius, 0)
    shape = [1] * x.ndim
    shape[axis] = n
    total = np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)
    return (total / (hi - lo).reshape(shape)).astype(np.float32)


def log_spectrogram(pcm: np.ndarray) -> np.ndarray:
    """(frames, N_BINS) power in dB on the log-frequency axis; frame f starts at sample f*HOP."""
    if pcm.shape[0] < P.N_FFT:
        return np.zeros((0, P.N_BINS), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(pcm, P.N_FFT)[:: P.HOP]
    spectrum = np.fft.rfft(frames * _WINDOW, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    pooled = np.maximum.reduceat(power[:, : _EDGES[-1]], _EDGES[:-1], axis=1)
    return (10.0 * np.log10(pooled + P.POWER_FLOOR)).astype(np.float32)


def peaks(spec: np.ndarray, per_second: int, min_prominence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spectral peaks (frame, bin, prominence in dB, sub-frame time), at most `per_second` per second, by time.

    A peak is the maximum of its (2*PEAK_FRAMES+1) x (2*PEAK_BINS+1) neighbourhood, stands
    `min_prominence` dB above the local mean (a whitened level: gain and equalisation move the
    mean with the peak) and lies within DYNAMIC_RANGE_DB of the loudest cell. The
    strongest (most prominent) are kept per second of audio, so dense passages do not
    crowd out quiet ones.
    """
    empty = np.zeros(0, np.int64)
    if spec.shape[0] == 0:
        return empty, empty, np.zeros(0, np.float32), np.zeros(0)
    # A tiny tilt along frequency breaks exact ties (plateaus), so a plateau yields one peak.
    tilted = spec + (np.arange(spec.shape[1], dtype=np.float32) * np.float32(1e-4))[None, :]
    local_max = running_max(running_max(tilted, P.PEAK_FRAMES, 0), P.PEAK_BINS, 1)
    background = box_mean(box_mean(spec, P.BACKGROUND_FRAMES, 0), P.BACKGROUND_BINS, 1)
    prominence = spec - background
    floor = P.LEVEL_FLOOR_DB
    t, k = np.nonzero((tilted == local_max) & (prominence > min_prominence) & (spec > floor))
    strength = prominence[t, k]
    second = t // P.FRAMES_PER_SECOND_BLOCK
    order = np.lexsort((k, t, -strength, second))
    ranked = second[order]
    rank = np.arange(order.size) - np.searchsorted(ranked, ranked, side="left")
    keep = order[rank < per_second]
    keep = keep[np.lexsort((k[keep], t[keep]))]
    t, k = t[keep], k[keep]
    # Sub-frame time: the vertex of the parabola through the peak and its two neighbours
    # in time (a sustained partial's maximum is flat, and noise would move it a whole frame).
    before = spec[np.maximum(t - 1, 0), k]
    after = spec[np.minimum(t + 1, spec.shape[0] - 1), k]
    centre = spec[t, k]
    curvature = before - 2 * centre + after
    shift = np.where(curvature < -1e-6, 0.5 * (before - after) / np.where(curvature < -1e-6, curvature, -1.0), 0.0)
    return t, k, strength[keep], t + np.clip(shift, -0.5, 0.5)


_PAIRS = {n: np.triu_indices(n, 1) for n in range(2, 9)}


def triplets(
    t: np.ndarray, k: np.ndarray, strength: np.ndarray, precise: np.ndarray, fanout: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hash every anchor with pairs of its `fanout` nearest peaks in its target zone.

    Returns (hash, anchor frame, anchor bin, strength = weakest of the three prominences).
    The hash keeps only what survives a change of speed, tempo or pitch: the two
    log-frequency differences (a pitch shift moves all three peaks alike), the ratio of
    the time gaps (a time stretch scales both), and — coarsely — the anchor's frequency
    band and the log of the triplet's duration.
    """
    n = t.size
    if n < 3:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, np.zeros(0, np.float32)
    look = np.arange(n)[:, None] + np.arange(1, P.LOOKAHEAD_PEAKS + 1)[None, :]
    inside = look < n
    look = np.minimum(look, n - 1)
    dt = t[look] - t[:, None]
    dk = k[look] - k[:, None]
    zone = inside & (dt > 0) & (dt <= P.ZONE_FRAMES) & (np.abs(dk) <= P.ZONE_BINS)
    rank = np.cumsum(zone, axis=1)
    zone &= rank <= fanout
    partner = np.full((n, fanout), -1, np.int64)
    rows, cols = np.nonzero(zone)
    partner[rows, rank[rows, cols] - 1] = look[rows, cols]
    first, second = _PAIRS[fanout]
    i = np.repeat(np.arange(n), first.size)
    a, b = partner[:, first].ravel(), partner[:, second].ravel()
    ok = (a >= 0) & (b >= 0)
    i, a, b = i[ok], a[ok], b[ok]
    ok = (t[b] > t[a]) & (t[b] - t[i] >= P.MIN_SPAN_FRAMES)
    i, a, b = i[ok], a[ok], b[ok]
    span = np.maximum(precise[b] - precise[i], P.MIN_SPAN_FRAMES - 0.5)
    ratio_f = (precise[a] - precise[i]) / span * P.RATIO_STEPS
    duration_f = np.log2(span / (P.MIN_SPAN_FRAMES - 0.5)) * P.SPAN_STEPS_PER_OCTAVE
    ratio = np.clip(np.floor(ratio_f), 0, P.RATIO_STEPS - 1).astype(np.int64)
    duration = np.clip(np.floor(duration_f), 0, P.SPAN_SLOTS - 1).astype(np.int64)
    band = k[i] // P.BAND_BINS
    width = 2 * P.ZONE_BINS + 1
    key = (((band * P.SPAN_SLOTS + duration) * P.RATIO_STEPS + ratio) * width + (k[a] - k[i] + P.ZONE_BINS)) * width + (
        k[b] - k[i] + P.ZONE_BINS
    )
    weakest = np.minimum(np.minimum(strength[i], strength[a]), strength[b])
    return key, t[i], k[i], weakest
