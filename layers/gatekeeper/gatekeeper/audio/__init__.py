"""Decode only what the fingerprint needs: a few windows of an upload, at SAMPLE_RATE mono.

    sampled = sample_windows(fileobj)                 # any seekable binary file object
    if sampled.unchecked: ...                         # "no-audio-stream", "too-short", ...
    fp = combine(fingerprint(w.pcm, w.start_s) for w in sampled.windows)

FFmpeg (PyAV's bundled build) decodes whatever it can read: MP3, AAC/M4A, Opus,
Vorbis, FLAC, WAV, AIFF, ... Windows (default 3 x 12 s) are spread over the track;
each is decoded by its own container (opened with ``fflags=fastseek`` so an MP3 seek
is a jump by bitrate or TOC, not a read from the start), from a little before the
window so the decoder has settled, in parallel threads. Reads go through a small
shared block cache (`reader.BlockCache`): the object sees a few large reads, and only
near the windows. A leading ID3v2 tag is skipped by handing FFmpeg a view that starts
after it (FFmpeg would read it whole at open, cover art included).

Fail closed, bounded: content FFmpeg cannot open, no audio stream, less than
`Limits.min_audio_s` decoded, an absurd sample rate or channel count, or a limit
reached (bytes read, decoded samples, wall time) is a `Sampled` with `unchecked` set
to a short detail; bad content never raises. Errors of the source itself (an S3 read
failing) propagate: those are retried, not verdicts.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import av
import numpy as np

from gatekeeper.audio.reader import BlockCache, ReadBudgetExceeded, ReadStats, View, id3v2_end, source_size
from gatekeeper.fingerprint import SAMPLE_RATE

__all__ = ["Limits", "Sampled", "Window", "decode_whole", "sample_windows", "SAMPLE_RATE"]

av.logging.set_level(av.logging.PANIC)  # FFmpeg's own complaints about bad input are not ours to print


@dataclass(frozen=True)
class Limits:
    """Bounds of one upload's decoding (defaults: safe for a 10 s Lambda budget)."""

    #: Less audio than this (all windows together) is `too-short`: the policy's 10 s.
    min_audio_s: float = 10.0
    #: Decoded before each window's start so the decoder settles (MP3 bit reservoir, Opus pre-roll).
    preroll_s: float = 0.5
    #: Bytes read from the object, all windows together (a 192 kbit/s MP3 needs ~1.3 MiB).
    max_read_bytes: int = 16 * 1024 * 1024
    #: Wall-clock time for all windows (checked between decoded frames).
    max_seconds: float = 10.0
    #: Source samples decoded per window, per channel, beyond the window and pre-roll
    #: (frames overshooting a window, or a stream whose timestamps never reach it).
    slack_s: float = 20.0
    #: Sample rates outside these are absurd (below 4 kHz nothing of the analysed band survives).
    min_sample_rate: int = 4_000
    max_sample_rate: int = 768_000
    max_channels: int = 32
    #: Reads: merged into blocks of this size, this many kept (LRU).
    block_bytes: int = 128 * 1024
    cache_blocks: int = 12
    #: Undecodable packets skipped before the window is given up.
    max_bad_packets: int = 50


@dataclass(frozen=True)
class Window:
    """Decoded audio: mono float32 at SAMPLE_RATE, starting `start_s` into the track."""

    start_s: float
    pcm: np.ndarray

    @property
    def duration_s(self) -> float:
        return self.pcm.size / SAMPLE_RATE


@dataclass(frozen=True)
class Sampled:
    """What was decoded of an upload, or why it could not be (`unchecked`)."""

    windows: tuple[Window, ...] = ()
    duration_s: float | None = None
    container: str | None = None
    codec: str | None = None
    unchecked: str | None = None
    reads: int = 0
    bytes_read: int = 0
    skipped_tag_bytes: int = 0
    seconds: float = 0.0
    problems: tuple[str, ...] = field(default=())

    @property
    def audio_s(self) -> float:
        return sum(w.duration_s for w in self.windows)


#: Codec framing (encoder delay and padding trimmed by the decoder) may lose a few
#: milliseconds of an upload: 10 s encoded is 10 s, even if 9.99 s come out.
_FRAMING_TOLERANCE_S = 0.05


class _Unchecked(Exception):
    """Ends decoding with an `unchecked` detail."""


@dataclass(frozen=True)
class _Probe:
    duration_s: float | None
    container: str
    codec: str


def _open(view: View) -> av.container.InputContainer:
    # fastseek: an MP3 (and the like) seeks by TOC or bitrate instead of reading from the start.
    return av.open(view, mode="r", container_options={"fflags": "+fastseek"}, buffer_size=64 * 1024)


