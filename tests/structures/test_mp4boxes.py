"""MP4 box walk: XMP and C2PA uuid boxes, every ilst; 64-bit sizes and hostile box trees."""

from __future__ import annotations

import io

import mutagen
import pytest

from gatekeeper.errors import SourceReadError
from gatekeeper.tags.chunks import box
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.mp4boxes import C2PA_UUID, XMP_UUID, append_uuid_box, mp4_carriers, uuid_box
from gatekeeper.tags.xmp import xmp_packet
from tests.structures.helpers import CountingReader, SparseFile, bounded

LIMITS = Limits()
PACKET = xmp_packet(tdm="1")
FTYP = b"\0\0\0\x18ftypM4A \0\0\0\0M4A mp42"


def read_mp4_uuid_boxes(source, limits: Limits = LIMITS) -> dict[str, list[bytes]]:
    return mp4_carriers(source, limits).uuid


def read(data: bytes, limits: Limits = LIMITS) -> dict[str, list[bytes]]:
    return mp4_carriers(io.BytesIO(data), limits).uuid


def test_uuid_boxes_appended_to_real_m4a_files(corpus_dir):
    for name in ("has-tags.m4a", "alac.m4a", "nero-chapters.m4b", "no-tags.3g2"):
        # Given a real MP4 file, it has no carrier uuid box
        original = (corpus_dir / name).read_bytes()
        assert read(original) == {}
        # When XMP and C2PA uuid boxes (and a foreign uuid box) are appended
        data = append_uuid_box(original, "01234567-89ab-cdef-0123-456789abcdef", b"other")
        data = append_uuid_box(append_uuid_box(data, XMP_UUID, PACKET), C2PA_UUID, b"store")
        # Then mutagen still reads it, and exactly the carriers come back, keyed by lower-case uuid
        assert mutagen.File(io.BytesIO(data)) is not None
        assert read(data) == {XMP_UUID: [PACKET], C2PA_UUID: [b"store"]}


def test_upper_case_uuid_argument():
    data = FTYP + uuid_box(XMP_UUID.upper(), PACKET)
    assert read(data) == {XMP_UUID: [PACKET]}


def test_mdat_with_64bit_largesize_is_seeked_past():
    # Given a 5 GiB mdat written with a 64-bit largesize, moov after it, then the XMP box
    mdat_size = (5 << 30) + 16
    head = FTYP + (1).to_bytes(4, "big") + b"mdat" + mdat_size.to_bytes(8, "big")
    tail = b"\0\0\0\x08moov" + uuid_box(XMP_UUID, PACKET)
    total = len(FTYP) + mdat_size + len(tail)
    source = SparseFile(total, {0: head, len(FTYP) + mdat_size: tail})
    # Then the XMP box is found reading only box headers
    assert read_mp4_uuid_boxes(source) == {XMP_UUID: [PACKET]}
    assert source.bytes_read < 1024


def test_size_zero_box_extends_to_the_end():
    # Given a last box of size 0 ("to the end of the file")
    data = FTYP + b"\0\0\0\0uuid" + bytes.fromhex(XMP_UUID.replace("-", "")) + PACKET
    assert read(data) == {XMP_UUID: [PACKET]}


# ---------------------------------------------------------------- hostile input


def test_absurd_64bit_size_runs_past_the_end():
    source = CountingReader(FTYP + (1).to_bytes(4, "big") + b"mdat" + (1 << 63).to_bytes(8, "big") + bytes(64))
    error = bounded(lambda: read_mp4_uuid_boxes(source))
    assert error.detail == "mp4" and "b'mdat'" in str(error) and "runs past the end" in str(error)
    assert source.bytes_read < 64


@pytest.mark.parametrize("size", [2, 7], ids=["tiny", "below-header"])
def test_box_smaller_than_its_header(size):
    error = bounded(lambda: read(FTYP + size.to_bytes(4, "big") + b"free" + bytes(32)))
    assert "smaller than its header" in str(error)


def test_largesize_smaller_than_its_header():
    error = bounded(lambda: read(FTYP + (1).to_bytes(4, "big") + b"mdat" + (12).to_bytes(8, "big")))
    assert "size 12, smaller than its header" in str(error)


