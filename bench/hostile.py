"""Hostile files: a structure repeated a million times, and what reading each costs.

Each generator builds a small valid file of its container whose one structure
(a metadata block, a box, a frame, a chunk, an item, a page) is repeated hundreds
of thousands of times. Before the bounds of issue 10 these took seconds to
minutes through the ranged S3 reader (a FLAC of a million `PADDING` blocks 64 s,
an MP4 of a million 8-byte boxes 54 s, an ID3 tag of a million `PRIV` frames over
4 minutes). Now every one is refused — `UNREADABLE:<detail>` at the structure's
count bound — after reading a bounded prefix.

`python -m bench.hostile` measures each one through `RangedObjectReader` against
a moto S3 server: wall and CPU seconds, peak memory (tracemalloc), GETs and bytes
read. `tests/tags/test_hostile.py` holds the verdicts and the bounded reads (never
the time).
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from gatekeeper.samples import make_audio
from gatekeeper.tags.chunks import box, iff_chunk

#: name -> (generator, the detail it must fail closed with)
Generator = Callable[[], bytes]


def _flac_frames_and_streaminfo() -> tuple[bytes, bytes]:
    sample = make_audio("flac")
    position, streaminfo = 4, b""
    while True:
        header = sample[position : position + 4]
        size = int.from_bytes(header[1:], "big")
        if header[0] & 0x7F == 0:
            streaminfo = sample[position + 4 : position + 4 + size]
        position += 4 + size
        if header[0] & 0x80:
            return streaminfo, sample[position:]


def flac_padding_blocks(count: int = 1_000_000) -> bytes:
    """A FLAC stream whose metadata is STREAMINFO and `count` empty PADDING blocks (4 bytes each)."""
    streaminfo, frames = _flac_frames_and_streaminfo()
    return b"fLaC" + b"\x00" + len(streaminfo).to_bytes(3, "big") + streaminfo + b"\x01\0\0\0" * (count - 1) + b"\x81\0\0\0" + frames


def flac_vorbis_fields(count: int = 1_000_000) -> bytes:
    """A FLAC stream whose Vorbis comment block holds `count` one-letter fields."""
    streaminfo, frames = _flac_frames_and_streaminfo()
    comment = (0).to_bytes(4, "little") + count.to_bytes(4, "little") + b"\x03\0\0\0A=1" * count
    if len(comment) >= 1 << 24:
        raise ValueError("the comment must fit a 24-bit block size")
    return (
        b"fLaC" + b"\x00" + len(streaminfo).to_bytes(3, "big") + streaminfo
        + b"\x84" + len(comment).to_bytes(3, "big") + comment + frames
    )  # fmt: skip


def mp4_tiny_boxes(count: int = 1_000_000) -> bytes:
    """An M4A of `ftyp`, `count` empty 8-byte `free` boxes, then a real file's boxes."""
    sample = make_audio("mp4")
    ftyp_size = int.from_bytes(sample[:4], "big")
    return sample[:ftyp_size] + b"\0\0\0\x08free" * count + sample[ftyp_size:]


def mp4_moov_children(count: int = 1_000_000) -> bytes:
    """An M4A whose `moov` holds, after its real children, `count` empty `free` boxes."""
    sample = make_audio("mp4", moov_at_end=True)
    position = 0
    while True:
        size, kind = int.from_bytes(sample[position : position + 4], "big"), sample[position + 4 : position + 8]
        if kind == b"moov":
            break
        position += size
    return sample[:position] + box(b"moov", sample[position + 8 :] + b"\0\0\0\x08free" * count)


def _syncsafe(value: int) -> bytes:
    return bytes([(value >> 21) & 0x7F, (value >> 14) & 0x7F, (value >> 7) & 0x7F, value & 0x7F])


def id3_priv_frames(count: int = 1_000_000) -> bytes:
    """An MP3 whose ID3v2.4 tag holds `count` one-byte `PRIV` frames (11 bytes each)."""
    frames = (b"PRIV" + _syncsafe(1) + b"\0\0" + b"\0") * count
    return b"ID3\x04\0\0" + _syncsafe(len(frames)) + frames + make_audio("mp3")


def wav_empty_chunks(count: int = 200_000) -> bytes:
    """A WAV of `fmt `, `count` empty `JUNK` chunks, then `data`."""
    sample = make_audio("wav")
    body = sample[12:]
    fmt_size = 8 + int.from_bytes(body[4:8], "little")
    body = body[:fmt_size] + b"JUNK\0\0\0\0" * count + body[fmt_size:]
    return b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WAVE" + body


def wav_info_items(count: int = 200_000) -> bytes:
    """A WAV whose LIST/INFO chunk holds `count` empty `ICMT` items."""
    sample = make_audio("wav")
    listing = iff_chunk(b"LIST", b"INFO" + b"ICMT\0\0\0\0" * count, "little")
    body = sample[12:] + listing
    return b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WAVE" + body


def aiff_empty_chunks(count: int = 200_000) -> bytes:
    """An AIFF with `count` empty `ANNO` chunks after its own."""
    sample = make_audio("aiff")
    body = sample[12:] + b"ANNO\0\0\0\0" * count
    return b"FORM" + (4 + len(body)).to_bytes(4, "big") + sample[8:12] + body


def apev2_items(count: int = 1_000_000) -> bytes:
    """An MP3 followed by an APEv2 tag of `count` one-byte items."""
    items = (struct.pack("<II", 1, 0) + b"A\0" + b"1") * count
    footer = b"APETAGEX" + struct.pack("<IIII", 2000, len(items) + 32, count, 0) + bytes(8)
    return make_audio("mp3") + items + footer