def _audio_stream(container: av.container.InputContainer, limits: Limits) -> av.audio.stream.AudioStream:
    streams = list(container.streams.audio)
    if not streams:
        raise _Unchecked("no-audio-stream")
    stream = streams[0]
    rate, channels = stream.codec_context.sample_rate or 0, stream.codec_context.channels or 0
    if rate and not limits.min_sample_rate <= rate <= limits.max_sample_rate:
        raise _Unchecked(f"bounds:sample-rate={rate}")
    if channels > limits.max_channels:
        raise _Unchecked(f"bounds:channels={channels}")
    return stream


def _duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    candidates = []
    if stream.duration and stream.time_base:
        candidates.append(float(stream.duration * stream.time_base))
    if container.duration:
        candidates.append(container.duration / av.time_base)
    good = [d for d in candidates if math.isfinite(d) and 0 < d < 10 * 24 * 3600]
    return good[0] if good else None


def _placements(duration: float | None, windows: int, window_s: float, limits: Limits) -> list[tuple[float, float]]:
    """(start, length) of each window: spread evenly, or the whole of a short or unknown track."""
    total = windows * window_s
    if duration is None:
        return [(0.0, total)]
    if duration <= total + limits.preroll_s * windows:
        return [(0.0, duration)]
    starts = [(i + 0.5) * duration / windows - window_s / 2 for i in range(windows)]
    return [(min(max(0.0, s), duration - window_s), window_s) for s in starts]


class _Clock:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Unchecked("bounds:time")


def _decode_window(
    cache: BlockCache, audio_start: int, start_s: float, length_s: float, limits: Limits, clock: _Clock
) -> tuple[Window, int]:
    """Decode one window in its own container. Returns the window and the bad packets skipped."""
    container = _open(View(cache, audio_start))
    try:
        stream = _audio_stream(container, limits)
        seek_s = max(0.0, start_s - limits.preroll_s)
        if seek_s > 0:
            try:
                container.seek(int(seek_s / stream.time_base), stream=stream, backward=True, any_frame=False)
            except av.error.FFmpegError:
                container.seek(int(seek_s * av.time_base), backward=True, any_frame=False)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        wanted = int(round(length_s * SAMPLE_RATE))
        chunks: list[np.ndarray] = []
        have = 0
        first_time: float | None = None
        budget = None  # source samples allowed, set from the first frame's rate
        decoded = 0
        bad = 0
        done = False
        for packet in container.demux(stream):
            clock.check()
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                bad += 1
                if bad > limits.max_bad_packets:
                    raise _Unchecked("decode-error") from None
                continue
            for frame in frames:
                rate, channels = frame.sample_rate or 0, len(frame.layout.channels)
                if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
                    raise _Unchecked(f"bounds:sample-rate={rate}")
                if channels > limits.max_channels or channels <= 0:
                    raise _Unchecked(f"bounds:channels={channels}")
                if budget is None:
                    budget = int((length_s + limits.preroll_s + limits.slack_s) * rate)
                decoded += frame.samples
                if decoded > budget:
                    done = True
                    break
                frame_time = float(frame.time) if frame.time is not None else None
                if first_time is None:
                    first_time = frame_time if frame_time is not None else seek_s
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
                    have += out.samples
                # Stop once the window is covered (counted from the first decoded sample).
                if first_time is not None and have >= wanted + int((start_s - first_time) * SAMPLE_RATE) + SAMPLE_RATE // 10:
                    done = True
                    break
            if done:
                break
        if not done:
            # End of stream: the resampler's delay line holds the last few milliseconds.
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        origin = first_time if first_time is not None else seek_s
        skip = max(0, int(round((start_s - origin) * SAMPLE_RATE)))
        pcm = pcm[skip : skip + wanted]
        actual_start = origin + skip / SAMPLE_RATE if skip else max(origin, 0.0)
        return Window(start_s=round(max(0.0, actual_start), 4), pcm=np.ascontiguousarray(pcm)), bad
    finally:
        container.close()


