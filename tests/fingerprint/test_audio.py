"""The decoder: windows only, few large reads, fail closed on bad content, bounded."""

from __future__ import annotations

import io
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from gatekeeper.audio import Limits, Sampled, decode_whole, sample_windows
from gatekeeper.audio.reader import BlockCache, View, id3v2_end
from gatekeeper.fingerprint import SAMPLE_RATE

from tests.fingerprint.support import run

MIB = 1024 * 1024


def _tone(path: Path, seconds: float, *codec: str, channels: int = 2) -> Path:
    """A sweep-and-tone signal from ffmpeg's lavfi, encoded with `codec`, no tags."""
    run("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
        f"sine=f=330:d={seconds}:sample_rate=44100,volume=0.4", "-ac", str(channels),
        "-map_metadata", "-1", *codec, path)  # fmt: skip
    return path


def _sample(path: Path, **kwargs) -> Sampled:
    with path.open("rb") as fh:
        return sample_windows(fh, **kwargs)


@pytest.fixture(scope="module")
def mp3s(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> dict[str, Path]:
    """Given 192 kbit/s CBR MP3s of 2 and 12 minutes."""
    out = tmp_path_factory.mktemp("mp3")
    fast = ("-c:a", "libmp3lame", "-b:a", "192k", "-compression_level", "9")
    return {"2 min": _tone(out / "short.mp3", 120, *fast), "12 min": _tone(out / "long.mp3", 720, *fast)}


def test_windows_are_spread_over_the_track_and_reads_do_not_grow_with_duration(mp3s: dict[str, Path]) -> None:
    # When both are sampled (fastseek: a seek is a jump, not a read from the start)
    short, long = _sample(mp3s["2 min"]), _sample(mp3s["12 min"])
    # Then each gives three 12 s windows centred on 1/6, 1/2 and 5/6 of the track
    for sampled, duration in ((short, 120), (long, 720)):
        assert sampled.unchecked is None
        assert [round(w.duration_s, 1) for w in sampled.windows] == [12.0, 12.0, 12.0]
        centres = [w.start_s + 6 for w in sampled.windows]
        assert centres == pytest.approx([duration / 6, duration / 2, 5 * duration / 6], abs=1.0)
        assert sampled.duration_s == pytest.approx(duration, abs=1)
    # And the 12-min file costs about what the 2-min one does: ~3 x 12 s of 192 kbit/s, under 2 MiB
    size = mp3s["12 min"].stat().st_size
    assert long.bytes_read < 2 * MIB < size
    assert long.bytes_read < 1.2 * short.bytes_read + 256 * 1024
    # In a few large reads
    assert long.reads <= 16


def test_a_leading_id3v2_tag_with_cover_art_is_skipped_not_read(mp3s: dict[str, Path], tmp_path: Path) -> None:
    # Given the 12-min MP3 behind an ID3v2.4 tag holding a 1.5 MiB APIC frame
    picture = b"\x89PNG\r\n\x1a\n" + np.random.default_rng(1).integers(0, 256, int(1.5 * MIB), np.uint8).tobytes()
    body = b"\x00image/png\x00\x03cover\x00" + picture
    size = len(body)
    frame = b"APIC" + bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F]) + b"\x00\x00" + body
    length = len(frame)
    tag = b"ID3\x04\x00\x00" + bytes([(length >> 21) & 0x7F, (length >> 14) & 0x7F, (length >> 7) & 0x7F, length & 0x7F]) + frame
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(tag + mp3s["12 min"].read_bytes())
    # When it is sampled
    plain, sampled = _sample(mp3s["12 min"]), _sample(tagged)
    # Then decoding starts after the tag, and the tag costs one header block, not 1.5 MiB
    assert sampled.unchecked is None
    assert sampled.skipped_tag_bytes == len(tag) + plain.skipped_tag_bytes  # ffmpeg writes a small tag of its own
    assert sampled.bytes_read - plain.bytes_read <= 128 * 1024
    assert [w.start_s for w in sampled.windows] == pytest.approx([w.start_s for w in plain.windows], abs=0.05)
    assert np.array_equal(sampled.windows[1].pcm, plain.windows[1].pcm)