def ogg_tiny_pages(count: int = 300_000) -> bytes:
    """An Ogg Vorbis file whose comment packet is spread over `count` pages of one byte each."""
    from mutagen.ogg import OggPage

    sample = make_audio("ogg_vorbis", tags={"TITLE": "x" * count})
    stream, pages = io.BytesIO(sample), []
    while stream.tell() < len(sample):
        pages.append(OggPage(stream))
    packets = OggPage.to_packets(pages)
    out, sequence = [pages[0].write()], 1
    comment = packets[1]
    for index in range(0, len(comment), 1):
        page = OggPage()
        page.serial, page.sequence, page.position = pages[0].serial, sequence, 0
        page.packets = [comment[index : index + 1]]
        page.continued = index > 0
        page.complete = index == len(comment) - 1
        out.append(page.write())
        sequence += 1
    for page in pages[2:]:
        page.sequence = sequence
        sequence += 1
        out.append(page.write())
    return b"".join(out)


HOSTILE: dict[str, tuple[Generator, str]] = {
    "flac: 1,000,000 PADDING blocks": (flac_padding_blocks, "flac"),
    "flac: Vorbis comment of 1,000,000 fields": (flac_vorbis_fields, "vorbis_comment"),
    "mp4: 1,000,000 top-level boxes": (mp4_tiny_boxes, "mp4"),
    "mp4: moov of 1,000,000 boxes": (mp4_moov_children, "mp4"),
    "id3: 1,000,000 PRIV frames": (id3_priv_frames, "id3"),
    "id3: 200,000 PRIV frames": (lambda: id3_priv_frames(200_000), "id3"),
    "wav: 200,000 empty chunks": (wav_empty_chunks, "riff"),
    "wav: LIST/INFO of 200,000 items": (wav_info_items, "riff"),
    "aiff: 200,000 empty chunks": (aiff_empty_chunks, "aiff"),
    "apev2: 1,000,000 items": (apev2_items, "apev2"),
    "ogg: comment over 300,000 pages": (ogg_tiny_pages, "ogg"),
}


@dataclass(frozen=True)
class HostileCost:
    name: str
    size: int
    unreadable: str | None
    wall_seconds: float
    cpu_seconds: float
    peak_memory: int
    requests: int
    bytes_read: int


def measure(name: str, data: bytes, client: Any, bucket: str) -> HostileCost:
    """Extract one hostile file through the ranged S3 reader; what it cost."""
    from gatekeeper import tags
    from gatekeeper.dal.s3_source import S3ObjectSource
    from gatekeeper.models import ObjectEvent

    key = f"hostile/{abs(hash(name))}"
    client.put_object(Bucket=bucket, Key=key, Body=data)
    etag = str(client.head_object(Bucket=bucket, Key=key)["ETag"]).strip('"')
    event = ObjectEvent(kind="created", bucket=bucket, key=key, etag=etag, size=len(data))
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    stored = S3ObjectSource(client).open(event)
    extraction = tags.extract(stored.body)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    stats = stored.body.stats
    client.delete_object(Bucket=bucket, Key=key)
    return HostileCost(name, len(data), extraction.unreadable, wall, cpu, peak, stats.requests, stats.bytes_fetched)


#: The container of each hostile family, for its baseline: an ordinary file of that format and size.
BASELINE_FORMAT = {"flac": "flac", "mp4": "mp4", "id3": "mp3", "wav": "wav", "aiff": "aiff", "apev2": "mp3", "ogg": "ogg_vorbis"}


def run(client: Any, bucket: str, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Each hostile file, and beside it (same process, same server) an ordinary file of its format and size."""
    rows = []
    for name in names or list(HOSTILE):
        data = HOSTILE[name][0]()
        row = asdict(measure(name, data, client, bucket))
        fmt = BASELINE_FORMAT[name.split(":", 1)[0]]
        ordinary = make_audio(fmt, tags={"title": "Ordinary", "label": "Acme"}, size_hint=len(data))
        baseline = measure(f"{name} (baseline)", ordinary, client, bucket)
        row["baseline"] = {"format": fmt, **asdict(baseline)}
        row["wall_ratio"] = row["wall_seconds"] / baseline.wall_seconds if baseline.wall_seconds else None
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "Hostile files through the ranged S3 reader (moto server); x ordinary: wall time over an ordinary file"
        " of the same format and size, read the same way",
        f"{'hostile file':44} {'MB':>6} {'verdict':>24} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'GETs':>5}"
        f" {'KiB read':>9} {'x ordinary':>10}",
    ]
    for row in rows:
        ratio = f"{row['wall_ratio']:9.1f}x" if row.get("wall_ratio") else f"{'-':>10}"
        lines.append(
            f"{row['name']:44} {row['size'] / 1e6:6.1f} {('UNREADABLE:' + row['unreadable']) if row['unreadable'] else 'read':>24} "
            f"{row['wall_seconds']:7.3f} {row['cpu_seconds']:7.3f} {row['peak_memory'] / 1e6:8.1f} "
            f"{row['requests']:5d} {row['bytes_read'] / 1024:9.0f} {ratio}"
        )
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - a measurement, run by make bench
    import boto3

    from bench.motoserver import moto_endpoint

    with moto_endpoint() as endpoint:
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
        client = session.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="hostile")
        print(render(run(client, "hostile")))


if __name__ == "__main__":  # pragma: no cover
    main()
