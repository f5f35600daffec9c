"""Small, valid audio files synthesized in pure Python (plus mutagen for tag blocks).

Used by `gatekeeper demo`, the tests and the benchmarks, so it ships in the Lambda
layer and calls no external tool. Every file carries silence in a real codec frame
layout (MPEG-1 Layer III, FLAC verbatim frames, Vorbis, Opus/CELT, AAC-LC, PCM) that
mutagen identifies and decoders such as ffmpeg play.

`tags` uses generic names mapped to each container's native or free-form slot
(SPEC "Embedded tags"):

==========  ============  =========  ===============================
generic     ID3v2         Vorbis     MP4
==========  ============  =========  ===============================
title       TIT2          TITLE      ``©nam``
artist      TPE1          ARTIST     ``©ART``
label       TPUB          LABEL      ``----:com.apple.iTunes:LABEL``
copyright   TCOP          COPYRIGHT  ``cprt``
isrc        TSRC          ISRC       ``----:com.apple.iTunes:ISRC``
upc         TXXX:BARCODE  BARCODE    ``----:com.apple.iTunes:BARCODE``
license     WCOP          LICENSE    ``----:com.apple.iTunes:LICENSE``
other NAME  TXXX:NAME     NAME       ``----:com.apple.iTunes:NAME``
==========  ============  =========  ===============================

WAV and AIFF carry `tags` in an ID3v2 chunk after the audio (as most taggers do);
WAV additionally takes RIFF ``LIST/INFO`` items through `info`. `xmp` is embedded
where SPEC looks for it: ID3v2 ``PRIV`` owner ``XMP`` (MP3), a top-level MP4
``uuid`` box, the WAV ``_PMX`` chunk and the AIFF ``APPL`` chunk with signature
``XMP ``.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from os import PathLike
from typing import BinaryIO, TypedDict, Unpack

from mutagen._vorbis import VComment
from mutagen.id3 import ID3, PRIV, TCOP, TIT2, TPE1, TPUB, TSRC, TXXX, WCOP, Frame
from mutagen.ogg import OggPage

from gatekeeper.tags.aiff import XMP_SIGNATURE
from gatekeeper.tags.chunks import box, iff_chunk
from gatekeeper.tags.mp4boxes import XMP_UUID, uuid_box
from gatekeeper.tags.riff import info_list, riff_chunk

TagValues = str | list[str]
TagMap = Mapping[str, TagValues]

#: Formats `make_audio` can synthesize (names as `Extraction.format` reports them).
FORMATS: tuple[str, ...] = ("mp3", "flac", "ogg_vorbis", "opus", "mp4", "wav", "aiff")

_VENDOR = "gatekeeper samples"
_RATE = 44100
_SECOND_FRAMES = 8  # minimal length, in codec frames, of a file without size_hint
_PAGE_BODY = 4096  # libogg closes an Ogg page once its body reaches this


class SampleOptions(TypedDict, total=False):
    """Keyword options of `make_audio` / `write_audio`."""

    tags: TagMap | None  # generic or free names -> value(s), see the module doc
    xmp: bytes | None  # an XMP packet for the container's SPEC carrier
    padding_bytes: int  # padding in the tag block (ID3, FLAC PADDING, MP4 free)
    size_hint: int | None  # pad the audio payload with silence to about this many bytes
    info: Mapping[str, str] | None  # RIFF LIST/INFO items (WAV only)
    moov_at_end: bool  # put the moov atom after the mdat (MP4 only)
    page_bytes: int  # close an audio page once its body reaches this (Ogg only; libogg: 4096)


def make_audio(fmt: str, **options: Unpack[SampleOptions]) -> bytes:
    """A complete file of `fmt` as bytes (see the module doc for the tag mapping)."""
    out = io.BytesIO()
    write_audio(out, fmt, **options)
    return out.getvalue()


def write_audio(target: str | PathLike[str] | BinaryIO, fmt: str, **options: Unpack[SampleOptions]) -> int:
    """Stream a file of `fmt` to a path or binary file; returns the bytes written.

    The audio payload is written in chunks, so `size_hint` may ask for files far
    larger than memory (1 GiB benchmarks).
    """
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unsupported sample format {fmt!r}; choose one of {', '.join(FORMATS)}")
    spec = _Spec(
        tags=_normalize_tags(options.get("tags")),
        xmp=options.get("xmp"),
        padding=max(0, options.get("padding_bytes", 0)),
        size_hint=options.get("size_hint"),
        info=dict(options.get("info") or {}),
        moov_at_end=options.get("moov_at_end", False),
        page_bytes=options.get("page_bytes", _PAGE_BODY),
    )
    if spec.info and fmt != "wav":
        raise ValueError("info (RIFF INFO) applies to wav only")
    if spec.moov_at_end and fmt != "mp4":
        raise ValueError("moov_at_end applies to mp4 only")
    if "page_bytes" in options and fmt not in ("ogg_vorbis", "opus"):
        raise ValueError("page_bytes applies to ogg_vorbis and opus only")
    if isinstance(target, (str, PathLike)):
        with open(target, "wb") as fh:
            return _count(fh, writer, spec)
    return _count(target, writer, spec)


# ---------------------------------------------------------------- common


@dataclass(frozen=True)
class _Spec:
    tags: list[tuple[str, str]]  # (generic or free name, value), in order
    xmp: bytes | None
    padding: int
    size_hint: int | None
    info: dict[str, str]
    moov_at_end: bool
    page_bytes: int

    def frames(self, frame_bytes: int, overhead: int = 0) -> int:
        """How many codec frames of `frame_bytes` make the file about `size_hint` long."""
        if not self.size_hint:
            return _SECOND_FRAMES
        return max(_SECOND_FRAMES, (self.size_hint - overhead) // frame_bytes)


def _normalize_tags(tags: TagMap | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, values in (tags or {}).items():
        for value in [values] if isinstance(values, str) else list(values):
            pairs.append((name, str(value)))
    return pairs


def _count(out: BinaryIO, writer: Callable[[BinaryIO, _Spec], None], spec: _Spec) -> int:
    start = out.tell()
    writer(out, spec)
    return out.tell() - start


def _write_repeated(out: BinaryIO, unit: bytes, count: int, batch: int = 1 << 20) -> None:
    """Write `unit` `count` times in batches of about `batch` bytes."""
    per_batch = max(1, batch // max(1, len(unit)))
    block = unit * per_batch
    full, rest = divmod(count, per_batch)
    for _ in range(full):
        out.write(block)
    out.write(unit * rest)


def _id3_bytes(spec: _Spec) -> bytes:
    """An ID3v2.4 tag holding `spec.tags` (and the XMP packet as PRIV owner XMP)."""
    tag = ID3()
    for name, value in spec.tags:
        _add_id3(tag, name, value)
    if spec.xmp is not None:
        tag.add(PRIV(owner="XMP", data=spec.xmp))
    out = io.BytesIO()
    tag.save(out, v1=0, v2_version=4, padding=lambda _info: spec.padding)
    return out.getvalue()


_ID3_TEXT: dict[str, type[Frame]] = {"title": TIT2, "artist": TPE1, "label": TPUB, "copyright": TCOP, "isrc": TSRC}


def _add_id3(tag: ID3, name: str, value: str) -> None:
    key = name.lower()
    if key in _ID3_TEXT:
        frame_id = _ID3_TEXT[key].__name__
        existing = tag.get(frame_id)
        if existing is not None:
            existing.text.append(value)
        else:
            tag.add(_ID3_TEXT[key](encoding=3, text=[value]))
    elif key == "license":
        tag.add(WCOP(url=value))
    else:
        desc = "BARCODE" if key == "upc" else name
        existing = tag.get(f"TXXX:{desc}")
        if existing is not None:
            existing.text.append(value)
        else:
            tag.add(TXXX(encoding=3, desc=desc, text=[value]))


_VORBIS_NAMES = {
    "title": "TITLE",
    "artist": "ARTIST",
    "label": "LABEL",
    "copyright": "COPYRIGHT",
    "isrc": "ISRC",
    "upc": "BARCODE",
    "license": "LICENSE",
}


def _vorbis_comment(spec: _Spec, *, framing: bool) -> bytes:
    comment = VComment()
    comment.vendor = _VENDOR
    for name, value in spec.tags:
        comment.append((_VORBIS_NAMES.get(name.lower(), name), value))
    return comment.write(framing=framing)


def _reject_xmp(fmt: str, spec: _Spec) -> None:
    if spec.xmp is not None:
        raise ValueError(f"{fmt} has no XMP carrier in SPEC")


# ---------------------------------------------------------------- MP3


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono, no CRC: 417-byte frames whose zero
# side information and main data decode to silence.
_MP3_FRAME = b"\xff\xfb\x90\xc0" + bytes(417 - 4)


def _write_mp3(out: BinaryIO, spec: _Spec) -> None:
    tag = _id3_bytes(spec) if spec.tags or spec.xmp is not None or spec.padding else b""
    out.write(tag)
    _write_repeated(out, _MP3_FRAME, spec.frames(len(_MP3_FRAME), len(tag)))


# ---------------------------------------------------------------- FLAC

_FLAC_BLOCK = 4096  # samples per frame (16-bit mono, verbatim subframe)
_FLAC_PAYLOAD = 1 + 2 * _FLAC_BLOCK  # subframe header + samples


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC16 = _crc16_table()


def _crc16(data: bytes, crc: int = 0) -> int:
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _crc16_zero_run(length: int) -> list[int]:
    """Images of the 16 unit CRC states after `length` zero bytes.

    CRC-16 over zero bytes is linear in the starting state, so the CRC of a frame
    whose payload is `length` zero bytes is the XOR of these images for the bits
    of the header's CRC: no per-byte work for megabytes of silence.
    """
    return [_crc16(bytes(length), 1 << bit) for bit in range(16)]


def _utf8_number(value: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number (up to 31 bits)."""
    if value < 0x80:
        return bytes([value])
    for length, lead in ((2, 0xC0), (3, 0xE0), (4, 0xF0), (5, 0xF8), (6, 0xFC)):
        if value < 1 << (5 * length + 1):
            tail = [0x80 | ((value >> (6 * i)) & 0x3F) for i in range(length - 2, -1, -1)]
            return bytes([lead | (value >> (6 * (length - 1))), *tail])
    raise ValueError("frame number too large")


