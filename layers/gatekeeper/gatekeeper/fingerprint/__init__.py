"""Audio fingerprints for content identification (pure: numpy only, no I/O, deterministic).

A recording's fingerprint is a set of *triplet hashes* (after Panako, Six & Leman
2014/2021, itself after Wang 2003's landmarks): spectral peaks are picked on a
log-frequency spectrogram of the audio at 8 kHz (100-3400 Hz), and each peak (the
anchor) is hashed with pairs of its nearest neighbours: the hash holds the two
frequency differences (semitones) and the ratio of the two time gaps, so it survives
a change of speed, of tempo or of pitch; the anchor's time and frequency bin travel
beside the hash. A match is a dense line in the (query time, reference time) plane:
many distinct hashes whose times agree with ``query = scale * reference + offset`` and
whose anchors agree on one pitch shift.

    fp = combine([fingerprint(pcm, start_s) for start_s, pcm in windows])  # an upload
    keys = query_keys(fp)                        # <= MAX_QUERY_KEYS distinct hash keys
    matches = match(fp, postings)                # postings: key -> [(reference, point)]

    for key, point in reference_postings(reference_fingerprint(pcm)): ...   # indexing

`encode`/`decode` turn a fingerprint into a few KB (stored with the verdict so a
re-decision can match it again without the audio). The algorithm, its parameters and
its measured robustness and cost: docs/content-id.md.
"""

from __future__ import annotations

import struct
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from gatekeeper.fingerprint import params
from gatekeeper.fingerprint._dsp import log_spectrogram, peaks, triplets
from gatekeeper.fingerprint._match import align, distinct_counts
from gatekeeper.fingerprint.params import FRAME_S, SAMPLE_RATE

