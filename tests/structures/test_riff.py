"""RIFF/WAV: LIST/INFO text and the XMP, C2PA and ID3 carriers; hostile chunk chains."""

from __future__ import annotations

import io
import subprocess

import mutagen
import pytest

from gatekeeper.errors import SourceReadError
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.riff import add_riff_chunk, build_wav, info_list, read_riff, riff_chunk
from gatekeeper.tags.xmp import xmp_packet
from tests.structures.helpers import CountingReader, SparseFile, bounded, run_tool

LIMITS = Limits()


def read(data: bytes, limits: Limits = LIMITS):
    return read_riff(io.BytesIO(data), limits)


def riff(body: bytes, magic: bytes = b"RIFF") -> bytes:
    return magic + (4 + len(body)).to_bytes(4, "little") + b"WAVE" + body


def info_chunk(*subchunks: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    return b"LIST", b"INFO" + b"".join(riff_chunk(cid, payload) for cid, payload in subchunks)


# ---------------------------------------------------------------- positive cases


def test_info_xmp_c2pa_and_id3_chunks_are_found():
    # Given a WAV with INFO text, XMP, C2PA and ID3 chunks
    packet = xmp_packet(tdm="1")
    wav = build_wav(
        [
            (b"LIST", info_list({"ICOP": "℗ 2024 Acme Records", "IART": "The Band", "INAM": "Song"})[8:]),
            (b"_PMX", packet),
            (b"C2PA", b"store-bytes"),
            (b"id3 ", b"ID3\x03\0\0\0\0\0\0"),
        ]
    )
    # Then mutagen still reads it as WAVE, and every carrier is returned
    assert mutagen.File(io.BytesIO(wav)).info.sample_rate == 8000
    found = read(wav)
    assert found.info == {"ICOP": ["℗ 2024 Acme Records"], "IART": ["The Band"], "INAM": ["Song"]}
    assert (found.xmp, found.c2pa, found.id3) == ([packet], [b"store-bytes"], [b"ID3\x03\0\0\0\0\0\0"])


def test_info_text_decoding_padding_and_repeats():
    # Given odd-sized values (padded), latin-1 bytes, NULs, an upper-case ID3 chunk id and a repeated id
    wav = build_wav(
        [
            info_chunk((b"IART", b"Caf\xe9 Tacuba\0"), (b"ICMT", b"odd"), (b"ICMT", b"odd"), (b"ICMT", b"\0 two \0")),
            (b"ID3 ", b"ID3"),
        ]
    )
    found = read(wav)
    # Then latin-1 is the fallback, NULs and spaces go, the pad byte is skipped, repeats are folded
    assert found.info == {"IART": ["Café Tacuba"], "ICMT": ["odd", "two"]}
    assert found.id3 == [b"ID3"]


def test_info_values_are_returned_whole_for_the_collector_to_bound():
    wav = build_wav([info_chunk(*((b"ICMT", f"v{i}".encode()) for i in range(10)), (b"INAM", b"x" * 100))])
    found = read(wav, Limits(max_values_per_field=3, max_text_value_chars=5))
    assert found.info == {"ICMT": [f"v{i}" for i in range(10)], "INAM": ["x" * 100]}


def test_other_lists_and_chunks_are_skipped():
    wav = build_wav([(b"LIST", b"adtl" + riff_chunk(b"labl", b"\0\0\0\0x")), (b"bext", b"\0" * 602), (b"LIST", b"")])
    found = read(wav)
    assert (found.info, found.xmp, found.c2pa, found.id3) == ({}, [], [], [])


def test_real_corpus_wav_written_by_another_tagger(corpus_dir):
    # Given a WAV from mutagen's test data (INFO and ID3 written by other software)
    found = read((corpus_dir / "silence-2s-PCM-16000-08-ID3v23.wav").read_bytes())
    assert found.info["IART"] == ["piman, jzig"] and found.info["INAM"] == ["Silence"]
    assert len(found.id3) == 1 and found.id3[0].startswith(b"ID3")


def test_ffmpeg_written_info_chunk(tmp_path):
    # Given a WAV whose INFO chunk ffmpeg wrote from -metadata
    path = tmp_path / "ffmpeg.wav"
    run_tool(
        "ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.1",
        "-metadata", "copyright=(C) Acme Records", "-metadata", "artist=Someone", str(path),
    )  # fmt: skip
    found = read(path.read_bytes())
    assert found.info["ICOP"] == ["(C) Acme Records"] and found.info["IART"] == ["Someone"]


def test_rf64_sizes_come_from_ds64():
    # Given an RF64 file with a 6 GiB data chunk (32-bit sizes 0xFFFFFFFF, real ones in ds64)
    # and an XMP chunk after the audio
    packet = xmp_packet(dmi="DMI-PROHIBITED")
    data_size = 6 << 30
    tail = riff_chunk(b"_PMX", packet)
    head_len = 12 + 8 + 28 + 8 + 16 + 8
    total = head_len + data_size + len(tail)
    ds64 = (total - 8).to_bytes(8, "little") + data_size.to_bytes(8, "little") + bytes(8) + bytes(4)
    head = b"RF64\xff\xff\xff\xffWAVE" + riff_chunk(b"ds64", ds64) + riff_chunk(b"fmt ", bytes(16)) + b"data\xff\xff\xff\xff"
    assert len(head) == head_len
    source = SparseFile(total, {0: head, head_len + data_size: tail})
    # Then the XMP after the data is found and only headers were read
    assert read_riff(source, LIMITS).xmp == [packet]
    assert source.bytes_read < 4096


def test_ffmpeg_rf64_is_walked(tmp_path):
    path = tmp_path / "rf64.wav"
    run_tool("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=8000", "-t", "0.1", "-rf64", "always", str(path))
    assert path.read_bytes()[:4] == b"RF64"
    assert read(path.read_bytes()).info["ISFT"][0].startswith("Lavf")


def test_streamed_wav_with_unfilled_sizes(tmp_path):
    # Given a WAV ffmpeg streamed to a pipe: RIFF and data sizes left at 0xFFFFFFFF
    path = tmp_path / "piped.wav"
    with open(path, "wb") as out:
        result = subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.1",
             "-metadata", "artist=Streamer", "-f", "wav", "pipe:1"],
            stdout=out, timeout=60, check=True,
        )  # fmt: skip
    data = path.read_bytes()
    assert result.returncode == 0 and data[4:8] == b"\xff\xff\xff\xff"
    # Then the walk runs to the end of the file and finds the INFO text
    assert read(data).info["IART"] == ["Streamer"]