def test_stray_trailing_bytes():
    assert "stray bytes" in str(bounded(lambda: read(FTYP + b"\0\0\0")))


def test_endless_chain_of_empty_boxes():
    error = bounded(lambda: read(FTYP + b"\0\0\0\x08free" * 50_000))
    assert error.detail == "mp4" and "max_chunks=10000" in str(error)


def test_uuid_box_shorter_than_its_uuid():
    assert "shorter than its uuid" in str(bounded(lambda: read(FTYP + b"\0\0\0\x10uuid" + bytes(8))))


@pytest.mark.parametrize("box_uuid", [XMP_UUID, C2PA_UUID])
def test_every_carrier_box_is_returned(box_uuid):
    data = FTYP + uuid_box(box_uuid, b"one") + uuid_box(box_uuid, b"two")
    assert read(data) == {box_uuid: [b"one", b"two"]}


def test_every_ilst_in_every_moov_udta_and_meta_is_found():
    # Given two moov boxes, the first with two udta, one of them with a meta holding two ilst
    def meta(*children: bytes) -> bytes:
        return box(b"meta", bytes(4) + b"".join(children))

    ilst = box(b"ilst", b"")
    first = box(b"moov", box(b"udta", meta(ilst, box(b"free", b""), ilst)) + box(b"udta", meta(ilst)))
    second = box(b"moov", box(b"trak", box(b"udta", meta(ilst))))
    data = FTYP + first + second
    # Then every (meta, ilst) pair is found, in file order
    found = mp4_carriers(io.BytesIO(data), LIMITS).ilst
    assert len(found) == 4
    assert all(data[ilst_at + 4 : ilst_at + 8] == b"ilst" and data[meta_at + 4 : meta_at + 8] == b"meta"
               for meta_at, ilst_at in found)


def test_a_box_tree_past_its_bounds_fails_closed():
    # Given a moov nested deeper than max_box_depth, and a moov with more boxes in all than max_boxes
    deep = box(b"moov", b"")
    for _ in range(40):
        deep = box(b"moov", deep)
    wide = box(b"moov", box(b"udta", box(b"free", b"") * 900) * 20)
    # Then both are refused
    assert "max_box_depth" in str(bounded(lambda: read(FTYP + deep)))
    assert "max_boxes=10000" in str(bounded(lambda: read(FTYP + wide, Limits(max_boxes=10_000))))


@pytest.mark.parametrize(
    ("box_uuid", "detail", "bound"), [(XMP_UUID, "xmp", "max_xmp_bytes"), (C2PA_UUID, "c2pa", "max_c2pa_bytes")]
)
def test_oversized_carrier_is_refused_unread(box_uuid, detail, bound):
    source = CountingReader(FTYP + uuid_box(box_uuid, b" " * 300_000))
    error = bounded(lambda: read_mp4_uuid_boxes(source, Limits(max_xmp_bytes=1000, max_c2pa_bytes=1000)))
    assert error.detail == detail and f"{bound}=1000" in str(error)
    assert source.bytes_read < 256


def test_truncated_real_file(corpus_dir):
    # Given mutagen's truncated-64bit.mp4, whose mdat runs past the end of the file
    error = bounded(lambda: read((corpus_dir / "truncated-64bit.mp4").read_bytes()))
    assert error.detail == "mp4" and "b'mdat'" in str(error)


def test_every_truncation_reads_or_fails_closed():
    # Given every prefix of ftyp + free + uuid, Then a cut on a box boundary reads (nothing), any other fails closed
    data = append_uuid_box(FTYP + b"\0\0\0\x10free" + bytes(8), XMP_UUID, PACKET)
    for cut in range(len(data)):
        try:
            found = read(data[:cut])
        except Unreadable as error:
            assert error.detail == "mp4"
        else:
            assert found == {} and cut in (0, len(FTYP), len(FTYP) + 16)


def test_source_errors_propagate_untouched():
    source = CountingReader(FTYP + uuid_box(XMP_UUID, PACKET), fail_after=30)
    with pytest.raises(SourceReadError):
        read_mp4_uuid_boxes(source)
