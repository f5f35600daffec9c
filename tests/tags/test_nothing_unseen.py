"""Issue 10, items 1-3: a reservation placed *only* in a spot a reader used to miss is never a grant.

Each test hides the one reserving value of a file where the gatekeeper once failed
to see it — past a count or length bound, in a carrier no reader read, or in a
value a reader misread or dropped — and checks the file's purposes are not
eligible: the signal is found, or the file fails closed as UNREADABLE.
"""

from __future__ import annotations

import datetime as dt
import io
import struct

import pytest
from mutagen.id3 import ID3, TCOP, TPUB, TSRC, TXXX
from mutagen.mp4 import MP4, AtomDataType, MP4FreeForm

from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import PURPOSES, DecisionInputs, Extraction, PlatformMetadata
from gatekeeper.samples import make_audio
from gatekeeper.tags import extract
from gatekeeper.tags.c2pa import c2pa_store
from gatekeeper.tags.riff import add_riff_chunk
from gatekeeper.tags.xmp import xmp_packet
from tests.conftest import CORPUS
from tests.tags import carriers
from tests.tags.carriers import Reservation, id3v2

POLICY = load_policy_file(DEFAULT_POLICY_PATH)
#: Accepted current terms with the genai opt-in: absent any reservation, both purposes are eligible.
METADATA = PlatformMetadata(uploader_id="u-1", terms_version="2025-05-14", genai_opt_in=True)
TDM = Reservation("tag:TDM_RESERVATION=1", frozenset(PURPOSES), text=("TDM_RESERVATION", "1"))


def _extract(data: bytes) -> Extraction:
    return extract(io.BytesIO(data))


def eligible(extraction: Extraction) -> set[str]:
    verdict = decide(DecisionInputs(METADATA, extraction), POLICY, dt.date(2026, 1, 15))
    return {purpose for purpose in PURPOSES if verdict.eligible[purpose]}


def test_without_a_reservation_both_purposes_are_eligible() -> None:
    # Given the plain sample files every test below starts from
    # Then nothing but the reservation could make them ineligible
    for fmt in ("mp3", "flac", "ogg_vorbis", "mp4", "wav", "aiff"):
        assert eligible(_extract(make_audio(fmt, tags={"title": "Plain"}))) == set(PURPOSES)


# ---------------------------------------------------------------- item 1: bounds that kept the first part


def _id3_mp3(*frames) -> bytes:
    return id3v2(list(frames)) + make_audio("mp3")


BOUNDS = {
    "AI_TRAINING: 64 other values, then no": (
        make_audio("flac", tags={"AI_TRAINING": [f"yes {i}" for i in range(64)] + ["no"]}),
        "max_signals",
    ),
    "XMP bag: 64 unspecified codes, then the prohibiting one": (
        make_audio(
            "mp3",
            xmp=xmp_packet(
                extra="<rdf:Description xmlns:plus='http://ns.useplus.org/ldf/xmp/1.0/'><plus:DataMining><rdf:Bag>"
                + "".join(f"<rdf:li>DMI-UNSPECIFIED-{i}</rdf:li>" for i in range(64))
                + "<rdf:li>DMI-PROHIBITED-AIMLTRAINING</rdf:li></rdf:Bag></plus:DataMining></rdf:Description>"
            ),
        ),
        "max_signals",
    ),
    "C2PA: 64 allowed entries, then notAllowed": (
        add_riff_chunk(
            make_audio("wav"),
            b"C2PA",
            c2pa_store(
                {
                    "c2pa.training-mining": {
                        "entries": {
                            **{f"c2pa.x{i}": {"use": "allowed"} for i in range(64)},
                            "c2pa.ai_training": {"use": "notAllowed"},
                        }
                    }
                }
            ),
        ),
        "max_signals",
    ),
    "AI_TRAINING: 5,000 spaces, then no": (make_audio("ogg_vorbis", tags={"AI_TRAINING": " " * 5000 + "no"}), "max_text_value_chars"),
    "DataMining: 5,000 characters before the code": (
        make_audio("mp4", xmp=xmp_packet(dmi="http://example.com/" + "a" * 5000 + "/DMI-PROHIBITED-AIMLTRAINING")),
        "max_text_value_chars",
    ),
    "TPUB: 64 labels, then the carve-out's": (
        _id3_mp3(TPUB(encoding=3, text=[f"Label {i}" for i in range(64)] + ["Acme Records"])),
        "max_values_per_field",
    ),
    "ISRC: the 65th": (
        _id3_mp3(TSRC(encoding=3, text=[f"GBAAA24{i:05d}" for i in range(64)] + ["USAC12400001"])),
        "max_values_per_field",
    ),
    "TCOP: a long copyright ending in the label": (
        _id3_mp3(TCOP(encoding=3, text=["(c) " + "x" * 5000 + " Acme Records"])),
        "max_text_value_chars",
    ),
}


