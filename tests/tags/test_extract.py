"""`gatekeeper.tags.extract`: rights and signals per container, from content, fail closed."""

from __future__ import annotations

import io

import pytest
from mutagen.apev2 import APEv2
from mutagen.asf import ASF
from mutagen.flac import FLAC, MetadataBlock
from mutagen.id3 import GEOB, ID3, PRIV, TPUB, TXXX
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggvorbis import OggVorbis

from gatekeeper.errors import SourceReadError
from gatekeeper.samples import FORMATS, make_audio
from gatekeeper.tags import extract
from gatekeeper.tags.c2pa import C2PA_MIME_TYPES, c2pa_bmff_payload, c2pa_store
from gatekeeper.tags.limits import Limits
from gatekeeper.tags.mp4boxes import C2PA_UUID, append_uuid_box
from gatekeeper.tags.riff import add_riff_chunk
from gatekeeper.tags.xmp import xmp_packet

RIGHTS = {
    "title": "Song",
    "artist": ["One", "Two"],
    "label": "Acme Records",
    "copyright": "(c) 2024 Acme",
    "isrc": ["USAC12400001", "USAC12400002"],
    "upc": "0123456789012",
    "license": "https://example.com/licence",
}
XMP_CARRIERS = ("mp3", "mp4", "wav", "aiff")
TRAINING_MINING = {"entries": {"c2pa.ai_generative_training": {"use": "notAllowed"}}}
C2PA_SIGNAL = "c2pa:c2pa.training-mining/c2pa.ai_generative_training=notAllowed"


def _extract(data: bytes, limits: Limits | None = None):
    return extract(io.BytesIO(data), limits=limits)


def _edited(data: bytes, kind, edit) -> bytes:
    """`data` after `edit(tags)` was applied and saved by mutagen (an independent writer of each tag format)."""
    buffer = io.BytesIO(data)
    audio = kind(buffer)
    if audio.tags is None:
        audio.add_tags()
    edit(audio)
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_rights_field_is_read_with_all_its_values(fmt: str) -> None:
    # Given a file of each container carrying every rights field, two of them twice
    extraction = _extract(make_audio(fmt, tags=RIGHTS))
    # Then the format is named from content and every value is there in order
    assert extraction.format == fmt and extraction.unreadable is None
    expected = {name: [v] if isinstance(v, str) else v for name, v in RIGHTS.items()}
    assert extraction.rights == expected


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("name", "value"),
    [("TDM_RESERVATION", "1"), ("tdm-reservation", "1"), ("AI_TRAINING", "no"), ("Genai-Training", "Not Allowed")],
)
def test_text_signal_tags_are_found_in_every_container(fmt: str, name: str, value: str) -> None:
    # Given a text signal tag under any spelling of its name
    extraction = _extract(make_audio(fmt, tags={name: value}))
    # Then it is one signal, its name upper-cased as found
    assert extraction.signals == [f"tag:{name.upper()}={value}"]
    assert extraction.rights == {}


def test_names_that_are_neither_rights_nor_signals_are_ignored() -> None:
    # Given free-form tags the SPEC does not name
    extraction = _extract(make_audio("flac", tags={"MOOD": "calm", "AI_TRAININGX": "no", "COMMENT": "hi"}))
    # Then nothing is recorded
    assert extraction.rights == {} and extraction.signals == []


@pytest.mark.parametrize("fmt", XMP_CARRIERS)
def test_xmp_reservations_are_read_from_each_spec_carrier(fmt: str) -> None:
    # Given an XMP packet with both reservation properties in the container's carrier
    data = make_audio(fmt, tags={"title": "x"}, xmp=xmp_packet(dmi="DMI-PROHIBITED-GENAIMLTRAINING", tdm="1"))
    # Then both signals are reported beside the rights
    extraction = _extract(data)
    assert extraction.signals == ["xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING", "xmp:tdm:reservation=1"]
    assert extraction.rights == {"title": ["x"]}


@pytest.mark.parametrize("fmt", XMP_CARRIERS)
@pytest.mark.parametrize(
    "packet",
    [
        b"<x:xmpmeta><unclosed>",
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    ],
    ids=["malformed", "entity"],
)
def test_an_unsafe_or_broken_xmp_packet_makes_the_file_unreadable(fmt: str, packet: bytes) -> None:
    # Given an XMP packet that cannot be parsed safely, next to readable rights
    extraction = _extract(make_audio(fmt, tags={"title": "x"}, xmp=packet))
    # Then the file is UNREADABLE:xmp (a reservation may hide in it) and nothing else is kept
    assert (extraction.format, extraction.unreadable) == (fmt, "xmp")
    assert extraction.rights == {} and extraction.signals == []