def test_uncounted_pad_byte_of_the_last_chunk_is_tolerated():
    # Given an odd-sized last chunk whose pad byte the RIFF size counts but the file lacks
    wav = build_wav([(b"_PMX", b"odd")], pcm=b"") + b"ICMT\x01\0\0\0x"
    wav = wav[:4] + (len(wav) + 1 - 8).to_bytes(4, "little") + wav[8:]
    assert read(wav).xmp == [b"odd"]


def test_large_data_chunk_is_seeked_past():
    # Given a 1 GiB WAV whose XMP chunk follows the audio
    packet = xmp_packet(tdm="1")
    head = b"RIFF" + bytes(4) + b"WAVE" + riff_chunk(b"fmt ", bytes(16)) + b"data" + (1 << 30).to_bytes(4, "little")
    tail = riff_chunk(b"_PMX", packet)
    total = len(head) + (1 << 30) + len(tail)
    head = head[:4] + (total - 8).to_bytes(4, "little") + head[8:]
    source = SparseFile(total, {0: head, len(head) + (1 << 30): tail})
    # Then the XMP is found reading about a kilobyte
    assert read_riff(source, LIMITS).xmp == [packet]
    assert source.bytes_read < 2048


# ---------------------------------------------------------------- hostile input


def test_endless_chain_of_empty_chunks_stops_at_max_chunks():
    wav = riff(b"JUNK\0\0\0\0" * 50_000)
    error = bounded(lambda: read(wav))
    assert error.detail == "riff" and "max_chunks=10000" in str(error)


def test_chunk_running_past_the_end():
    source = CountingReader(riff(riff_chunk(b"fmt ", bytes(16)) + b"_PMX" + (0xFFFFFFF0).to_bytes(4, "little") + b"<x/>"))
    error = bounded(lambda: read_riff(source, LIMITS))
    assert error.detail == "riff" and "b'_PMX'" in str(error) and "runs past the end" in str(error)
    assert source.bytes_read < 64


