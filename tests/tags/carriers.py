"""Writers that place a reservation in one carrier of a file, and nowhere else.

Each writer takes a file (any container it applies to) and returns it with one more
tag block, chunk, box or stream holding the given text tag, XMP packet or C2PA
store. They are independent of the readers under test: the tag blocks are built by
mutagen (ID3, APEv2, Vorbis comments, ASF, MP4 tags) or byte by byte after the
format's specification, never by `gatekeeper.tags`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from mutagen.apev2 import APEv2
from mutagen.asf import ASF
from mutagen.flac import FLAC, MetadataBlock, VCFLACDict
from mutagen.id3 import GEOB, ID3, PRIV, TXXX, Frame
from mutagen.ogg import OggPage

from gatekeeper.samples import make_audio
from gatekeeper.tags.c2pa import FLAC_APPLICATION_ID, c2pa_bmff_payload
from gatekeeper.tags.chunks import box, iter_boxes
from gatekeeper.tags.limits import Limits
from gatekeeper.tags.mp4boxes import C2PA_UUID, XMP_UUID, append_uuid_box
from gatekeeper.tags.riff import add_riff_chunk
from gatekeeper.tags.aiff import add_aiff_chunk, add_aiff_xmp


@dataclass(frozen=True)
class Reservation:
    """What is written: a text tag (name, value), an XMP packet or a C2PA store, and the signal it reads as."""

    signal: str
    reserves: frozenset[str]
    text: tuple[str, str] | None = None
    xmp: bytes | None = None
    c2pa: bytes | None = None


# ---------------------------------------------------------------- ID3


def id3v2(frames: list[Frame], *, version: int = 4, footer: bool = False, padding: int = 0) -> bytes:
    """An ID3v2 tag written by mutagen (v2.3 or v2.4), optionally with an ID3v2.4 footer (3DI)."""
    tag = ID3()
    for frame in frames:
        tag.add(frame)
    out = io.BytesIO()
    tag.save(out, v2_version=version, padding=lambda _info: padding)
    data = out.getvalue()
    if not footer:
        return data
    header = bytearray(data[:10])
    header[5] |= 0x10
    return bytes(header) + data[10:] + b"3DI" + bytes(header[3:])


def id3_frames(reservation: Reservation) -> list[Frame]:
    """The frames that carry a reservation in ID3v2: TXXX, PRIV owner XMP, or GEOB application/c2pa."""
    if reservation.text is not None:
        name, value = reservation.text
        return [TXXX(encoding=3, desc=name, text=[value])]
    if reservation.xmp is not None:
        return [PRIV(owner="XMP", data=reservation.xmp)]
    assert reservation.c2pa is not None
    return [GEOB(encoding=3, mime="application/c2pa", filename="c2pa", desc="c2pa", data=reservation.c2pa)]


def leading_id3(data: bytes, reservation: Reservation) -> bytes:
    """One more ID3v2 tag before everything (a second one when the file already starts with one)."""
    return id3v2(id3_frames(reservation)) + data


def appended_id3(data: bytes, reservation: Reservation, *, then_id3v1: bool = False) -> bytes:
    """An ID3v2.4 tag with its footer appended at the end, optionally followed by an ID3v1 tag."""
    tail = id3v2(id3_frames(reservation), footer=True)
    v1 = b"TAG" + b"Title".ljust(30, b"\0") + bytes(94) + b"\xff" if then_id3v1 else b""
    return data + tail + v1


# ---------------------------------------------------------------- APEv2, Vorbis comments, ASF


def trailing_apev2(data: bytes, reservation: Reservation) -> bytes:
    """An APEv2 item holding the text tag, saved by mutagen (into the file's APEv2, or a new one at the end)."""
    assert reservation.text is not None
    buffer = io.BytesIO(data)
    try:
        tags = APEv2(buffer)
    except Exception:  # noqa: BLE001 - no APEv2 tag yet: mutagen starts one
        tags = APEv2()
    name, value = reservation.text
    tags[name] = value
    buffer.seek(0)
    tags.save(buffer)
    return buffer.getvalue()


def _with_flac_block(flac: bytes, block: MetadataBlock | VCFLACDict) -> bytes:
    """`flac` with one more metadata block, saved by mutagen."""
    buffer = io.BytesIO(flac)
    audio = FLAC(buffer)
    audio.metadata_blocks.append(block)
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()


def second_vorbis_comment(flac: bytes, reservation: Reservation) -> bytes:
    """A FLAC file with one more VORBIS_COMMENT block holding the text tag."""
    assert reservation.text is not None
    comment = VCFLACDict()
    comment.append(reservation.text)
    return _with_flac_block(flac, comment)


def flac_application_c2pa(flac: bytes, reservation: Reservation) -> bytes:
    assert reservation.c2pa is not None
    block = MetadataBlock(FLAC_APPLICATION_ID + reservation.c2pa)
    block.code = 2  # APPLICATION
    return _with_flac_block(flac, block)


def asf_attribute(data: bytes, reservation: Reservation) -> bytes:
    assert reservation.text is not None
    buffer = io.BytesIO(data)
    audio = ASF(buffer)
    name, value = reservation.text
    audio.tags[name] = [value]
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- Ogg


def ogg_pages(data: bytes) -> list[OggPage]:
    stream, pages = io.BytesIO(data), []
    while stream.tell() < len(data):
        pages.append(OggPage(stream))
    return pages


def reserialed(data: bytes, serial: int) -> bytes:
    """An Ogg file with every page moved to another logical stream serial number (checksums rewritten)."""
    out = []
    for page in ogg_pages(data):
        page.serial = serial
        out.append(page.write())
    return b"".join(out)


def chained_link(ogg: bytes, link: bytes) -> bytes:
    """A chained Ogg file: `ogg`, then `link` as a further link with a serial number of its own."""
    serials = {page.serial for page in ogg_pages(ogg)}
    serial = next(s for s in range(0x1234567, 0x1234567 + len(serials) + 1) if s not in serials)
    return ogg + reserialed(link, serial)


def chained_vorbis(ogg: bytes, reservation: Reservation) -> bytes:
    """An Ogg file with a Vorbis link chained after it, whose comment header holds the text tag."""
    assert reservation.text is not None
    name, value = reservation.text
    return chained_link(ogg, make_audio("ogg_vorbis", tags={name: value}))


# ---------------------------------------------------------------- MP4


def _meta_with_ilst(reservation: Reservation) -> bytes:
    assert reservation.text is not None
    name, value = reservation.text
    data = box(b"data", (1).to_bytes(4, "big") + bytes(4) + value.encode("utf-8"))
    item = box(b"----", box(b"mean", bytes(4) + b"com.apple.iTunes") + box(b"name", bytes(4) + name.encode()) + data)
    handler = box(b"hdlr", bytes(8) + b"mdirappl" + bytes(9))
    return box(b"meta", bytes(4) + handler + box(b"ilst", item))


def second_moov(mp4: bytes, reservation: Reservation) -> bytes:
    """An MP4 file with a second top-level moov appended, whose udta/meta/ilst holds the text tag."""
    return mp4 + box(b"moov", box(b"udta", _meta_with_ilst(reservation)))


def second_udta(mp4: bytes, reservation: Reservation) -> bytes:
    """An MP4 file whose (last) moov gains a second udta holding the text tag (moov must follow the media data)."""
    moov = [b for b in iter_boxes(io.BytesIO(mp4), 0, len(mp4), limits=Limits(), what="mp4") if b.id == b"moov"][-1]
    assert moov.end == len(mp4), "the moov must be the last box, so no chunk offset moves"
    body = mp4[moov.offset : moov.end] + box(b"udta", _meta_with_ilst(reservation))
    return mp4[: moov.start] + box(b"moov", body)


def mp4_uuid(mp4: bytes, reservation: Reservation) -> bytes:
    if reservation.xmp is not None:
        return append_uuid_box(mp4, XMP_UUID, reservation.xmp)
    assert reservation.c2pa is not None
    return append_uuid_box(mp4, C2PA_UUID, c2pa_bmff_payload(reservation.c2pa))


# ---------------------------------------------------------------- WAV, AIFF


def wav_chunk(wav: bytes, reservation: Reservation) -> bytes:
    """One more chunk in a WAV: an `id3 ` chunk for a text tag, `_PMX` for XMP, `C2PA` for a store."""
    if reservation.text is not None:
        return add_riff_chunk(wav, b"id3 ", id3v2(id3_frames(reservation)))
    if reservation.xmp is not None:
        return add_riff_chunk(wav, b"_PMX", reservation.xmp)
    assert reservation.c2pa is not None
    return add_riff_chunk(wav, b"C2PA", reservation.c2pa)


def aiff_chunk(aiff: bytes, reservation: Reservation) -> bytes:
    """One more chunk in an AIFF: an `ID3 ` chunk for a text tag or a store, `APPL`/`XMP ` for XMP."""
    if reservation.xmp is not None:
        return add_aiff_xmp(aiff, reservation.xmp)
    return add_aiff_chunk(aiff, b"ID3 ", id3v2(id3_frames(reservation)))


Writer = Callable[[bytes, Reservation], bytes]

#: Carrier name -> (writer, the kinds of reservation it can hold: "text", "xmp", "c2pa").
CARRIERS: dict[str, tuple[Writer, frozenset[str]]] = {
    "leading-id3v2": (leading_id3, frozenset({"text", "xmp", "c2pa"})),
    "appended-id3v2": (appended_id3, frozenset({"text", "xmp", "c2pa"})),
    "appended-id3v2+id3v1": (lambda data, r: appended_id3(data, r, then_id3v1=True), frozenset({"text"})),
    "trailing-apev2": (trailing_apev2, frozenset({"text"})),
    "second-vorbis-comment": (second_vorbis_comment, frozenset({"text"})),
    "chained-ogg-link": (chained_vorbis, frozenset({"text"})),
    "flac-application": (flac_application_c2pa, frozenset({"c2pa"})),
    "asf-attribute": (asf_attribute, frozenset({"text"})),
    "second-moov": (second_moov, frozenset({"text"})),
    "mp4-uuid": (mp4_uuid, frozenset({"xmp", "c2pa"})),
    "wav-chunk": (wav_chunk, frozenset({"text", "xmp", "c2pa"})),
    "aiff-chunk": (aiff_chunk, frozenset({"text", "xmp", "c2pa"})),
}

#: Format -> the carriers of CARRIERS its container can hold beside the outer tags every file can.
FORMAT_CARRIERS: dict[str, tuple[str, ...]] = {
    "flac": ("second-vorbis-comment", "flac-application"),
    "asf": ("asf-attribute",),
    **{fmt: ("chained-ogg-link",) for fmt in ("ogg_vorbis", "opus", "ogg_flac", "ogg_speex", "ogg_theora")},
    "mp4": ("second-moov", "mp4-uuid"),
    "wav": ("wav-chunk",),
    "aiff": ("aiff-chunk",),
    **{fmt: ("trailing-apev2",) for fmt in ("mp3", "trueaudio", "ape", "wavpack", "musepack", "tak", "optimfrog")},
}
OUTER_CARRIERS: tuple[str, ...] = ("leading-id3v2", "appended-id3v2", "appended-id3v2+id3v1")


def kind_of(reservation: Reservation) -> str:
    return "text" if reservation.text is not None else "xmp" if reservation.xmp is not None else "c2pa"