def test_an_xmp_priv_frame_is_told_apart_from_other_priv_frames() -> None:
    # Given an MP3 with a foreign PRIV frame carrying XML-looking junk beside the XMP one
    def edit(audio):
        audio.tags.add(TXXX(encoding=3, desc="LABEL", text=["Second Label"]))
        audio.tags.add(PRIV(owner="WM/Junk", data=b"<x"))

    data = _edited(make_audio("mp3", xmp=xmp_packet(tdm="1")), MP3, edit)
    # Then only the XMP-owned PRIV is parsed
    extraction = _extract(data)
    assert extraction.signals == ["xmp:tdm:reservation=1"]
    assert extraction.rights == {"label": ["Second Label"]}


def test_id3_native_and_free_form_label_values_are_both_kept() -> None:
    # Given an MP3 whose label is in TPUB and in TXXX:LABEL / TXXX:PUBLISHER / TXXX:ORGANIZATION
    def edit(audio):
        audio.tags.add(TPUB(encoding=3, text=["Native"]))
        for desc, text in (("LABEL", "Free"), ("publisher", "Pub"), ("Organization", "Org"), ("UPC", "0123456789012")):
            audio.tags.add(TXXX(encoding=3, desc=desc, text=[text]))

    extraction = _extract(_edited(make_audio("mp3"), MP3, edit))
    # Then every value is a label, in file order, and UPC is read from its free-form slot
    assert sorted(extraction.rights["label"]) == ["Free", "Native", "Org", "Pub"]
    assert extraction.rights["upc"] == ["0123456789012"]


def test_mp4_publisher_atom_and_any_freeform_mean_are_read() -> None:
    # Given an M4A with ©pub and freeform atoms under two different means
    def edit(audio):
        audio.tags["\xa9pub"] = ["Atom Publisher"]
        audio.tags["----:com.example:label"] = [MP4FreeForm(b"Other Mean")]
        audio.tags["----:com.apple.iTunes:ai-training"] = [MP4FreeForm(b"optout")]

    extraction = _extract(_edited(make_audio("mp4"), MP4, edit))
    # Then the names match case-insensitively whatever the mean
    assert sorted(extraction.rights["label"]) == ["Atom Publisher", "Other Mean"]
    assert extraction.signals == ["tag:AI-TRAINING=optout"]


def test_vorbis_field_names_are_case_insensitive() -> None:
    # Given Vorbis comments written by mutagen in unusual case
    def edit(audio):
        audio["Organization"] = ["Org"]
        audio["copyright"] = ["(c) Someone"]
        audio["upc"] = ["0123456789012"]

    extraction = _extract(_edited(make_audio("ogg_vorbis"), OggVorbis, edit))
    # Then each maps to its rights field
    assert extraction.rights == {"label": ["Org"], "copyright": ["(c) Someone"], "upc": ["0123456789012"]}


def test_flac_with_a_prepended_id3v2_tag_reads_both_tag_blocks() -> None:
    # Given a FLAC file with Vorbis comments and an ID3v2 tag glued before "fLaC"
    id3 = ID3()
    id3.add(TPUB(encoding=3, text=["Id3 Label"]))
    id3.add(TXXX(encoding=3, desc="TDM_RESERVATION", text=["1"]))
    prefix = io.BytesIO()
    id3.save(prefix)
    data = prefix.getvalue() + make_audio("flac", tags={"label": "Vorbis Label"})
    # Then it is still FLAC, and the ID3 rights and signal come with the Vorbis ones, in file order
    extraction = _extract(data)
    assert extraction.format == "flac"
    assert extraction.rights == {"label": ["Id3 Label", "Vorbis Label"]}
    assert extraction.signals == ["tag:TDM_RESERVATION=1"]


def test_an_id3v1_only_mp3_has_its_title_and_artist(corpus_dir) -> None:
    # Given mutagen's ID3v1-only test file
    with open(corpus_dir / "silence-44-s-v1.mp3", "rb") as fh:
        extraction = extract(fh)
    # Then the ID3v1 fields are read
    assert extraction.rights == {"title": ["Silence"], "artist": ["piman"]}