def test_id3v2_scan_stops_at_a_bad_header() -> None:
    data = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + bytes(10) + b"ID3\x03\x00\x00\x80\x00\x00\x00"
    reader = lambda offset, count: data[offset : offset + count]  # noqa: E731
    assert id3v2_end(reader, len(data)) == 20  # the second header's size is not syncsafe
    assert id3v2_end(lambda o, c: b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f", 100) == 0  # runs past the object


@pytest.mark.parametrize(
    ("ext", "codec"),
    [
        ("flac", ("-c:a", "flac")),
        ("wav", ("-c:a", "pcm_s16le")),
        ("aiff", ("-c:a", "pcm_s16be")),
        ("ogg", ("-c:a", "libvorbis", "-b:a", "96k")),
        ("opus", ("-c:a", "libopus", "-b:a", "64k")),
        ("m4a", ("-c:a", "aac", "-b:a", "96k")),
        ("m4a", ("-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart")),
    ],
)
def test_every_common_container_decodes_to_three_windows(ext: str, codec: tuple[str, ...], tmp_path: Path, ffmpeg: str) -> None:
    # Given a 60 s tone in the container
    path = _tone(tmp_path / f"tone.{ext}", 60, *codec)
    sampled = _sample(path)
    # Then three 12 s windows of mono float32 at SAMPLE_RATE, carrying the tone
    assert sampled.unchecked is None, sampled.unchecked
    assert len(sampled.windows) == 3
    for window in sampled.windows:
        assert window.pcm.dtype == np.float32 and window.pcm.size == 12 * SAMPLE_RATE
        spectrum = np.abs(np.fft.rfft(window.pcm))
        assert abs(np.argmax(spectrum) * SAMPLE_RATE / window.pcm.size - 330) < 2


def test_a_short_upload_is_decoded_whole_and_a_too_short_one_is_unchecked(tmp_path: Path, ffmpeg: str) -> None:
    # Given uploads of 20 s and 5 s
    twenty = _sample(_tone(tmp_path / "twenty.mp3", 20, "-c:a", "libmp3lame", "-b:a", "128k"))
    five = _sample(_tone(tmp_path / "five.mp3", 5, "-c:a", "libmp3lame", "-b:a", "128k"))
    # Then the first is one window of all its audio; the second is unchecked: too short
    assert twenty.unchecked is None and len(twenty.windows) == 1
    assert twenty.windows[0].start_s == pytest.approx(0, abs=0.05)  # the MP3 stream starts after its encoder delay
    assert twenty.audio_s == pytest.approx(20, abs=0.1)
    assert five.unchecked == "too-short" and five.windows == ()


def _riff_wav(rate: int, channels: int, data_bytes: int = 80000) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2 & 0xFFFFFFFF, channels * 2 & 0xFFFF, 16)
    data = np.random.default_rng(2).integers(-3000, 3000, data_bytes // 2, np.int16).tobytes()
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty", b""),
        ("garbage", np.random.default_rng(3).integers(0, 256, 300_000, np.uint8).tobytes()),
        ("zeros", bytes(200_000)),
        ("text", b"this is not audio\n" * 5000),
        ("wav 4 GHz", _riff_wav(0xFFFFFFFF, 2)),
        ("wav 65535 channels", _riff_wav(44100, 0xFFFF)),
        ("wav 0 channels", _riff_wav(44100, 0)),
        ("wav 1 Hz", _riff_wav(1, 1)),
        ("truncated id3", b"ID3\x04\x00\x00\x00\x00\x10\x00" + bytes(100)),
    ],
)
def test_bad_content_is_unchecked_never_an_exception(name: str, content: bytes) -> None:
    # When content that is no decodable audio is sampled
    sampled = sample_windows(io.BytesIO(content))
    # Then the result says why it could not be checked, and holds no audio
    assert sampled.unchecked is not None, name
    assert sampled.unchecked.split(":")[0] in {"no-audio-stream", "too-short", "decode-error", "bounds"}, sampled.unchecked
    assert sampled.windows == ()


def test_images_and_video_without_audio_have_no_audio_stream(tmp_path: Path, ffmpeg: str) -> None:
    png = tmp_path / "x.png"
    run("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=64x64", "-frames:v", "1", png)
    assert _sample(png).unchecked == "no-audio-stream"


def test_corrupt_frames_are_survived(mp3s: dict[str, Path], tmp_path: Path) -> None:
    # Given the 2-min MP3 with garbage written over the middle of every window
    data = bytearray(mp3s["2 min"].read_bytes())
    rng = np.random.default_rng(4)
    for centre in (1 / 6, 1 / 2, 5 / 6):
        at = int(len(data) * centre)
        data[at : at + 20000] = rng.integers(0, 256, 20000, np.uint8).tobytes()
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(bytes(data))
    # Then it still decodes (bad frames skipped) into windows of audio
    sampled = _sample(corrupt)
    assert sampled.unchecked is None
    assert sampled.audio_s >= 30