def sample_windows(
    fileobj: BinaryIO,
    *,
    windows: int = 3,
    window_s: float = 12.0,
    limits: Limits | None = None,
    threads: int | None = None,
) -> Sampled:
    """Decode `windows` windows of `window_s` seconds spread over the upload (see the module doc).

    `fileobj` is read only (seek + read; or a thread-safe `read_at`), never closed.
    A track shorter than the windows together, or of unknown duration, is decoded from
    its start as one window of up to `windows * window_s`.
    """
    if windows < 1 or not (0 < window_s <= 600):
        raise ValueError("windows must be >= 1 and window_s in (0, 600]")
    limits = limits or Limits()
    started = time.monotonic()
    clock = _Clock(limits.max_seconds)
    size = source_size(fileobj)
    cache = BlockCache(
        fileobj, size, block_bytes=limits.block_bytes, max_blocks=limits.cache_blocks, max_read_bytes=limits.max_read_bytes
    )
    audio_start = 0
    probe: _Probe | None = None
    result: list[Window] = []
    problems: list[str] = []

    def finish(unchecked: str | None) -> Sampled:
        return Sampled(
            windows=tuple(result) if unchecked is None else (),
            duration_s=probe.duration_s if probe else None,
            container=probe.container if probe else None,
            codec=probe.codec if probe else None,
            unchecked=unchecked,
            reads=cache.stats.reads,
            bytes_read=cache.stats.bytes,
            skipped_tag_bytes=audio_start,
            seconds=round(time.monotonic() - started, 4),
            problems=tuple(problems),
        )

    try:
        if size == 0:
            return finish("no-audio-stream")
        audio_start = id3v2_end(cache.read_at, size)
        try:
            container = _open(View(cache, audio_start))
        except av.error.FFmpegError:
            return finish("no-audio-stream")
        try:
            stream = _audio_stream(container, limits)
            probe = _Probe(_duration(container, stream), container.format.name, stream.codec_context.name)
        finally:
            container.close()
        plan = _placements(probe.duration_s, windows, window_s, limits)
        workers = max(1, min(len(plan), threads or len(plan)))
        errors: list[str] = []
        lock = threading.Lock()

        def run(placement: tuple[float, float]) -> Window | None:
            try:
                window, bad = _decode_window(cache, audio_start, placement[0], placement[1], limits, clock)
            except _Unchecked as exc:
                with lock:
                    errors.append(str(exc))
                return None
            except av.error.FFmpegError as exc:
                with lock:
                    errors.append(f"decode-error:{type(exc).__name__}")
                return None
            if bad:
                with lock:
                    problems.append(f"skipped {bad} undecodable packets at {placement[0]:.1f}s")
            return window

        if workers == 1:
            decoded = [run(p) for p in plan]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audio-window") as pool:
                decoded = list(pool.map(run, plan))
        bounds = sorted(e for e in errors if e.startswith("bounds:"))
        if bounds:
            return finish(bounds[0])
        result = [w for w in decoded if w is not None and w.pcm.size > 0]
        if len(plan) > 1 and sum(w.duration_s for w in result) < limits.min_audio_s:
            # The duration was an estimate the stream does not reach (an MP3 without a
            # TOC whose bitrate changes): sample it from the start instead.
            problems.append("windows past the stream's end: decoded from the start")
            fallback = run((0.0, windows * window_s))
            result = [fallback] if fallback is not None and fallback.pcm.size > 0 else []
        if sum(w.duration_s for w in result) < limits.min_audio_s - _FRAMING_TOLERANCE_S:
            if errors and not result:
                return finish(sorted(errors)[0])
            return finish("too-short")
        problems.extend(sorted(set(errors)))
        return finish(None)
    except _Unchecked as exc:
        return finish(str(exc))
    except ReadBudgetExceeded:
        return finish("bounds:bytes")
    except (av.error.FFmpegError, ValueError, OverflowError, ZeroDivisionError, IndexError) as exc:
        # ValueError & co: PyAV's own checks on absurd headers (e.g. a zero time base).
        return finish(f"decode-error:{type(exc).__name__}")


def decode_whole(
    fileobj: BinaryIO, *, max_audio_s: float = 4 * 3600.0, max_seconds: float = 900.0, limits: Limits | None = None
) -> Sampled:
    """Decode a whole recording (a reference, for indexing) as one window from its start.

    Bounded by `max_audio_s` of audio and `max_seconds` of wall time (a longer
    recording is `bounds:...`, not cut: an index of part of a reference would miss
    the rest silently). Reads are not budgeted (the whole object is needed).
    """
    base = limits or Limits()
    limits = Limits(**{**base.__dict__, "max_read_bytes": None, "max_seconds": max_seconds, "slack_s": 1.0})
    started = time.monotonic()
    clock = _Clock(limits.max_seconds)
    size = source_size(fileobj)
    cache = BlockCache(fileobj, size, block_bytes=1024 * 1024, max_blocks=2)
    audio_start = 0

    def finish(windows: tuple[Window, ...], unchecked: str | None, duration: float | None = None) -> Sampled:
        return Sampled(
            windows=windows, duration_s=duration, unchecked=unchecked, reads=cache.stats.reads,
            bytes_read=cache.stats.bytes, skipped_tag_bytes=audio_start, seconds=round(time.monotonic() - started, 4),
        )  # fmt: skip

    try:
        if size == 0:
            return finish((), "no-audio-stream")
        audio_start = id3v2_end(cache.read_at, size)
        window, _ = _decode_window(cache, audio_start, 0.0, max_audio_s + 1.0, limits, clock)
        if window.duration_s > max_audio_s:
            return finish((), f"bounds:duration>{max_audio_s:g}s")
        if window.duration_s < limits.min_audio_s - _FRAMING_TOLERANCE_S:
            return finish((), "too-short", window.duration_s)
        return finish((window,), None, window.duration_s)
    except _Unchecked as exc:
        return finish((), str(exc))
    except (av.error.FFmpegError, ValueError, OverflowError, ZeroDivisionError, IndexError) as exc:
        return finish((), f"decode-error:{type(exc).__name__}")