def test_apev2_keys_on_a_wavpack_file_are_read(corpus_dir) -> None:
    # Given mutagen's WavPack test file with Label, ISRC and a signal added in APEv2
    data = (corpus_dir / "silence-44-s.wv").read_bytes()

    def edit(tags):
        tags["Label"] = "Ape Label"
        tags["Isrc"] = ["USAC12400001", "USAC12400009"]
        tags["GENAI_TRAINING"] = "deny"

    buffer = io.BytesIO(data)
    tags = APEv2(buffer)
    edit(tags)
    tags.save(buffer)
    extraction = _extract(buffer.getvalue())
    # Then all values are read, the multi-value item split
    assert extraction.format == "wavpack"
    assert extraction.rights["label"] == ["Ape Label"]
    assert extraction.rights["isrc"] == ["USAC12400001", "USAC12400009"]
    assert extraction.signals == ["tag:GENAI_TRAINING=deny"]


def test_asf_attributes_with_and_without_wm_prefix_are_read(corpus_dir) -> None:
    # Given mutagen's WMA test file with publisher, ISRC, barcode, licence and a DWORD signal
    def edit(audio):
        audio.tags["WM/Publisher"] = ["Wm Label"]
        audio.tags["WM/ISRC"] = ["USAC12400001"]
        audio.tags["WM/Barcode"] = ["0123456789012"]
        audio.tags["License"] = ["https://example.com/l"]
        audio.tags["Copyright"] = ["(c) Wm"]
        audio.tags["AI_TRAINING"] = [0]

    extraction = _extract(_edited((corpus_dir / "silence-1.wma").read_bytes(), ASF, edit))
    # Then they map like every other container's, and the numeric value is text
    assert extraction.format == "asf"
    assert extraction.rights == {
        "title": ["test"],
        "label": ["Wm Label"],
        "isrc": ["USAC12400001"],
        "upc": ["0123456789012"],
        "license": ["https://example.com/l"],
        "copyright": ["(c) Wm"],
    }
    assert extraction.signals == ["tag:AI_TRAINING=0"]


def test_wav_riff_info_rights_are_read_beside_the_id3_chunk() -> None:
    # Given a WAV with LIST/INFO items and an ID3 chunk
    data = make_audio(
        "wav", tags={"artist": "Id3 Artist"}, info={"INAM": "Info Title", "IART": "Info Artist", "ICOP": "(c) Info"}
    )
    # Then both sources are merged
    assert _extract(data).rights == {
        "artist": ["Id3 Artist", "Info Artist"],
        "title": ["Info Title"],
        "copyright": ["(c) Info"],
    }


def test_aiff_text_chunks_are_read() -> None:
    # Given an AIFF with NAME, AUTH and (c) chunks appended
    from gatekeeper.tags.aiff import add_aiff_chunk

    data = make_audio("aiff")
    for chunk_id, text in ((b"NAME", b"Aiff Name"), (b"AUTH", b"Aiff Author"), (b"(c) ", b"(c) Aiff")):
        data = add_aiff_chunk(data, chunk_id, text)
    # Then they are title, artist and copyright
    assert _extract(data).rights == {"title": ["Aiff Name"], "artist": ["Aiff Author"], "copyright": ["(c) Aiff"]}


def test_c2pa_training_mining_assertions_are_read_from_each_carrier() -> None:
    # Given the same manifest store in an MP3 GEOB frame, an MP4 uuid box, a WAV chunk and a FLAC APPLICATION block
    store = c2pa_store({"c2pa.training-mining": TRAINING_MINING})
    mime = sorted(C2PA_MIME_TYPES)[0]
    geob = GEOB(encoding=3, mime=mime, filename="c2pa", desc="c2pa manifest store", data=store)
    mp3 = _edited(make_audio("mp3"), MP3, lambda audio: audio.tags.add(geob))
    mp4 = append_uuid_box(make_audio("mp4"), C2PA_UUID, c2pa_bmff_payload(store))
    wav = add_riff_chunk(make_audio("wav"), b"C2PA", store)

    def add_application(audio):
        block = MetadataBlock(b"c2pa" + store)
        block.code = 2
        audio.metadata_blocks.append(block)

    flac = _edited(make_audio("flac"), FLAC, add_application)
    # Then each reports the assertion's entry as a signal
    for data in (mp3, mp4, wav, flac):
        assert _extract(data).signals == [C2PA_SIGNAL]


