"""Helpers of the content-identification tests: synthetic signals and ffmpeg queries."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from gatekeeper.fingerprint import SAMPLE_RATE


def melody(seconds: float, seed: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A deterministic 'tune' of two voices: random notes (with two harmonics) every 125-500 ms, on a noise bed."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n, np.float64)
    for voice, low in enumerate((48, 60)):  # semitones above 27.5 Hz: ~440 Hz and ~880 Hz
        t = int(voice * 0.06 * rate)
        while t < n:
            length = int(rng.uniform(0.125, 0.5) * rate)
            f0 = 27.5 * 2 ** ((low + rng.integers(0, 10)) / 12)
            span = np.arange(min(length, n - t)) / rate
            envelope = np.exp(-3 * span)
            for h, a in ((1, 1.0), (2, 0.5), (3, 0.25)):
                out[t : t + span.size] += a * envelope * np.sin(2 * np.pi * f0 * h * span)
            t += length
    out += 0.01 * rng.standard_normal(n)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def run(*command: str | Path, stdin: bytes | None = None) -> bytes:
    done = subprocess.run([str(c) for c in command], input=stdin, capture_output=True, check=False)
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr.decode(errors='replace')[-500:]}"
    return done.stdout


def ffmpeg_query(source: Path, out: Path, *, start: float, length: float, filters: str = "", codec=("-c:a", "flac")) -> Path:
    """An excerpt of `source`, transformed and encoded with every tag stripped."""
    af = ["-af", filters] if filters else []
    run("ffmpeg", "-v", "error", "-y", "-ss", f"{start}", "-t", f"{length}", "-i", source, *af,
        "-map_metadata", "-1", "-vn", "-ar", "48000", *codec, out)  # fmt: skip
    return out


def ffmpeg_noisy_query(source: Path, out: Path, *, start: float, length: float, color: str, seed: int = 1) -> Path:
    """An excerpt with `color` noise mixed in at 0 dB SNR (noise by ffmpeg's anoisesrc)."""
    signal = np.frombuffer(run("ffmpeg", "-v", "error", "-ss", f"{start}", "-t", f"{length}", "-i", source,
                               "-ac", "2", "-ar", "48000", "-f", "f32le", "-"), np.float32).reshape(-1, 2)  # fmt: skip
    noise = np.frombuffer(run("ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                              f"anoisesrc=color={color}:amplitude=0.5:seed={seed}:r=48000:d={length + 1}",
                              "-ac", "2", "-f", "f32le", "-"), np.float32).reshape(-1, 2)[: len(signal)]  # fmt: skip
    mixed = signal + noise * np.sqrt(np.mean(signal**2) / np.mean(noise**2))
    mixed /= max(1.0, float(np.abs(mixed).max()))
    run("ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", "48000", "-ac", "2", "-i", "-", "-c:a", "flac", out,
        stdin=mixed.astype(np.float32).tobytes())  # fmt: skip
    return out