def test_riff_size_past_the_end_of_the_file():
    wav = build_wav([])
    error = bounded(lambda: read(wav[:4] + (len(wav) + 100).to_bytes(4, "little") + wav[8:]))
    assert error.detail == "riff" and "runs past the end of the file" in str(error)


def test_info_subchunk_past_its_list():
    wav = riff(riff_chunk(b"LIST", b"INFO" + b"IART" + (100).to_bytes(4, "little") + b"x") + riff_chunk(b"data", b""))
    assert "b'IART'" in str(bounded(lambda: read(wav)))


@pytest.mark.parametrize("data", [b"", b"RIFF", b"RIFF\x04\0\0\0WA"], ids=["empty", "magic-only", "short-header"])
def test_truncated_header(data):
    assert "truncated" in str(bounded(lambda: read(data)))


def test_not_a_riff_file():
    assert "not a RIFF file" in str(bounded(lambda: read(b"FORM\0\0\0\x04AIFF")))


@pytest.mark.parametrize(("chunk_id", "field"), [(b"_PMX", "xmp"), (b"C2PA", "c2pa"), (b"id3 ", "id3")])
def test_every_carrier_chunk_is_returned(chunk_id, field):
    found = read(build_wav([(chunk_id, b"one"), (chunk_id, b"two")]))
    assert getattr(found, field) == [b"one", b"two"]


def test_more_carrier_chunks_than_the_bound_fail_closed():
    error = bounded(lambda: read(build_wav([(b"_PMX", b"x")] * 5), Limits(max_tag_blocks=4)))
    assert error.detail == "riff" and "max_tag_blocks=4" in str(error)


@pytest.mark.parametrize(
    ("chunk_id", "detail", "bound"),
    [(b"_PMX", "xmp", "max_xmp_bytes"), (b"C2PA", "c2pa", "max_c2pa_bytes"), (b"ID3 ", "id3", "max_tag_bytes")],
)
def test_oversized_carrier_is_refused_unread(chunk_id, detail, bound):
    # Given a 256 KiB carrier chunk and bounds of 64 KiB
    source = CountingReader(build_wav([(chunk_id, b" " * (256 << 10))]))
    limits = Limits(max_xmp_bytes=64 << 10, max_c2pa_bytes=64 << 10, max_tag_bytes=64 << 10)
    error = bounded(lambda: read_riff(source, limits))
    # Then it fails closed naming the bound, without reading the payload
    assert error.detail == detail and f"exceeds {bound}=65536" in str(error)
    assert source.bytes_read < 1024


def test_oversized_info_value_is_refused():
    wav = build_wav([info_chunk((b"ICMT", b"x" * 5000))])
    assert "max_frame_bytes=1000" in str(bounded(lambda: read(wav, Limits(max_frame_bytes=1000))))


@pytest.mark.parametrize(
    "ds64",
    [b"", bytes(20), bytes(24) + (1000).to_bytes(4, "little")],
    ids=["missing", "short", "table-past-chunk"],
)
def test_broken_ds64(ds64):
    data = b"RF64\xff\xff\xff\xffWAVE" + (riff_chunk(b"ds64", ds64) if ds64 else riff_chunk(b"fmt ", bytes(16)))
    assert bounded(lambda: read(data)).detail == "riff"


def test_every_truncation_fails_closed():
    wav = build_wav([info_chunk((b"IART", b"a")), (b"_PMX", xmp_packet(tdm="1")), (b"C2PA", b"c")], pcm=b"\0" * 64)
    for cut in range(len(wav)):
        with pytest.raises(Unreadable):
            read(wav[:cut])


def test_source_errors_propagate_untouched():
    # Given an S3 read that fails midway, Then the transient error is not turned into Unreadable
    source = CountingReader(build_wav([(b"_PMX", xmp_packet(tdm="1"))]), fail_after=30)
    with pytest.raises(SourceReadError):
        read_riff(source, LIMITS)


def test_add_riff_chunk_keeps_the_file_valid():
    wav = add_riff_chunk(build_wav([]), b"_PMX", b"odd")
    assert mutagen.File(io.BytesIO(wav)) is not None and read(wav).xmp == [b"odd"]