class _FlacFrames:
    """Verbatim silent FLAC frames, numbered, with valid CRC-8 and CRC-16."""

    def __init__(self) -> None:
        self._zero_run = _crc16_zero_run(_FLAC_PAYLOAD)

    def frame(self, number: int) -> bytes:
        # sync + fixed blocking, block size 4096, 44.1 kHz, mono, 16 bit.
        header = b"\xff\xf8\xc9\x08" + _utf8_number(number)
        header += bytes([_crc8(header)])
        state = _crc16(header)
        crc = 0
        for bit in range(16):
            if state >> bit & 1:
                crc ^= self._zero_run[bit]
        # The payload is a VERBATIM subframe header (0b0_000001_0) then zero samples.
        return header + b"\x02" + bytes(_FLAC_PAYLOAD - 1) + struct.pack(">H", crc)

    def frames(self, count: int) -> Iterator[bytes]:
        for number in range(count):
            yield self.frame(number)


def _flac_block(kind: int, payload: bytes, *, last: bool) -> bytes:
    return bytes([kind | (0x80 if last else 0)]) + len(payload).to_bytes(3, "big") + payload


def _flac_streaminfo(total_samples: int) -> bytes:
    frame_size = len(_FlacFrames().frame(0))
    packed = (_RATE << 44) | (0 << 41) | (15 << 36) | total_samples  # rate, mono, 16 bits
    return (
        struct.pack(">HH", _FLAC_BLOCK, _FLAC_BLOCK)
        + frame_size.to_bytes(3, "big")
        + (frame_size + 4).to_bytes(3, "big")
        + packed.to_bytes(8, "big")
        + bytes(16)
    )


