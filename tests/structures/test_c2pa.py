"""C2PA manifest stores: training-and-data-mining assertions in every carrier; hostile JUMBF and CBOR."""

from __future__ import annotations

import io

import pytest
from mutagen.flac import FLAC, MetadataBlock
from mutagen.id3 import GEOB, ID3, PRIV

from gatekeeper.tags import extract
from gatekeeper.tags.c2pa import (
    ASSERTION_STORE_TYPE,
    CBOR_TYPE,
    FLAC_APPLICATION_ID,
    JSON_TYPE,
    STORE_TYPE,
    c2pa_bmff_payload,
    c2pa_store,
    decode_cbor,
    encode_cbor,
    is_c2pa_mime,
    jumbf_superbox,
    signals_from_c2pa,
)
from gatekeeper.tags.chunks import box
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.mp4boxes import C2PA_UUID, append_uuid_box, mp4_carriers
from gatekeeper.tags.riff import build_wav, read_riff
from tests.structures.helpers import bounded, run_tool

LIMITS = Limits()
MANIFEST_TYPE = bytes.fromhex("63326d6100110010800000aa00389b71")
TRAINING = {
    "c2pa.training-mining": {
        "entries": {
            "c2pa.ai_generative_training": {"use": "notAllowed"},
            "c2pa.ai_inference": {"use": "allowed"},
            "c2pa.ai_training": {"use": "constrained", "constraint_info": "ask first"},
            "c2pa.data_mining": {"use": "allowed"},
        }
    },
    "c2pa.actions": {"actions": [{"action": "c2pa.created"}]},
}
TRAINING_SIGNALS = [
    "c2pa:c2pa.training-mining/c2pa.ai_generative_training=notAllowed",
    "c2pa:c2pa.training-mining/c2pa.ai_inference=allowed",
    "c2pa:c2pa.training-mining/c2pa.ai_training=constrained",
    "c2pa:c2pa.training-mining/c2pa.data_mining=allowed",
]
STORE = c2pa_store(TRAINING)


def manifest(assertion_boxes: bytes, manifest_type: bytes = MANIFEST_TYPE) -> bytes:
    return jumbf_superbox(manifest_type, "urn:uuid:test", jumbf_superbox(ASSERTION_STORE_TYPE, "c2pa.assertions", assertion_boxes))


def cbor_assertion(label: str, data: object) -> bytes:
    return jumbf_superbox(CBOR_TYPE, label, box(b"cbor", encode_cbor(data)))


def store_of(*manifests: bytes) -> bytes:
    return jumbf_superbox(STORE_TYPE, "c2pa", b"".join(manifests))


# ---------------------------------------------------------------- assertions


def test_c2pa_assertion_in_cbor():
    assert signals_from_c2pa(STORE, LIMITS) == TRAINING_SIGNALS


def test_cawg_assertion_in_json():
    store = c2pa_store({"cawg.training-mining": {"entries": {"cawg.ai_training": {"use": "notAllowed"}}}}, content="json")
    assert signals_from_c2pa(store, LIMITS) == ["c2pa:cawg.training-mining/cawg.ai_training=notAllowed"]


def test_every_manifest_and_instance_suffix():
    # Given two manifests (an ingredient's and the active one), the second with a repeated assertion (`__1`)
    first = manifest(cbor_assertion("c2pa.training-mining", {"entries": {"c2pa.data_mining": {"use": "notAllowed"}}}))
    second = manifest(
        cbor_assertion("c2pa.training-mining", {"entries": {"c2pa.ai_training": {"use": "allowed"}}})
        + cbor_assertion("c2pa.training-mining__1", {"entries": {"c2pa.ai_training": {"use": "notAllowed"}}}),
        manifest_type=bytes.fromhex("6332756d00110010800000aa00389b71"),  # update manifest
    )
    # Then every assertion of every manifest is read, labels without the instance suffix
    assert signals_from_c2pa(store_of(first, second), LIMITS) == [
        "c2pa:c2pa.training-mining/c2pa.data_mining=notAllowed",
        "c2pa:c2pa.training-mining/c2pa.ai_training=allowed",
        "c2pa:c2pa.training-mining/c2pa.ai_training=notAllowed",
    ]


