"""AIFF/AIFF-C: every XMP packet of an APPL chunk with signature `XMP `, ID3 and text chunks; hostile chunk chains."""

from __future__ import annotations

import io

import mutagen
import pytest

from gatekeeper.errors import SourceReadError
from gatekeeper.tags.aiff import add_aiff_chunk, add_aiff_xmp, read_aiff
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.xmp import signals_from_xmp, xmp_packet
from tests.structures.helpers import CountingReader, SparseFile, bounded, run_tool

LIMITS = Limits()
PACKET = xmp_packet(dmi="DMI-PROHIBITED-GENAIMLTRAINING")


def read(data: bytes, limits: Limits = LIMITS) -> list[bytes]:
    return read_aiff(io.BytesIO(data), limits).xmp


def form(body: bytes, form_type: bytes = b"AIFF") -> bytes:
    return b"FORM" + (4 + len(body)).to_bytes(4, "big") + form_type + body


@pytest.fixture(scope="module")
def ffmpeg_aiff(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("aiff") / "a.aiff"
    run_tool("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.1", str(path))
    return path.read_bytes()


def test_xmp_chunk_in_ffmpeg_written_aiff(ffmpeg_aiff):
    # Given an ffmpeg-written AIFF with an APPL/XMP chunk appended
    data = add_aiff_xmp(ffmpeg_aiff, PACKET)
    # Then mutagen still reads the audio, and the packet (and its signal) is found
    assert mutagen.File(io.BytesIO(data)).info.sample_rate == 8000
    assert read(data) == [PACKET]
    assert signals_from_xmp(read(data)[0], LIMITS) == ["xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING"]


def test_corpus_aiff_files_without_xmp(corpus_dir):
    for name in ("11k-1ch-2s-silence.aif", "8k-4ch-1s-silence.aif", "with-id3.aif"):
        assert read((corpus_dir / name).read_bytes()) == []
    # And the one with an ID3 chunk has it found
    assert read_aiff(io.BytesIO((corpus_dir / "with-id3.aif").read_bytes()), LIMITS).id3[0].startswith(b"ID3")


def test_aifc_odd_chunks_and_other_appl_signatures():
    # Given an AIFF-C form with an odd-sized chunk (padded), an APPL of another application and a short APPL
    body = b"NAME\0\0\0\x03abc\0" + b"APPL\0\0\0\x06stoc\x01\x02" + b"APPL\0\0\0\x02XM"
    data = add_aiff_xmp(form(body, b"AIFC"), PACKET)
    assert read(data) == [PACKET]
    assert read_aiff(io.BytesIO(data), LIMITS).text == [("title", "abc")]


def test_large_sound_data_is_seeked_past():
    ssnd_size = 3 << 30
    head = b"FORM" + bytes(4) + b"AIFF" + b"SSND" + ssnd_size.to_bytes(4, "big")
    tail = b"APPL" + (4 + len(PACKET)).to_bytes(4, "big") + b"XMP " + PACKET + b"\0" * (len(PACKET) & 1)
    total = len(head) + ssnd_size + len(tail)
    head = head[:4] + (total - 8).to_bytes(4, "big") + head[8:]
    source = SparseFile(total, {0: head, len(head) + ssnd_size: tail})
    assert read_aiff(source, LIMITS).xmp == [PACKET]
    assert source.bytes_read < 2048


def test_endless_chunk_chain():
    error = bounded(lambda: read(form(b"JUNK\0\0\0\0" * 50_000)))
    assert error.detail == "aiff" and "max_chunks" in str(error)


def test_chunk_past_the_end_and_form_past_the_end():
    assert "runs past the end (" in str(bounded(lambda: read(form(b"APPL\x7f\xff\xff\xffXMP "))))
    data = form(b"")
    assert "runs past the end of the file" in str(bounded(lambda: read(data[:4] + b"\0\0\x10\0" + data[8:])))


@pytest.mark.parametrize("data", [b"", b"FORM\0\0\0\x04AI", b"RIFF\0\0\0\x04WAVE", b"FORM\0\0\0\x04WAVE"])
def test_not_aiff_or_truncated(data):
    assert bounded(lambda: read(data)).detail == "aiff"


def test_every_xmp_chunk_is_returned_and_an_oversized_packet_fails():
    other = xmp_packet(tdm="1")
    twice = add_aiff_xmp(add_aiff_xmp(form(b""), PACKET), other)
    assert read(twice) == [PACKET, other]
    source = CountingReader(add_aiff_xmp(form(b""), b" " * 100_000))
    error = bounded(lambda: read_aiff(source, Limits(max_xmp_bytes=10_000)))
    assert error.detail == "xmp" and "max_xmp_bytes=10000" in str(error) and source.bytes_read < 256


def test_every_truncation_fails_closed():
    data = add_aiff_chunk(form(b"COMM" + (18).to_bytes(4, "big") + bytes(18)), b"APPL", b"XMP " + PACKET)
    for cut in range(len(data)):
        with pytest.raises(Unreadable):
            read(data[:cut])


def test_source_errors_propagate_untouched():
    source = CountingReader(add_aiff_xmp(form(b""), PACKET), fail_after=20)
    with pytest.raises(SourceReadError):
        read_aiff(source, LIMITS)