def _write_flac(out: BinaryIO, spec: _Spec) -> None:
    _reject_xmp("flac", spec)
    count = spec.frames(_FLAC_PAYLOAD + 8)
    blocks = [(0, _flac_streaminfo(count * _FLAC_BLOCK)), (4, _vorbis_comment(spec, framing=False))]
    if spec.padding:
        blocks.append((1, bytes(spec.padding)))
    out.write(b"fLaC")
    for index, (kind, payload) in enumerate(blocks):
        out.write(_flac_block(kind, payload, last=index == len(blocks) - 1))
    for frame in _FlacFrames().frames(count):
        out.write(frame)


# ---------------------------------------------------------------- Ogg


class _BitWriter:
    """Least-significant-bit-first packing, as Vorbis headers use."""

    def __init__(self) -> None:
        self._value = 0
        self._bits = 0

    def put(self, value: int, bits: int) -> _BitWriter:
        self._value |= (value & ((1 << bits) - 1)) << self._bits
        self._bits += bits
        return self

    def bytes(self) -> bytes:
        return self._value.to_bytes((self._bits + 7) // 8, "little")


def _vorbis_setup() -> bytes:
    """The smallest valid Vorbis setup header: one codebook, floor 1, residue 0, one short mode."""
    bits = _BitWriter()
    bits.put(0, 8)  # codebook count - 1
    bits.put(0x564342, 24).put(1, 16).put(2, 24)  # sync, dimensions, entries
    bits.put(0, 1).put(0, 1).put(0, 5).put(0, 5)  # not ordered, not sparse, two lengths of 1
    bits.put(0, 4)  # no lookup table
    bits.put(0, 6).put(0, 16)  # one time-domain transform (placeholder)
    bits.put(0, 6).put(1, 16)  # one floor, type 1
    bits.put(0, 5).put(0, 2).put(7, 4)  # no partitions, multiplier 1, range bits 7
    bits.put(0, 6).put(0, 16)  # one residue, type 0
    bits.put(0, 24).put(0, 24).put(0, 24).put(0, 6).put(0, 8).put(0, 3).put(0, 1)
    bits.put(0, 6).put(0, 16).put(0, 1).put(0, 1).put(0, 2)  # one mapping, one submap, no coupling
    bits.put(0, 8).put(0, 8).put(0, 8)  # submap: time, floor 0, residue 0
    bits.put(0, 6).put(0, 1).put(0, 16).put(0, 16).put(0, 8)  # one mode: short block, mapping 0
    bits.put(1, 1)  # framing
    return b"\x05vorbis" + bits.bytes()


def _vorbis_identification() -> bytes:
    # version 0, mono, 44.1 kHz, bitrates unset, blocksizes 256/2048, framing.
    return b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 1, _RATE, 0, 0, 0, 0xB8, 1)