def test_entries_without_a_usable_use_carry_nothing():
    data = {"entries": {"c2pa.ai_training": "notAllowed", "c2pa.data_mining": {"use": 3}, "c2pa.x": {}, "c2pa.y": {"use": " "}}}
    store = store_of(manifest(cbor_assertion("c2pa.training-mining", data) + cbor_assertion("c2pa.training-mining", [1])))
    assert signals_from_c2pa(store, LIMITS) == []


def test_store_without_training_assertions():
    assert signals_from_c2pa(c2pa_store({"c2pa.actions": {"actions": []}}), LIMITS) == []


def test_cbor_decoder_reads_tags_floats_simple_values_and_indefinite_lengths():
    # Given hand-written CBOR: tag 0 text, half/single/double floats, true/false/null/undefined,
    # an indefinite-length text and array inside an indefinite-length map
    data = bytes.fromhex("bf" "61 61" "c0 63 616263" "61 62" "83 f93e00 fa3fc00000 fb3ff8000000000000" "61 63" "84 f5 f4 f6 f7"
                         "61 64" "7f 62 6869 61 21 ff" "61 65" "9f 01 20 ff" "ff")  # fmt: skip
    assert decode_cbor(data, LIMITS) == {"a": "abc", "b": [1.5, 1.5, 1.5], "c": [True, False, None, None], "d": "hi!", "e": [1, -1]}


# ---------------------------------------------------------------- carriers


def test_mp3_geob_carrier_written_with_mutagen(tmp_path):
    # Given an lame-encoded MP3 whose ID3 tag carries the store in a GEOB frame (and an unrelated PRIV)
    path = tmp_path / "c2pa.mp3"
    run_tool("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.1", str(path))
    tags = ID3()
    tags.add(GEOB(encoding=3, mime="application/c2pa", filename="c2pa", desc="c2pa manifest store", data=STORE))
    tags.add(PRIV(owner="XMP", data=b"<x/>"))
    tags.save(path)
    # Then the carrier is found and read
    with path.open("rb") as fh:
        assert extract(fh).signals == TRAINING_SIGNALS


def test_geob_c2pa_mime_types():
    assert is_c2pa_mime("application/c2pa") and is_c2pa_mime(" Application/C2PA ")
    assert is_c2pa_mime("application/x-c2pa-manifest-store")
    assert not is_c2pa_mime("image/png")


def test_wav_c2pa_chunk():
    found = read_riff(io.BytesIO(build_wav([(b"C2PA", STORE)])), LIMITS)
    assert [signals_from_c2pa(store, LIMITS) for store in found.c2pa] == [TRAINING_SIGNALS]


def test_m4a_uuid_box_with_bmff_header(corpus_dir):
    data = append_uuid_box((corpus_dir / "has-tags.m4a").read_bytes(), C2PA_UUID, c2pa_bmff_payload(STORE))
    (payload,) = mp4_carriers(io.BytesIO(data), LIMITS).uuid[C2PA_UUID]
    assert signals_from_c2pa(payload, LIMITS) == TRAINING_SIGNALS


def test_flac_application_block(corpus_dir):
    # Given a real FLAC file with the APPLICATION block of another application, it carries nothing
    data = (corpus_dir / "flac_application.flac").read_bytes()
    assert any(block.code == 2 for block in FLAC(io.BytesIO(data)).metadata_blocks)
    assert extract(io.BytesIO(data)).signals == []
    # And an APPLICATION block with id `c2pa` added to it carries the store
    audio = FLAC(buffer := io.BytesIO(data))
    block = MetadataBlock(FLAC_APPLICATION_ID + STORE)
    block.code = 2
    audio.metadata_blocks.append(block)
    buffer.seek(0)
    audio.save(buffer)
    assert extract(io.BytesIO(buffer.getvalue())).signals == TRAINING_SIGNALS


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("store", "message"),
    [
        (b"", "not a JUMBF manifest store"),
        (box(b"free", b""), "not a JUMBF manifest store"),
        (STORE + STORE, "not a JUMBF manifest store"),
        (jumbf_superbox(CBOR_TYPE, "c2pa", b""), "not a C2PA manifest store"),
        (box(b"jumb", box(b"free", b"")), "does not start with a description box"),
        (box(b"jumb", box(b"jumd", bytes(10))), "description box at offset 16 is truncated"),
        (box(b"jumb", box(b"jumd", STORE_TYPE + b"\x03c2pa")), "unterminated label"),
        (store_of(manifest(jumbf_superbox(CBOR_TYPE, "c2pa.training-mining", box(b"cbor", b"\xa0\x00")))), "stray bytes"),
        (store_of(manifest(jumbf_superbox(JSON_TYPE, "c2pa.training-mining", box(b"json", b"{")))), "JSON does not decode"),
    ],
)
def test_broken_stores_fail_closed(store, message):
    error = bounded(lambda: signals_from_c2pa(store, LIMITS))
    assert error.detail == "c2pa" and message in str(error)