@pytest.mark.parametrize("case", sorted(BOUNDS))
def test_a_bound_exceeded_fails_closed_whole(case: str) -> None:
    # Given a file whose reserving value (or carve-out match) lies just past a count or length bound
    data, bound = BOUNDS[case]
    extraction = _extract(data)
    # Then the file is UNREADABLE with the bound's name, and no purpose is eligible
    assert extraction.unreadable == bound
    assert eligible(extraction) == set()


# ---------------------------------------------------------------- item 2: carriers never read


def _found(data: bytes, reservation: Reservation = TDM, fmt: str | None = None) -> Extraction:
    extraction = _extract(data)
    assert extraction.unreadable is None, extraction
    if fmt is not None:
        assert extraction.format == fmt
    assert reservation.signal in extraction.signals
    assert eligible(extraction) == set(PURPOSES) - reservation.reserves
    return extraction


@pytest.mark.parametrize("then_id3v1", [False, True], ids=["at-the-end", "before-id3v1"])
def test_an_appended_id3v2_with_its_footer_is_read(then_id3v1: bool) -> None:
    # Given an untagged MP3 with an ID3v2.4 tag appended at its end (3DI footer)
    data = carriers.appended_id3(make_audio("mp3"), TDM, then_id3v1=then_id3v1)
    # Then its reservation is found
    _found(data, fmt="mp3")


def test_an_appended_id3v2_is_read_after_a_flac_stream_too() -> None:
    _found(carriers.appended_id3(make_audio("flac", tags={"title": "x"}), TDM), fmt="flac")


def test_the_second_link_of_a_chained_ogg_is_read() -> None:
    # Given a chained Ogg file: an untagged Vorbis link, then a link whose comment holds the reservation
    data = carriers.chained_vorbis(make_audio("ogg_vorbis", tags={"title": "First"}), TDM)
    # Then the second link's comment header is read too
    extraction = _found(data, fmt="ogg_vorbis")
    assert extraction.rights["title"] == ["First"]


def test_a_link_far_into_a_large_chained_ogg_is_found_by_reading_little() -> None:
    # Given a 4 MB first link, then two more links; the reservation is in the last one only
    first = make_audio("ogg_vorbis", tags={"title": "One"}, size_hint=4_000_000)
    middle = make_audio("opus", tags={"title": "Two"})
    data = carriers.chained_link(carriers.chained_link(first, middle), make_audio("ogg_vorbis", tags=dict([TDM.text])))
    source = CountingFile(data)
    extraction = extract(source)
    # Then all three links are read, by bisection rather than a walk of the whole file
    assert extraction.unreadable is None and TDM.signal in extraction.signals
    assert extraction.rights["title"] == ["One", "Two"]
    assert source.bytes_read < 400_000


def test_a_second_vorbis_comment_block_in_flac_is_read() -> None:
    _found(carriers.second_vorbis_comment(make_audio("flac", tags={"title": "x"}), TDM), fmt="flac")


@pytest.mark.parametrize("fmt", ["aiff", "wav"])
def test_a_second_id3_chunk_is_read(fmt: str) -> None:
    # Given a WAV or AIFF with an ID3 chunk (a title), then a second one holding the reservation
    data = carriers.wav_chunk if fmt == "wav" else carriers.aiff_chunk
    extraction = _found(data(make_audio(fmt, tags={"title": "First"}), TDM), fmt=fmt)
    assert extraction.rights["title"] == ["First"]


def test_a_second_moov_is_read() -> None:
    _found(carriers.second_moov(make_audio("mp4", tags={"title": "x"}), TDM), fmt="mp4")


def test_a_second_udta_in_the_moov_is_read() -> None:
    data = carriers.second_udta(make_audio("mp4", tags={"title": "x"}, moov_at_end=True), TDM)
    assert MP4(io.BytesIO(data)).tags["\xa9nam"] == ["x"]  # mutagen still reads the first
    _found(data, fmt="mp4")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("click.mpc", "musepack"),
        ("sv8_header.mpc", "musepack"),
        ("silence-44-s.wv", "wavpack"),
        ("mac-399.ape", "ape"),
        ("has-tags.tak", "tak"),
        ("empty.ofr", "optimfrog"),
        ("empty.tta", "trueaudio"),
        ("silence-44-s.ac3", "ac3"),
        ("empty.aac", "aac"),
    ],
)
def test_an_id3v2_before_any_stream_is_read(name: str, fmt: str) -> None:
    # Given a real file of a container whose own reader ignores ID3, with an ID3v2 tag glued before it
    data = carriers.leading_id3((CORPUS / name).read_bytes(), TDM)
    # Then the container is still identified, and the tag's reservation is found
    _found(data, fmt=fmt)


def test_two_id3v2_tags_in_a_row_before_an_mp3_both_count() -> None:
    # Given an MP3 with two ID3v2 tags before the audio: a label in the first, the reservation in the second
    data = id3v2([TPUB(encoding=3, text=["Acme Records"])]) + id3v2([TXXX(encoding=3, desc="TDM_RESERVATION", text=["1"])])
    data += make_audio("mp3")
    # Then it is an MP3 (not TrueAudio), and both tags count: the carve-out and the reservation
    extraction = _found(data, fmt="mp3")
    assert extraction.rights["label"] == ["Acme Records"]