@dataclass(frozen=True)
class _OggCodec:
    headers: list[bytes]  # header packets; the first goes alone on the BOS page
    packet: bytes  # one silent audio packet
    samples: Callable[[int], int]  # granule position after n audio packets


def _write_ogg(out: BinaryIO, codec: _OggCodec, spec: _Spec) -> None:
    serial = 0x5A4D504C
    pages = [_page([codec.headers[0]], serial, 0, 0, first=True)]
    for page in OggPage.from_packets(codec.headers[1:], sequence=1):
        page.serial = serial
        pages.append(page)
    for page in pages:
        out.write(page.write())
    count = spec.frames(len(codec.packet))
    # By default pages as libogg's ogg_stream_pageout cuts them: closed once the
    # body reaches 4 KiB (or at 255 lacing values), as real encoders write (the Opus
    # files of warzone2100-music: at most 10.7 KiB per page, last pages <= 4.1 KiB).
    lacing = len(codec.packet) // 255 + 1
    per_page = max(1, min(255 // lacing, -(-spec.page_bytes // len(codec.packet))))
    sequence = len(pages)
    done = 0
    while done < count:
        batch = min(per_page, count - done)
        done += batch
        page = _page([codec.packet] * batch, serial, sequence, codec.samples(done), last=done == count)
        out.write(page.write())
        sequence += 1


def _page(
    packets: list[bytes], serial: int, sequence: int, position: int, *, first: bool = False, last: bool = False
) -> OggPage:
    page = OggPage()
    page.packets = packets
    page.serial = serial
    page.sequence = sequence
    page.position = position
    page.first = first
    page.last = last
    return page


# A silent short Vorbis block is one byte (audio packet, floor unused); the rest
# pads the packet so size_hint does not need millions of packets.
_VORBIS_PACKET = bytes(1024)


def _write_ogg_vorbis(out: BinaryIO, spec: _Spec) -> None:
    _reject_xmp("ogg_vorbis", spec)
    headers = [_vorbis_identification(), b"\x03vorbis" + _vorbis_comment(spec, framing=True), _vorbis_setup()]
    _write_ogg(out, _OggCodec(headers, _VORBIS_PACKET, lambda n: max(0, n - 1) * 128), spec)


_OPUS_PRESKIP = 312


def _opus_packet(size: int) -> bytes:
    """A 20 ms CELT silence frame in a code-3 packet padded to `size` bytes.

    Padding length is coded as k bytes of 255 (254 each) then one byte r (0-254).
    """
    frame = b"\xff\xfe"
    room = size - 2 - len(frame)  # length bytes + padding
    k = (room - 1) // 255
    r = room - 1 - 255 * k
    return b"\xfb\x41" + b"\xff" * k + bytes([r]) + frame + bytes(254 * k + r)


def _write_opus(out: BinaryIO, spec: _Spec) -> None:
    _reject_xmp("opus", spec)
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _OPUS_PRESKIP, 48000, 0, 0)
    tags = b"OpusTags" + _vorbis_comment(spec, framing=False)
    _write_ogg(out, _OggCodec([head, tags], _opus_packet(1024), lambda n: _OPUS_PRESKIP + 960 * n), spec)


# ---------------------------------------------------------------- MP4


def _box(kind: bytes, *payload: bytes) -> bytes:
    return box(kind, b"".join(payload))


def _full_box(kind: bytes, *payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags), *payload)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_AAC_SILENCE = b"\x01\x18\x20\x07"  # one AAC-LC mono raw frame of silence (1024 samples)
_AAC_FRAME_BYTES = 512  # the silent frame padded, so size_hint needs fewer samples
_MP4_NAMES = {"title": b"\xa9nam", "artist": b"\xa9ART", "copyright": b"cprt"}
_MP4_FREEFORM = {"label": "LABEL", "isrc": "ISRC", "upc": "BARCODE", "license": "LICENSE"}