def test_limits_bound_bytes_channels_and_time(mp3s: dict[str, Path]) -> None:
    assert _sample(mp3s["12 min"], limits=Limits(max_read_bytes=300_000)).unchecked == "bounds:bytes"
    assert _sample(mp3s["2 min"], limits=Limits(max_channels=1)).unchecked == "bounds:channels=2"
    assert _sample(mp3s["2 min"], limits=Limits(max_sample_rate=22050)).unchecked == "bounds:sample-rate=44100"
    assert _sample(mp3s["2 min"], limits=Limits(max_seconds=0.0)).unchecked == "bounds:time"


class CountingReadAt(io.RawIOBase):
    """A source offering a thread-safe read_at (as a ranged S3 reader would); seek/read forbidden."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data, self.size, self.calls = data, len(data), []
        self._lock = threading.Lock()

    def read_at(self, offset: int, size: int) -> bytes:
        with self._lock:
            self.calls.append((offset, size))
        return self.data[offset : offset + size]

    def seekable(self) -> bool:
        return True

    def seek(self, *args):  # pragma: no cover - must not be used
        raise AssertionError("seek used although read_at exists")


def test_a_read_at_source_is_used_directly_with_merged_reads(mp3s: dict[str, Path]) -> None:
    source = CountingReadAt(mp3s["12 min"].read_bytes())
    sampled = sample_windows(source)
    plain = _sample(mp3s["12 min"])
    # Then the windows are the same as from a plain file, read in few calls of >= 32 KiB each
    assert [w.start_s for w in sampled.windows] == [w.start_s for w in plain.windows]
    assert all(np.array_equal(a.pcm, b.pcm) for a, b in zip(sampled.windows, plain.windows, strict=True))
    assert len(source.calls) == sampled.reads <= 16
    assert sum(size for _, size in source.calls) == sampled.bytes_read
    assert all(size >= 32 * 1024 or offset + size >= source.size - 128 * 1024 for offset, size in source.calls[1:])


def test_block_cache_merges_small_reads_and_views_are_independent() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    cache = BlockCache(io.BytesIO(data), len(data), block_bytes=128 * 1024, max_blocks=4)
    first, second = View(cache, 0), View(cache, 1000)
    # 32 KiB reads from one view: one fetch per 128 KiB
    chunks = [first.read(32 * 1024) for _ in range(8)]
    assert b"".join(chunks) == data[: 256 * 1024]
    assert cache.stats.reads == 2
    # A second view has its own position (and offset), and hits the cache
    assert second.read(10) == data[1000:1010] and cache.stats.reads == 2
    second.seek(-10, io.SEEK_END)
    assert second.read() == data[-10:] and second.tell() == len(data) - 1000
    # The LRU bound holds
    for offset in range(0, len(data), 100_000):
        first.seek(offset)
        first.read(1)
    assert len(cache._segments) <= 4


def test_decode_whole_reads_a_reference_entirely(tmp_path: Path, ffmpeg: str) -> None:
    path = _tone(tmp_path / "ref.opus", 75, "-c:a", "libopus", "-b:a", "64k")
    with path.open("rb") as fh:
        sampled = decode_whole(fh)
    assert sampled.unchecked is None and len(sampled.windows) == 1
    assert sampled.windows[0].duration_s == pytest.approx(75, abs=0.05)
    with path.open("rb") as fh:
        assert decode_whole(fh, max_audio_s=30).unchecked == "bounds:duration>30s"


def test_a_duration_estimate_past_the_stream_falls_back_to_its_start(tmp_path: Path, ffmpeg: str) -> None:
    # Given a 40 s MP3 without a TOC whose object claims ten times its size (FFmpeg then
    # estimates 400 s from the bitrate, and the windows lie past the audio)
    data = _tone(tmp_path / "short.mp3", 40, "-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0").read_bytes()

    class Overstated(io.BytesIO):
        size = len(data) * 10

    sampled = sample_windows(Overstated(data))
    # Then it is sampled from its start instead, and says so
    assert sampled.duration_s > 300
    assert sampled.unchecked is None
    assert [(w.start_s, round(w.duration_s)) for w in sampled.windows] == [(pytest.approx(0, abs=0.05), 36)]
    assert "decoded from the start" in sampled.problems[0]