def test_a_broken_c2pa_store_makes_the_file_unreadable() -> None:
    # Given a WAV whose C2PA chunk is not a JUMBF manifest store
    extraction = _extract(add_riff_chunk(make_audio("wav"), b"C2PA", b"\x00\x00\x00\x10jumbjunkjunk"))
    # Then it fails closed with the carrier's detail
    assert (extraction.format, extraction.unreadable) == ("wav", "c2pa")


@pytest.mark.parametrize(
    ("data", "detail"),
    [(b"", "format"), (b"not audio at all" * 10, "format"), (b"\x89PNG\r\n\x1a\n" + bytes(200), "format")],
    ids=["empty", "text", "png"],
)
def test_content_that_is_not_audio_is_unreadable_format(data: bytes, detail: str) -> None:
    # Given bytes no audio container claims
    extraction = _extract(data)
    # Then the verdict input is UNREADABLE:format with nothing else
    assert extraction.unreadable == detail and extraction.format is None and extraction.rights == {}


def test_the_container_is_identified_from_content_not_the_name() -> None:
    # Given FLAC content in a file object whose name says .mp3
    buffer = io.BytesIO(make_audio("flac", tags={"title": "x"}))
    buffer.name = "upload.mp3"
    # Then it is read as FLAC
    assert extract(buffer).format == "flac"


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (make_audio("mp3")[:4000], "mp3"),
        (bytes.fromhex("fff15080017ffc01182007") * 30, "aac"),
        (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00", "smf"),
    ],
    ids=["untagged-mp3", "adts", "midi"],
)
def test_streams_mutagen_scores_zero_without_a_name_are_still_identified(data: bytes, fmt: str) -> None:
    # Given an untagged MPEG stream, an ADTS stream and a MIDI file
    extraction = _extract(data)
    # Then each is identified from its first bytes and read
    assert (extraction.format, extraction.unreadable) == (fmt, None)


def test_a_broken_id3_tag_in_an_mp3_is_unreadable_id3() -> None:
    # Given an MP3 whose ID3v2 header claims an unsupported version
    data = bytearray(make_audio("mp3", tags={"title": "x"}))
    data[3] = 9
    extraction = _extract(bytes(data))
    # Then the detail names the tag block and the container is still named
    assert (extraction.format, extraction.unreadable) == ("mp3", "id3")


def test_a_truncated_flac_is_unreadable_with_its_container_name() -> None:
    # Given a FLAC cut inside its metadata
    extraction = _extract(make_audio("flac", tags=RIGHTS)[:60])
    # Then it is UNREADABLE:flac
    assert (extraction.format, extraction.unreadable) == ("flac", "flac")


class FailingSource(io.BytesIO):
    """A file object whose reads fail like a throttled S3 ranged GET after `ok_reads` reads."""

    def __init__(self, data: bytes, ok_reads: int) -> None:
        super().__init__(data)
        self.ok_reads = ok_reads

    def read(self, size: int | None = -1) -> bytes:
        if self.ok_reads <= 0:
            raise SourceReadError("SlowDown")
        self.ok_reads -= 1
        return super().read(size)


@pytest.mark.parametrize("ok_reads", [0, 1, 3, 6])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_source_read_error_propagates_whatever_reader_it_hits(fmt: str, ok_reads: int) -> None:
    # Given a source that fails after a few reads (inside mutagen or our own walkers)
    source = FailingSource(
        make_audio(fmt, tags=RIGHTS, xmp=xmp_packet(tdm="1") if fmt in XMP_CARRIERS else None), ok_reads
    )
    # Then extract raises the SourceReadError (the event is retried), never a verdict
    with pytest.raises(SourceReadError):
        extract(source)


def test_a_source_read_error_wrapped_by_mutagen_still_propagates() -> None:
    # Given a source whose failure mutagen re-raises as its own error (IOError -> MutagenError)
    class Wrapped(FailingSource):
        def read(self, size: int | None = -1) -> bytes:
            try:
                return super().read(size)
            except SourceReadError as exc:
                raise OSError("read failed") from exc

    # Then the SourceReadError in the chain is what comes out
    with pytest.raises(SourceReadError):
        extract(Wrapped(make_audio("flac"), 2))