def _esds() -> bytes:
    def descriptor(tag: int, body: bytes) -> bytes:
        return bytes([tag, len(body)]) + body

    config = descriptor(0x05, b"\x12\x08")  # AAC-LC, 44.1 kHz, mono
    decoder = descriptor(0x04, b"\x40\x15" + b"\x00\x00\x00" + struct.pack(">II", 128000, 128000) + config)
    return _full_box(b"esds", descriptor(0x03, b"\x00\x01\x00" + decoder + descriptor(0x06, b"\x02")))


def _ilst(spec: _Spec) -> bytes:
    items: dict[bytes, list[bytes]] = {}
    for name, value in spec.tags:
        key = name.lower()
        if key in _MP4_NAMES:
            head = _MP4_NAMES[key]
            items.setdefault(head, []).append(_mp4_data(value))
            continue
        free = _MP4_FREEFORM.get(key, name)
        head = b"----" + free.encode("utf-8")
        if head not in items:
            items[head] = [_full_box(b"mean", b"com.apple.iTunes"), _full_box(b"name", free.encode("utf-8"))]
        items[head].append(_mp4_data(value))
    return _box(b"ilst", *(_box(head[:4], *atoms) for head, atoms in items.items()))


def _mp4_data(value: str) -> bytes:
    return _box(b"data", struct.pack(">II", 1, 0), value.encode("utf-8"))


def _mp4_moov(spec: _Spec, samples: int, payload_offset: int) -> bytes:
    duration = samples * 1024
    mvhd = _full_box(
        b"mvhd",
        struct.pack(">IIII", 0, 0, _RATE, duration),
        struct.pack(">IH", 0x10000, 0x100),
        bytes(10),
        _MATRIX,
        bytes(24),
        struct.pack(">I", 2),
    )
    tkhd = _full_box(
        b"tkhd",
        struct.pack(">IIIII", 0, 0, 1, 0, duration),
        bytes(8),
        struct.pack(">HHHH", 0, 0, 0x100, 0),
        _MATRIX,
        bytes(8),
        flags=7,
    )
    mdhd = _full_box(b"mdhd", struct.pack(">IIII", 0, 0, _RATE, duration), struct.pack(">HH", 0x55C4, 0))
    hdlr = _full_box(b"hdlr", struct.pack(">I", 0), b"soun", bytes(12), b"SoundHandler\x00")
    mp4a = _box(
        b"mp4a", bytes(6), struct.pack(">H", 1), bytes(8), struct.pack(">HHHHI", 1, 16, 0, 0, _RATE << 16), _esds()
    )
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", struct.pack(">I", 1), mp4a),
        _full_box(b"stts", struct.pack(">III", 1, samples, 1024)),
        _full_box(b"stsc", struct.pack(">IIII", 1, 1, samples, 1)),
        _full_box(b"stsz", struct.pack(">II", _AAC_FRAME_BYTES, samples)),
        _full_box(b"stco", struct.pack(">II", 1, payload_offset)),
    )
    dinf = _box(b"dinf", _full_box(b"dref", struct.pack(">I", 1), _full_box(b"url ", flags=1)))
    minf = _box(b"minf", _full_box(b"smhd", struct.pack(">HH", 0, 0)), dinf, stbl)
    trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf))
    meta_hdlr = _full_box(b"hdlr", struct.pack(">I", 0), b"mdir", b"appl", bytes(8), b"\x00")
    meta_children = [meta_hdlr, _ilst(spec)]
    if spec.padding:
        meta_children.append(_box(b"free", bytes(spec.padding)))
    udta = _box(b"udta", _full_box(b"meta", *meta_children))
    return _box(b"moov", mvhd, trak, udta)


