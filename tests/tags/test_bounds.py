"""Bounds: hostile sizes, nesting and chains cost a bounded number of bytes; big files are read sparsely."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from mutagen.id3 import ID3, TXXX

from gatekeeper.samples import FORMATS, make_audio, write_audio
from gatekeeper.tags import extract
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.riff import add_riff_chunk
from gatekeeper.tags.source import BoundedSource
from gatekeeper.tags.xmp import xmp_packet


class CountingFile(io.RawIOBase):
    """A seekable file that counts the bytes and reads asked of it (like the ranged S3 reader)."""

    def __init__(self, inner: io.BufferedReader | io.BytesIO) -> None:
        super().__init__()
        self.inner = inner
        self.bytes_read = 0
        self.reads = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.inner.seek(offset, whence)

    def tell(self) -> int:
        return self.inner.tell()

    def read(self, size: int | None = -1) -> bytes:
        data = self.inner.read(size)
        self.bytes_read += len(data)
        self.reads += 1
        return data


def _counted(data: bytes, limits: Limits | None = None):
    source = CountingFile(io.BytesIO(data))
    return extract(source, limits=limits), source


def test_a_single_read_over_max_tag_bytes_is_refused_before_reading() -> None:
    # Given a 10 kB object and a bound of 4 kB per read
    source = CountingFile(io.BytesIO(bytes(10_000)))
    bounded = BoundedSource(source, Limits(max_tag_bytes=4096))
    # When a reader asks for 5 kB at once
    with pytest.raises(Unreadable) as refused:
        bounded.read(5000)
    # Then it is refused with the bound's name and nothing was fetched
    assert refused.value.detail == "max_tag_bytes" and source.bytes_read == 0


def test_reads_past_the_end_are_clipped_not_refused() -> None:
    # Given a 100-byte object and a tiny per-read bound
    bounded = BoundedSource(io.BytesIO(bytes(range(100))), Limits(max_tag_bytes=64))
    # When a reader asks for an absurd size 60 bytes before the end
    bounded.seek(40)
    # Then it gets the 60 bytes that exist (an absurd size field over a short file is a truncation)
    assert bounded.read(1 << 40) == bytes(range(40, 100))


def test_the_total_read_bound_stops_a_reader_that_keeps_reading() -> None:
    # Given a bound of 1000 bytes in total
    bounded = BoundedSource(io.BytesIO(bytes(5000)), Limits(max_read_bytes=1000))
    for _ in range(10):
        bounded.read(100)
    # Then the next read fails closed with the bound's name
    with pytest.raises(Unreadable) as refused:
        bounded.read(1)
    assert refused.value.detail == "max_read_bytes"


def test_seeking_before_the_start_fails_like_a_file() -> None:
    # Given the bounded view of a small object
    bounded = BoundedSource(io.BytesIO(bytes(10)), Limits())
    # When a reader seeks 128 bytes before the end (mutagen's ID3v1 probe)
    # Then it gets the OSError(EINVAL) a real file raises, which mutagen treats as "too small"
    with pytest.raises(OSError) as failed:
        bounded.seek(-128, io.SEEK_END)
    assert failed.value.errno == 22


def test_an_id3_tag_larger_than_max_tag_bytes_is_unreadable_with_the_bound_name() -> None:
    # Given an MP3 whose ID3v2 tag (20 kB of text) exceeds a 16 kB bound
    data = make_audio("mp3", tags={"COMMENTS": "x" * 20_000})
    extraction, _ = _counted(data, Limits(max_tag_bytes=16_000))
    # Then the verdict detail names the bound
    assert (extraction.format, extraction.unreadable) == ("mp3", "max_tag_bytes")


def test_absurd_size_fields_cost_no_more_than_the_file() -> None:
    # Given an MP3 whose ID3v2 header claims 256 MB and a WAV whose chunk claims 4 GB
    mp3 = bytearray(make_audio("mp3", tags={"title": "x"}))
    mp3[6:10] = b"\x7f\x7f\x7f\x7f"
    wav = bytearray(make_audio("wav", info={"ICOP": "x"}))
    at = wav.index(b"LIST")
    wav[at + 4 : at + 8] = b"\xff\xff\xff\xff"
    for data in (bytes(mp3), bytes(wav)):
        extraction, source = _counted(data)
        # Then the file fails closed, having read at most about the file once
        assert extraction.unreadable is not None
        assert source.bytes_read <= 2 * len(data) + 4096


def test_an_endless_chunk_chain_stops_at_max_chunks() -> None:
    # Given a WAV followed by 20,000 empty chunks
    data = make_audio("wav")
    chain = b"JUNK\x00\x00\x00\x00" * 20_000
    body = data[8:] + chain
    data = data[:4] + struct.pack("<I", len(body)) + body
    extraction, source = _counted(data, Limits(max_chunks=1000))
    # Then our walk stops at the bound (mutagen's own chunk walk is linear: about the file once)
    assert extraction.unreadable == "riff"
    assert source.bytes_read <= 2 * len(data)


def test_deeply_nested_atoms_fail_closed_without_reading_much() -> None:
    # Given an M4A whose udta holds 5,000 nested udta atoms
    nested = b""
    for _ in range(5000):
        nested = struct.pack(">I", 8 + len(nested)) + b"udta" + nested
    data = make_audio("mp4")
    moov = data.index(b"moov") - 4
    size = struct.unpack(">I", data[moov : moov + 4])[0]
    data = (
        data[:moov]
        + struct.pack(">I", size + len(nested))
        + data[moov + 4 : moov + size]
        + nested
        + data[moov + size :]
    )
    extraction, source = _counted(data)
    # Then the file is either read or refused, never a crash, and never more than a few times its size
    assert extraction.format == "mp4"
    assert source.bytes_read <= 4 * len(data)


def test_a_billion_laughs_xmp_packet_is_refused() -> None:
    # Given an XMP packet declaring nested entities, in a WAV _PMX chunk
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
        )
        + b']><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol9;</x:xmpmeta>'
    )
    extraction, _ = _counted(add_riff_chunk(make_audio("wav"), b"_PMX", bomb))
    # Then the file is UNREADABLE:xmp
    assert extraction.unreadable == "xmp"


def _with_labels(labels: list[str]) -> bytes:
    tag = ID3()
    tag.add(TXXX(encoding=3, desc="LABEL", text=labels))
    prefix = io.BytesIO()
    tag.save(prefix)
    return prefix.getvalue() + make_audio("mp3")


@pytest.mark.parametrize(
    ("labels", "detail"),
    [
        ([f"Label {i}" for i in range(9)], "max_values_per_field"),
        (["x" * 51], "max_text_value_chars"),
    ],
    ids=["one-value-too-many", "one-character-too-many"],
)
def test_a_bound_exceeded_fails_closed_instead_of_keeping_the_first_part(labels: list[str], detail: str) -> None:
    # Given one label value more, or one character more, than the bounds allow
    extraction, _ = _counted(_with_labels(labels), Limits(max_values_per_field=8, max_text_value_chars=50))
    # Then the file is UNREADABLE with the bound's name: nothing is silently dropped or cut
    assert (extraction.unreadable, extraction.rights) == (detail, {})


def test_values_within_the_bounds_are_kept_whole() -> None:
    # Given exactly as many values, of exactly as many characters, as the bounds allow
    labels = [f"{i:03d}" + "x" * 47 for i in range(8)]
    extraction, _ = _counted(_with_labels(labels), Limits(max_values_per_field=8, max_text_value_chars=50))
    # Then every one is read, whole
    assert extraction.unreadable is None and extraction.rights["label"] == labels


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_5_mb_file_is_read_sparsely(fmt: str, tmp_path: Path) -> None:
    # Given a 5 MB file of each format with tags and (where SPEC has a carrier) XMP
    path = tmp_path / "big"
    xmp = xmp_packet(tdm="1") if fmt in ("mp3", "mp4", "wav", "aiff") else None
    write_audio(path, fmt, tags={"title": "Big", "label": "Acme"}, xmp=xmp, size_hint=5 << 20)
    with path.open("rb") as fh:
        source = CountingFile(fh)
        extraction = extract(source)
    # Then the rights are found reading well under 256 KiB
    assert extraction.rights["label"] == ["Acme"]
    assert source.bytes_read < 256 << 10, source.bytes_read


def test_an_mp4_with_moov_at_the_end_is_read_sparsely(tmp_path: Path) -> None:
    # Given a 5 MB M4A whose moov follows the mdat
    path = tmp_path / "late.m4a"
    write_audio(path, "mp4", tags={"label": "Late"}, moov_at_end=True, size_hint=5 << 20)
    with path.open("rb") as fh:
        source = CountingFile(fh)
        extraction = extract(source)
    # Then the tags at the end are found without reading the audio
    assert extraction.rights == {"label": ["Late"]}
    assert source.bytes_read < 64 << 10


def test_bounds_come_from_the_environment_when_none_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an operator bound of 16 kB per tag read in the environment
    monkeypatch.setenv("GATEKEEPER_LIMIT_MAX_TAG_BYTES", "16000")
    data = make_audio("mp3", tags={"COMMENTS": "x" * 20_000})
    # When extract is called without explicit limits
    extraction = extract(io.BytesIO(data))
    # Then the configured bound applies
    assert extraction.unreadable == "max_tag_bytes"