__all__ = [
    "SAMPLE_RATE",
    "FRAME_S",
    "Fingerprint",
    "FingerprintDecodeError",
    "Match",
    "MemoryIndex",
    "combine",
    "decode",
    "encode",
    "fingerprint",
    "match",
    "pack_point",
    "params",
    "query_keys",
    "reference_fingerprint",
    "reference_postings",
    "select",
    "unpack_point",
]


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """Triplet hashes of one or more windows of audio, on the audio's own timeline.

    Parallel arrays, one entry per hash (sorted by window, then time, then hash):
    `hashes` (uint32, < params.KEY_SPACE), `times` (uint32: the anchor's analysis
    frame, FRAME_S seconds each, counted from the start of the track), `bins` (uint8:
    the anchor's log-frequency bin, half-semitones above F_MIN), `strengths` (uint8:
    the weakest peak's prominence in half-dB, what `select` ranks by), `windows`
    (uint8: which sampled window the hash came from). `spans` holds each window's
    (first frame, frame count).
    """

    hashes: np.ndarray
    times: np.ndarray
    bins: np.ndarray
    strengths: np.ndarray
    windows: np.ndarray
    spans: tuple[tuple[int, int], ...] = field(default=())

    def __len__(self) -> int:
        return int(self.hashes.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return self.spans == other.spans and all(
            np.array_equal(getattr(self, name), getattr(other, name))
            for name in ("hashes", "times", "bins", "strengths", "windows")
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def duration_s(self) -> float:
        """Seconds of audio analysed (all windows)."""
        return sum(frames for _, frames in self.spans) * FRAME_S


def _empty() -> Fingerprint:
    return Fingerprint(*(np.zeros(0, dtype) for dtype in (np.uint32, np.uint32, np.uint8, np.uint8, np.uint8)))


def _as_pcm(pcm: np.ndarray) -> np.ndarray:
    array = np.asarray(pcm)
    if array.ndim != 1:
        raise ValueError(f"pcm must be mono (1-D), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"pcm must be float samples in [-1, 1], got {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.all(np.isfinite(array)):
        array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    return array


def _hash_peaks(
    t: np.ndarray, k: np.ndarray, strength: np.ndarray, precise: np.ndarray, fanout: int, first_frame: int, frames: int
) -> Fingerprint:
    key, anchor_t, anchor_k, weakest = triplets(t, k, strength, precise, fanout)
    order = np.lexsort((key, anchor_t))
    return Fingerprint(
        hashes=key[order].astype(np.uint32),
        times=(anchor_t[order] + first_frame).astype(np.uint32),
        bins=anchor_k[order].astype(np.uint8),
        strengths=np.clip(np.round(weakest[order] * 2), 0, 255).astype(np.uint8),
        windows=np.zeros(order.size, np.uint8),
        spans=((first_frame, frames),),
    )


def fingerprint(pcm: np.ndarray, start_s: float = 0.0) -> Fingerprint:
    """The query fingerprint of one window: mono float PCM at SAMPLE_RATE starting at `start_s`.

    `start_s` places the window on the upload's timeline (frames of FRAME_S seconds),
    so windows sampled from one file can be `combine`d. Deterministic.
    """
    samples = _as_pcm(pcm)
    if start_s < 0 or not np.isfinite(start_s):
        raise ValueError(f"start_s must be a finite time >= 0, got {start_s}")
    spec = log_spectrogram(samples)
    t, k, s, precise = peaks(spec, params.QUERY_PEAKS_PER_SECOND, params.QUERY_PROMINENCE_DB)
    return _hash_peaks(t, k, s, precise, params.QUERY_FANOUT, int(round(start_s / FRAME_S)), spec.shape[0])


#: References are analysed in chunks of this many frames (~61 s; a multiple of the
#: per-second block) with margins wide enough that every peak is the one an unchunked
#: analysis finds: memory stays bounded for hour-long references.
_CHUNK_FRAMES = 62 * params.FRAMES_PER_SECOND_BLOCK
_MARGIN_FRAMES = 2 * params.FRAMES_PER_SECOND_BLOCK


def reference_fingerprint(pcm: np.ndarray) -> Fingerprint:
    """The (denser) fingerprint of a whole reference recording, for `reference_postings`.

    References keep more peaks per second and pair each anchor with more neighbours
    than queries do, so that the strongest peaks of a degraded query, and the triplets
    it forms of them, are found among the reference's.
    """
    samples = _as_pcm(pcm)
    total = 0 if samples.size < params.N_FFT else (samples.size - params.N_FFT) // params.HOP + 1
    parts_t, parts_k, parts_s, parts_p = [], [], [], []
    for first in range(0, total, _CHUNK_FRAMES):
        lo = max(0, first - _MARGIN_FRAMES)
        hi = min(total, first + _CHUNK_FRAMES + _MARGIN_FRAMES)
        spec = log_spectrogram(samples[lo * params.HOP : (hi - 1) * params.HOP + params.N_FFT])
        # Blocks of the per-second cap are counted on the track's timeline (lo is a multiple).
        t, k, s, precise = peaks(spec, params.REFERENCE_PEAKS_PER_SECOND, params.REFERENCE_PROMINENCE_DB)
        t, precise = t + lo, precise + lo
        inside = (t >= first) & (t < first + _CHUNK_FRAMES)
        parts_t.append(t[inside])
        parts_k.append(k[inside])
        parts_s.append(s[inside])
        parts_p.append(precise[inside])
    if not parts_t:
        return _empty()
    t, k, s, precise = (np.concatenate(p) for p in (parts_t, parts_k, parts_s, parts_p))
    return _hash_peaks(t, k, s, precise, params.REFERENCE_FANOUT, 0, total)


def combine(parts: Iterable[Fingerprint]) -> Fingerprint:
    """One fingerprint of several windows (each part's windows renumbered in order).

    Times stay on the upload's timeline. At most 255 windows.
    """
    items = [part for part in parts]
    spans: list[tuple[int, int]] = []
    arrays: dict[str, list[np.ndarray]] = defaultdict(list)
    for part in items:
        for name in ("hashes", "times", "bins", "strengths"):
            arrays[name].append(getattr(part, name))
        arrays["windows"].append(part.windows.astype(np.int64) + len(spans))
        spans.extend(part.spans)
    if len(spans) > 255:
        raise ValueError(f"at most 255 windows, got {len(spans)}")
    if not items:
        return _empty()
    return Fingerprint(
        hashes=np.concatenate(arrays["hashes"]).astype(np.uint32),
        times=np.concatenate(arrays["times"]).astype(np.uint32),
        bins=np.concatenate(arrays["bins"]).astype(np.uint8),
        strengths=np.concatenate(arrays["strengths"]).astype(np.uint8),
        windows=np.concatenate(arrays["windows"]).astype(np.uint8),
        spans=tuple(spans),
    )


def _subset(fp: Fingerprint, keep: np.ndarray) -> Fingerprint:
    return Fingerprint(
        hashes=fp.hashes[keep], times=fp.times[keep], bins=fp.bins[keep],
        strengths=fp.strengths[keep], windows=fp.windows[keep], spans=fp.spans,
    )  # fmt: skip


def select(fp: Fingerprint, max_keys: int = params.MAX_QUERY_KEYS) -> Fingerprint:
    """The part of `fp` worth looking up: hashes of at most `max_keys` distinct keys.

    Keys are chosen strongest first (the weakest of a triplet's three peak prominences:
    prominent peaks are the ones that survive noise and re-encoding), with an equal
    share per window (a share a window cannot fill goes to the others), so every
    window can align on its own. Ties are broken by time and key: deterministic. Every
    hash of a chosen key is kept (a repeat costs no lookup). Idempotent.
    """
    if max_keys < 0:
        raise ValueError("max_keys must be >= 0")
    if np.unique(fp.hashes).size <= max_keys:
        return fp
    # Rank each window's hashes: strongest first, then earliest, then smallest key.
    order = np.lexsort((fp.hashes, fp.times, -fp.strengths.astype(np.int64)))
    chosen: set[int] = set()
    per_window: dict[int, list[int]] = defaultdict(list)
    for index in order:
        per_window[int(fp.windows[index])].append(int(fp.hashes[index]))
    queues = {window: iter(keys) for window, keys in sorted(per_window.items())}
    while len(chosen) < max_keys and queues:
        share = max(1, (max_keys - len(chosen)) // len(queues))
        for window in list(queues):
            taken = 0
            for key in queues[window]:
                if key not in chosen:
                    chosen.add(key)
                    taken += 1
                    if taken >= share or len(chosen) >= max_keys:
                        break
            else:
                del queues[window]
            if len(chosen) >= max_keys:
                break
    keep = np.isin(fp.hashes, np.fromiter(chosen, np.int64, len(chosen)))
    return _subset(fp, keep)


def query_keys(fp: Fingerprint, max_keys: int = params.MAX_QUERY_KEYS) -> list[int]:
    """The distinct hash keys to look up for `fp`, at most `max_keys`, ascending.

    The default fits 10 DynamoDB BatchGetItem requests of 100 keys. Same as the keys of
    `select(fp, max_keys)`.
    """
    return [int(key) for key in np.unique(select(fp, max_keys).hashes)]


# ---------------------------------------------------------------- index side


def pack_point(time: int, bin_: int) -> int:
    """A posting's point: the anchor frame (high bits) and its log-frequency bin (low 8 bits)."""
    return (int(time) << 8) | (int(bin_) & 0xFF)


def unpack_point(point: int) -> tuple[int, int]:
    """(anchor frame, anchor bin) of a posting's point."""
    return int(point) >> 8, int(point) & 0xFF


def reference_postings(fp: Fingerprint) -> Iterator[tuple[int, int]]:
    """(hash key, point) for every hash of a reference fingerprint: what an index stores.

    The indexer stores (reference number, point) under each key; `match` takes those
    lists back. Duplicates (the same key at the same point) are yielded once.
    """
    points = (fp.times.astype(np.int64) << 8) | fp.bins.astype(np.int64)
    pairs = np.unique(np.stack([fp.hashes.astype(np.int64), points], axis=1), axis=0) if len(fp) else np.zeros((0, 2))
    for key, point in pairs:
        yield int(key), int(point)


class MemoryIndex:
    """A reference index in memory: key -> [(reference number, point)], with the hot-key cap.

    What the DynamoDB index does, for tests, benchmarks and local use: `add` a
    reference's fingerprint under a number, then `postings(keys)` returns the lists of
    the keys asked for. A key with more than `max_postings` postings is *hot*: its list
    is dropped (returned empty), exactly as an index that stops storing a key past the
    cap must report it, and `match` then ignores the key.
    """

    def __init__(self, max_postings: int = params.MAX_POSTINGS_PER_KEY) -> None:
        self.max_postings = max_postings
        self._lists: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self.references = 0
        self.postings_count = 0

    def add(self, reference: int, fp: Fingerprint) -> int:
        """Index a reference fingerprint under `reference`; returns the postings added."""
        added = 0
        for key, point in reference_postings(fp):
            self._lists[key].append((reference, point))
            added += 1
        self.references += 1
        self.postings_count += added
        return added

    def hot_keys(self) -> int:
        """Keys whose list passed the cap."""
        return sum(1 for values in self._lists.values() if len(values) > self.max_postings)

    def postings(self, keys: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
        """The lists of `keys` (absent and hot keys map to an empty list)."""
        out: dict[int, list[tuple[int, int]]] = {}
        for key in keys:
            values = self._lists.get(int(key), [])
            out[int(key)] = values if len(values) <= self.max_postings else []
        return out


# ---------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    """The query is (a stretch of) reference `reference`.

    `score`: distinct hash keys aligned on one line (summed over the windows that
    agree); `offset_s`: the reference time at upload time 0 (upload second x is
    reference second offset_s + x * speed); `speed`: reference seconds per upload
    second (1.03: the upload plays 3 % fast); `pitch_semitones`: the upload's pitch
    relative to the reference (resolution half a semitone); the aligned stretch, on
    both timelines; `windows`: how many sampled windows agree.
    """

    reference: int
    score: int
    offset_s: float
    speed: float
    pitch_semitones: float
    query_start_s: float
    query_end_s: float
    reference_start_s: float
    reference_end_s: float
    windows: int


def _votes(fp: Fingerprint, postings: Mapping[int, Sequence[tuple[int, int]]]):
    """(query hash index, reference, reference frame, reference bin) of every vote."""
    keys = np.unique(fp.hashes)
    found_keys, lists = [], []
    for key in keys:
        values = postings.get(int(key))
        if not values or len(values) > params.MAX_POSTINGS_PER_KEY:
            continue  # absent, or hot: no votes (a hot key says little about any reference)
        array = np.asarray(values, dtype=np.int64).reshape(-1, 2)
        found_keys.append(int(key))
        lists.append(array)
    if not lists:
        return None
    sizes = np.array([len(a) for a in lists])
    flat = np.concatenate(lists)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    found = np.array(found_keys, dtype=np.int64)
    slot = np.searchsorted(found, fp.hashes.astype(np.int64))
    slot = np.minimum(slot, found.size - 1)
    has = found[slot] == fp.hashes.astype(np.int64)
    query_index = np.nonzero(has)[0]
    counts = sizes[slot[query_index]]
    q = np.repeat(query_index, counts)
    first = np.repeat(starts[slot[query_index]], counts)
    within = np.arange(q.size) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = flat[first + within]
    return q, rows[:, 0], rows[:, 1] >> 8, rows[:, 1] & 0xFF


def match(
    fp: Fingerprint,
    postings: Mapping[int, Sequence[tuple[int, int]]],
    *,
    min_score: int = params.MIN_SCORE,
    max_candidates: int = params.MAX_CANDIDATES,
) -> list[Match]:
    """The references `fp` matches, best first (score, then reference number).

    `postings` maps hash keys (those of `query_keys(fp)`, typically) to the
    (reference number, point) pairs the index holds; a key that is absent, empty or
    longer than `params.MAX_POSTINGS_PER_KEY` (hot) casts no vote, so a capped index
    loses only its least informative keys. For each of the `max_candidates`
    references hit by the most distinct keys, every window's votes are binned by
    (time scale, offset, pitch shift); the best bin is refined by a line fit and its
    inliers counted (distinct keys only: a riff repeating one key does not add up).
    The strongest windows then seed a line each, and every other window adds the
    distinct keys it has on that line (at least MIN_WINDOW_SCORE): the best total is
    the score. `score` >= `min_score` is a match: docs/content-id.md explains the
    default and why it gives no false match.
    """
    votes = _votes(fp, postings)
    if votes is None:
        return []
    q, ref, rt, rbin = votes
    keys = fp.hashes.astype(np.int64)[q]
    refs, hits = distinct_counts(ref, keys)
    order = np.lexsort((refs, -hits))
    candidates = [int(refs[i]) for i in order[:max_candidates] if hits[i] >= min_score]

    out: list[Match] = []
    sort = np.argsort(ref, kind="stable")
    ref_sorted = ref[sort]
    for reference in candidates:
        lo, hi = np.searchsorted(ref_sorted, [reference, reference + 1])
        sel = sort[lo:hi]
        qi = q[sel]
        found = align(
            fp.times.astype(np.int64)[qi],
            fp.windows.astype(np.int64)[qi],
            rt[sel],
            fp.bins.astype(np.int64)[qi] - rbin[sel],
            keys[sel],
        )
        if found is None or found.score < min_score:
            continue
        speed = 1.0 / found.slope
        offset_frames = -found.intercept / found.slope
        out.append(
            Match(
                reference=reference,
                score=found.score,
                offset_s=round(offset_frames * FRAME_S, 3),
                speed=round(speed, 4),
                pitch_semitones=round(found.pitch_bins / params.BINS_PER_SEMITONE, 2),
                query_start_s=round(found.query_frames[0] * FRAME_S, 3),
                query_end_s=round(found.query_frames[1] * FRAME_S, 3),
                reference_start_s=round(found.reference_frames[0] * FRAME_S, 3),
                reference_end_s=round(found.reference_frames[1] * FRAME_S, 3),
                windows=found.windows,
            )
        )
    out.sort(key=lambda m: (-m.score, m.reference))
    return out


# ---------------------------------------------------------------- storage


class FingerprintDecodeError(ValueError):
    """Bytes that are not a fingerprint this version can read (named in the message)."""


_MAGIC = b"GKFP"
_FORMAT_VERSION = 1
_HEADER = struct.Struct(">4sBBHI")  # magic, format version, params version, windows, hashes
_WINDOW = struct.Struct(">III")  # first frame, frames, hashes in the window
_COLUMN_BYTES = 4 + 3 + 1 + 1  # time delta, hash (3 bytes: < 2**24), bin, strength
#: Bounds of `decode`: input bytes and hashes (a stored query has <= ~2,500 hashes).
MAX_ENCODED_BYTES = 256 * 1024
MAX_ENCODED_HASHES = 32768


def encode(fp: Fingerprint) -> bytes:
    """Compact, versioned bytes of `fp` (typically `select(fp)`: 3-6 KB for a 36 s query).

    Layout: header (magic, format and parameter versions, counts), one record per
    window, then zlib of the columns: per hash its time delta within the window,
    its hash in 3 bytes, its bin and its strength.
    """
    n = len(fp)
    if n > MAX_ENCODED_HASHES:
        raise ValueError(f"{n} hashes: at most {MAX_ENCODED_HASHES} can be encoded (select() first)")
    if len(fp.spans) > 0xFFFF:
        raise ValueError("too many windows")
    order = np.lexsort((fp.hashes, fp.times, fp.windows))
    windows, times = fp.windows[order].astype(np.int64), fp.times[order].astype(np.int64)
    counts = np.bincount(windows, minlength=len(fp.spans)) if n else np.zeros(len(fp.spans), np.int64)
    if counts.size > len(fp.spans):
        raise ValueError("a hash names a window the fingerprint has no span for")
    previous = np.concatenate([[0], times[:-1]])
    first_of_window = np.ones(n, bool)
    first_of_window[1:] = windows[1:] != windows[:-1]
    starts = np.array([fp.spans[w][0] for w in windows], np.int64) if n else np.zeros(0, np.int64)
    delta = np.where(first_of_window, times - starts, times - previous)
    if n and (delta.min() < 0 or delta.max() > 0xFFFFFFFF):
        raise ValueError("a hash lies outside its window's span")
    hashes = fp.hashes[order].astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]
    columns = b"".join(
        [
            delta.astype("<u4").tobytes(),
            np.ascontiguousarray(hashes).tobytes(),
            fp.bins[order].astype(np.uint8).tobytes(),
            fp.strengths[order].astype(np.uint8).tobytes(),
        ]
    )
    head = _HEADER.pack(_MAGIC, _FORMAT_VERSION, params.PARAMS_VERSION, len(fp.spans), n)
    spans = b"".join(_WINDOW.pack(first, frames, int(c)) for (first, frames), c in zip(fp.spans, counts, strict=True))
    return head + spans + zlib.compress(columns, 9)


def decode(data: bytes) -> Fingerprint:
    """The fingerprint `encode` wrote; `FingerprintDecodeError` for anything else.

    Bounded: at most MAX_ENCODED_BYTES are looked at and at most MAX_ENCODED_HASHES
    hashes decompressed (the expected size is known before inflating and enforced).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FingerprintDecodeError(f"fingerprint must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_ENCODED_BYTES:
        raise FingerprintDecodeError(f"fingerprint of {len(data)} bytes exceeds {MAX_ENCODED_BYTES}")
    if len(data) < _HEADER.size:
        raise FingerprintDecodeError("fingerprint truncated: no header")
    magic, version, params_version, n_windows, n = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise FingerprintDecodeError("not a fingerprint (bad magic)")
    if version != _FORMAT_VERSION:
        raise FingerprintDecodeError(f"fingerprint format {version} is not supported (expected {_FORMAT_VERSION})")
    if params_version != params.PARAMS_VERSION:
        raise FingerprintDecodeError(
            f"fingerprint made with parameters v{params_version}, this is v{params.PARAMS_VERSION}: re-fingerprint the audio"
        )
    if n > MAX_ENCODED_HASHES:
        raise FingerprintDecodeError(f"{n} hashes exceed the bound of {MAX_ENCODED_HASHES}")
    if n_windows > 255:
        raise FingerprintDecodeError(f"{n_windows} windows exceed the bound of 255")
    body = _HEADER.size + n_windows * _WINDOW.size
    if len(data) < body:
        raise FingerprintDecodeError("fingerprint truncated: window records")
    spans, counts = [], []
    for w in range(n_windows):
        first, frames, count = _WINDOW.unpack_from(data, _HEADER.size + w * _WINDOW.size)
        spans.append((first, frames))
        counts.append(count)
    if sum(counts) != n:
        raise FingerprintDecodeError("window hash counts do not add up")
    expected = n * _COLUMN_BYTES
    inflater = zlib.decompressobj()
    try:
        # One byte more than expected is allowed out, so an over-long body is seen, not inflated.
        columns = inflater.decompress(data[body:], expected + 1)
    except zlib.error as exc:
        raise FingerprintDecodeError(f"fingerprint body is corrupt: {exc}") from None
    if len(columns) != expected or not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise FingerprintDecodeError("fingerprint body has the wrong length")
    delta = np.frombuffer(columns, "<u4", n, 0).astype(np.int64)
    raw = np.frombuffer(columns, np.uint8, 3 * n, 4 * n).reshape(-1, 3).astype(np.uint32)
    hashes = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
    bins = np.frombuffer(columns, np.uint8, n, 7 * n).copy()
    strengths = np.frombuffer(columns, np.uint8, n, 8 * n).copy()
    windows = np.repeat(np.arange(n_windows), counts).astype(np.int64)
    if n and (hashes.max() >= params.KEY_SPACE or bins.max() >= params.N_BINS):
        raise FingerprintDecodeError("a hash or bin is out of range")
    # Times: cumulative deltas restarting at each window's first frame.
    times = np.zeros(n, np.int64)
    position = 0
    for w, count in enumerate(counts):
        if count:
            times[position : position + count] = spans[w][0] + np.cumsum(delta[position : position + count])
            last = times[position + count - 1]
            if last >= spans[w][0] + spans[w][1] or last > 0xFFFFFFFF:
                raise FingerprintDecodeError(f"window {w}: a hash lies outside the window")
        position += count
    return Fingerprint(
        hashes=hashes.astype(np.uint32),
        times=times.astype(np.uint32),
        bins=bins,
        strengths=strengths,
        windows=windows.astype(np.uint8),
        spans=tuple(spans),
    )