def _write_mp4(out: BinaryIO, spec: _Spec) -> None:
    samples = spec.frames(_AAC_FRAME_BYTES)
    head = _box(b"ftyp", b"M4A ", struct.pack(">I", 0), b"M4A mp42isom\x00\x00\x00\x00")
    if spec.xmp is not None:
        head += uuid_box(XMP_UUID, spec.xmp)
    mdat_header = struct.pack(">I", 8 + samples * _AAC_FRAME_BYTES) + b"mdat"
    moov_size = len(_mp4_moov(spec, samples, 0))
    if spec.moov_at_end:
        out.write(head + mdat_header)
        _write_repeated(out, _AAC_SILENCE.ljust(_AAC_FRAME_BYTES, b"\x00"), samples)
        out.write(_mp4_moov(spec, samples, len(head) + len(mdat_header)))
    else:
        out.write(head + _mp4_moov(spec, samples, len(head) + moov_size + len(mdat_header)) + mdat_header)
        _write_repeated(out, _AAC_SILENCE.ljust(_AAC_FRAME_BYTES, b"\x00"), samples)


# ---------------------------------------------------------------- WAV / AIFF

_PCM_BLOCK = bytes(4096)  # 16-bit mono silence written per step


def _write_wav(out: BinaryIO, spec: _Spec) -> None:
    blocks = spec.frames(len(_PCM_BLOCK))
    data_bytes = blocks * len(_PCM_BLOCK)
    trailer = b""
    if spec.info:
        trailer += info_list(spec.info)
    if spec.xmp is not None:
        trailer += riff_chunk(b"_PMX", spec.xmp)
    if spec.tags or spec.padding:
        trailer += riff_chunk(b"id3 ", _id3_bytes(replace(spec, xmp=None)))
    fmt = riff_chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, _RATE, _RATE * 2, 2, 16))
    riff_size = 4 + len(fmt) + 8 + data_bytes + len(trailer)
    out.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + fmt + b"data" + struct.pack("<I", data_bytes))
    _write_repeated(out, _PCM_BLOCK, blocks)
    out.write(trailer)


def _extended80(value: int) -> bytes:
    """An integer sample rate as the IEEE 754 80-bit extended float AIFF uses."""
    exponent = value.bit_length() - 1
    return struct.pack(">HQ", 16383 + exponent, value << (63 - exponent))


def _write_aiff(out: BinaryIO, spec: _Spec) -> None:
    blocks = spec.frames(len(_PCM_BLOCK))
    data_bytes = blocks * len(_PCM_BLOCK)
    comm = iff_chunk(b"COMM", struct.pack(">HIH", 1, data_bytes // 2, 16) + _extended80(_RATE), "big")
    trailer = b""
    if spec.xmp is not None:
        trailer += iff_chunk(b"APPL", XMP_SIGNATURE + spec.xmp, "big")
    if spec.tags or spec.padding:
        trailer += iff_chunk(b"ID3 ", _id3_bytes(replace(spec, xmp=None)), "big")
    form_size = 4 + len(comm) + 16 + data_bytes + len(trailer)
    out.write(b"FORM" + struct.pack(">I", form_size) + b"AIFF" + comm)
    out.write(b"SSND" + struct.pack(">III", 8 + data_bytes, 0, 0))
    _write_repeated(out, _PCM_BLOCK, blocks)
    out.write(trailer)


_WRITERS: dict[str, Callable[[BinaryIO, _Spec], None]] = {
    "mp3": _write_mp3,
    "flac": _write_flac,
    "ogg_vorbis": _write_ogg_vorbis,
    "opus": _write_opus,
    "mp4": _write_mp4,
    "wav": _write_wav,
    "aiff": _write_aiff,
}
