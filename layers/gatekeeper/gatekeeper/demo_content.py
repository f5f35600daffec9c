"""The demo's content-identification scene: a small reference catalogue in the emulator.

Acme Records delivers one reference recording (30 s of a track of Debian's
`warzone2100-music`, which `make demo` installs); it is indexed in the emulated
fingerprint table as the reference indexing function would. Then three uploads
whose tags are all stripped go through the same queue and handler under a policy
with `content_id` on: the recording re-encoded to MP3, a 12 s excerpt of it in
Opus, an unrelated track of the same album, and 6 s of audio. The first two are
caught by their audio alone, the third is granted, the fourth cannot be checked and
fails closed.

The clips are cut and re-encoded with PyAV (the content-id extra), so the scene
needs no program besides the music. Without the extra or the music the scene is
skipped with a one-line reason, and the rest of the demo runs as before.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Where Debian's warzone2100-music puts its tracks.
MUSIC_DIR = Path("/usr/share/games/warzone2100/music/albums/original_soundtrack")
REFERENCE_TRACK, UNRELATED_TRACK = "track2.opus", "track1.opus"
FINGERPRINT_TABLE = "gatekeeper-demo-fingerprints"
CARVE_OUT, REFERENCE_ID = "acme-records", "acme/warzone-track2"
REFERENCE_AT, REFERENCE_SECONDS = 30.0, 30.0


@dataclass(frozen=True)
class ContentUpload:
    key: str
    shows: str
    start: float
    seconds: float
    codec: str  # PyAV encoder
    container: str
    track: str = REFERENCE_TRACK


CONTENT_UPLOADS: tuple[ContentUpload, ...] = (
    ContentUpload("content/re-encoded copy.mp3", "the reference recording re-encoded to MP3, tags stripped",
                  REFERENCE_AT, REFERENCE_SECONDS, "libmp3lame", "mp3"),
    ContentUpload("content/excerpt.opus", "a 12 s excerpt of it in Opus, tags stripped",
                  REFERENCE_AT + 9, 12.0, "libopus", "ogg"),
    ContentUpload("content/unrelated.mp3", "another track of the same album, tags stripped",
                  REFERENCE_AT, REFERENCE_SECONDS, "libmp3lame", "mp3", track=UNRELATED_TRACK),
    ContentUpload("content/too short.mp3", "6 s of audio: too short to check, so it fails closed",
                  REFERENCE_AT, 6.0, "libmp3lame", "mp3", track=UNRELATED_TRACK),
)  # fmt: skip


def unavailable() -> str | None:
    """Why the scene cannot run here (None when it can)."""
    try:
        import av  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as exc:
        return f"needs the content-id extra ({exc.name} is not installed): pip install 'upload-gatekeeper[content-id]'"
    missing = [name for name in (REFERENCE_TRACK, UNRELATED_TRACK) if not (MUSIC_DIR / name).is_file()]
    if missing:
        return f"needs Debian's warzone2100-music ({MUSIC_DIR / missing[0]} is missing): make music"
    return None


def transcode(source: Path, start: float, seconds: float, codec: str, container: str) -> bytes:
    """`seconds` of `source` from `start`, re-encoded with `codec` into `container`, with no tags at all."""
    import av

    out = io.BytesIO()
    with av.open(str(source)) as inp, av.open(out, "w", format=container) as mux:
        audio = inp.streams.audio[0]
        rate = 48000 if codec == "libopus" else 44100
        stream = mux.add_stream(codec, rate=rate, layout="stereo")
        stream.bit_rate = 128_000
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="stereo", rate=rate)
        inp.seek(int(start / audio.time_base), stream=audio)
        for frame in inp.decode(audio):
            at = float(frame.pts * audio.time_base)
            if at < start:
                continue
            if at >= start + seconds:
                break
            for piece in resampler.resample(frame):
                piece.pts = None
                mux.mux(stream.encode(piece))
        for piece in resampler.resample(None):
            piece.pts = None
            mux.mux(stream.encode(piece))
        mux.mux(stream.encode(None))
    return out.getvalue()


def content_policy(default_policy: Path, directory: Path) -> Path:
    """The built-in policy with content identification turned on, written to `directory`."""
    policy = json.loads(default_policy.read_text(encoding="utf-8"))
    policy["policy_id"] = f"{policy['policy_id']}+content-id"
    policy["content_id"] = {"required": True}
    path = directory / "content-id-policy.json"
    path.write_text(json.dumps(policy), encoding="utf-8")
    return path


def build_catalogue(dynamodb: Any) -> Any:
    """The emulated fingerprint table holding Acme Records' reference; the reference's record."""
    from gatekeeper import content_id
    from gatekeeper.dal.fingerprint_index import FingerprintIndex, create_table

    create_table(dynamodb, FINGERPRINT_TABLE)
    index = FingerprintIndex(dynamodb, FINGERPRINT_TABLE)
    delivered = transcode(MUSIC_DIR / REFERENCE_TRACK, REFERENCE_AT, REFERENCE_SECONDS, "flac", "flac")
    return content_id.index_reference(io.BytesIO(delivered), index, REFERENCE_ID, CARVE_OUT, source="delivered by Acme Records")


def bodies() -> dict[str, bytes]:
    """Each content upload's bytes."""
    return {u.key: transcode(MUSIC_DIR / u.track, u.start, u.seconds, u.codec, u.container) for u in CONTENT_UPLOADS}