def test_every_truncation_fails_closed():
    for cut in range(len(STORE)):
        with pytest.raises(Unreadable) as caught:
            signals_from_c2pa(STORE[:cut], LIMITS)
        assert caught.value.detail == "c2pa"


def test_oversized_store():
    error = bounded(lambda: signals_from_c2pa(STORE, Limits(max_c2pa_bytes=100)))
    assert "max_c2pa_bytes=100" in str(error)


def assertion_with_cbor(raw: bytes) -> bytes:
    return store_of(manifest(jumbf_superbox(CBOR_TYPE, "c2pa.training-mining", box(b"cbor", raw))))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x81" * 100_000 + b"\x00", "deeper than max_c2pa_depth=32"),  # nested definite arrays
        (b"\x9f" * 100_000, "deeper than max_c2pa_depth=32"),  # nested indefinite arrays
        (b"\xc6" * 100_000 + b"\x00", "deeper than max_c2pa_depth=32"),  # nested tags
        (b"\xa1\x61a" * 50_000 + b"\x00", "deeper than max_c2pa_depth=32"),  # nested maps
        (b"\x9b" + b"\xff" * 8, "container of 18446744073709551615 items"),  # 2^64-1 items claimed
        (b"\xbb" + b"\x00\x00\x00\x01\x00\x00\x00\x00" + b"\x00", "container of 4294967296 items"),
        (b"\x5b" + b"\x7f" + b"\xff" * 7, "runs past the end"),  # 2^63 byte string claimed
        (b"\x9f\x01\x02", "runs past the end"),  # indefinite array without break
        (b"\x5f\x41a\x61b\xff", "malformed indefinite-length CBOR string"),
        (b"\xa1\x80\x00", "map key is a container"),
        (b"\x62\xff\xfe", "not UTF-8"),
        (b"\x1c", "malformed CBOR head"),
        (b"\xff", "break outside"),
    ],
)
def test_hostile_cbor_fails_closed(raw, message):
    error = bounded(lambda: signals_from_c2pa(assertion_with_cbor(raw), LIMITS), mib=32)
    assert error.detail == "c2pa" and message in str(error)


def test_json_recursion_bomb_fails_closed():
    store = store_of(manifest(jumbf_superbox(JSON_TYPE, "cawg.training-mining", box(b"json", b"[" * 200_000))))
    assert "JSON does not decode" in str(bounded(lambda: signals_from_c2pa(store, LIMITS), mib=64))


def test_too_many_entries_fail_closed():
    entries = {f"c2pa.e{i}": {"use": "allowed"} for i in range(100)}
    store = store_of(manifest(cbor_assertion("c2pa.training-mining", {"entries": entries})))
    error = bounded(lambda: signals_from_c2pa(store, LIMITS))
    assert error.detail == "max_signals" and "more than max_signals=64" in str(error)


def test_deeply_nested_jumbf_below_the_assertions_is_never_walked():
    # Given 20,000 nested superboxes inside an assertion (after its content box)
    nested = b""
    for _ in range(20_000):
        nested = box(b"jumb", nested)
    content = box(b"cbor", encode_cbor({"entries": {"c2pa.ai_training": {"use": "notAllowed"}}}))
    assertion = jumbf_superbox(CBOR_TYPE, "c2pa.training-mining", content + nested)
    # Then the assertion is still read (the levels below the assertions are never walked)
    assert signals_from_c2pa(store_of(manifest(assertion)), LIMITS) == ["c2pa:c2pa.training-mining/c2pa.ai_training=notAllowed"]


def test_box_flood_in_the_assertion_store():
    store = store_of(manifest(box(b"free", b"") * 20_000))
    assert "max_chunks=10000" in str(bounded(lambda: signals_from_c2pa(store, LIMITS)))