# ---------------------------------------------------------------- item 3: values misread or dropped


def _mp4_with(name: str, value: MP4FreeForm) -> bytes:
    buffer = io.BytesIO(make_audio("mp4"))
    audio = MP4(buffer)
    if audio.tags is None:
        audio.add_tags()
    audio.tags[f"----:com.apple.iTunes:{name}"] = [value]
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()


def test_an_mp4_freeform_value_in_utf16_is_read_as_text() -> None:
    data = _mp4_with("AI_TRAINING", MP4FreeForm("no".encode("utf-16-be"), dataformat=AtomDataType.UTF16))
    _found(data, Reservation("tag:AI_TRAINING=no", frozenset(PURPOSES)), fmt="mp4")


def test_an_mp4_freeform_integer_is_read_as_its_number() -> None:
    data = _mp4_with("TDM_RESERVATION", MP4FreeForm(b"\x01", dataformat=AtomDataType.INTEGER))
    _found(data, fmt="mp4")


def test_an_mp4_freeform_value_that_is_not_text_fails_closed() -> None:
    extraction = _extract(_mp4_with("TDM_RESERVATION", MP4FreeForm(b"\x89PNG", dataformat=AtomDataType.PNG)))
    assert (extraction.format, extraction.unreadable) == ("mp4", "mp4")
    assert eligible(extraction) == set()


def _raw_id3(*frames: bytes) -> bytes:
    """An ID3v2.4 tag of raw frames (id, flags, payload), written byte by byte."""
    body = b""
    for frame_id, flags, payload in frames:
        size = len(payload)
        syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
        body += frame_id + syncsafe + struct.pack(">H", flags) + payload
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + body


TXXX_TDM = b"\x03TDM_RESERVATION\x001"
JUNK_FRAMES = {
    "bad encoding byte": [(b"TXXX", 0, b"\x09TDM_RESERVATION\x001")],
    "bogus compression flag": [(b"TXXX", 0x0008 | 0x0001, b"\x00\x00\x00\x10" + TXXX_TDM)],
    "invalid UTF-8": [(b"TXXX", 0, b"\x03TDM_RESERVATION\x00\xff\xfe1")],
    "a frame running past the tag's end swallows it": [(b"TPUB", 0, b"\x03Label"), (b"TXXX", 0, TXXX_TDM)],
}


@pytest.mark.parametrize("case", sorted(JUNK_FRAMES))
def test_a_txxx_frame_mutagen_would_drop_fails_closed(case: str) -> None:
    # Given an MP3 whose only reservation is a TXXX frame mutagen discards (or never reaches)
    tag = bytearray(_raw_id3(*JUNK_FRAMES[case]))
    if case.startswith("a frame running past"):
        tag[10 + 4 : 10 + 8] = bytes([0, 0, 0, 0x7F])  # TPUB claims 127 bytes: past the TXXX and the tag's end
    data = bytes(tag) + make_audio("mp3")
    # Then mutagen indeed has no reservation...
    assert not ID3(io.BytesIO(data)).getall("TXXX")
    # ...and the gatekeeper fails closed on the tag instead
    extraction = _extract(data)
    assert (extraction.format, extraction.unreadable) == ("mp3", "id3")
    assert eligible(extraction) == set()


def test_a_junk_txxx_frame_of_a_name_nothing_reads_is_ignored() -> None:
    # Given a TXXX frame of another name with invalid UTF-8, beside a readable label
    data = _raw_id3((b"TXXX", 0, b"\x03MOOD\x00\xff\xfe"), (b"TPUB", 0, b"\x03Label")) + make_audio("mp3")
    # Then the file is read (a broken mood hides no reservation)
    extraction = _extract(data)
    assert extraction.unreadable is None and extraction.rights == {"label": ["Label"]}


def test_a_compressed_frame_is_read_and_a_zip_bomb_is_refused() -> None:
    import zlib

    # Given a zlib-compressed TXXX (ID3v2.4 compression + data length indicator)
    packed = zlib.compress(TXXX_TDM)
    data = _raw_id3((b"TXXX", 0x0008 | 0x0001, len(TXXX_TDM).to_bytes(4, "big") + packed)) + make_audio("mp3")
    # Then it is inflated and read
    _found(data, fmt="mp3")
    # And a frame inflating past max_frame_bytes (5 MB of zeros from 5 kB) fails closed
    bomb = zlib.compress(b"\x03TDM_RESERVATION\x00" + bytes(5 << 20))
    data = _raw_id3((b"TXXX", 0x0008 | 0x0001, (5 << 20).to_bytes(4, "big") + bomb)) + make_audio("mp3")
    assert _extract(data).unreadable == "max_frame_bytes"


class CountingFile(io.BytesIO):
    """Bytes read from a file object, as the ranged S3 reader would fetch them."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data
