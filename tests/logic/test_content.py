"""Rule 2's content clauses (SPEC "Decision"): CONTENT_MATCH and CONTENT_UNCHECKED, and the policy's `content_id`."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_text, read_policy_document, validate_policy_errors
from gatekeeper.models import ContentCheck, ContentMatch, DecisionInputs, Extraction, PlatformMetadata

ON = dt.date(2026, 1, 15)
META = PlatformMetadata(uploader_id="u-1", terms_version="2025-05-14", genai_opt_in=True)
GRANTED = ["GRANTED_BY_TERMS:2025-05-14"]


def policy(content_id: object = None, *, genai_only_carve_out: bool = False):
    document = json.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    if content_id is not None:
        document["content_id"] = content_id
    if genai_only_carve_out:
        document["carve_outs"].append(
            {"id": "beta-music", "purposes": ["genai_training"], "match": {"partners": ["beta-feed"]}}
        )
    return load_policy_text(json.dumps(document))


def inputs(content: ContentCheck | None) -> DecisionInputs:
    return DecisionInputs(META, Extraction(format="mp3"), content)


def match(carve_out: str, reference: str = "ref-1") -> ContentMatch:
    return ContentMatch(reference_id=reference, carve_out=carve_out, score=40)


def test_without_content_id_a_match_says_nothing() -> None:
    # Given a policy without content_id, and inputs that carry a match anyway
    verdict = decide(inputs(ContentCheck(b"fp", matches=(match("acme-records"),))), policy(), ON)
    # Then both purposes are granted by the terms: no audio was read, no content rule applies
    assert verdict.reasons == {"ai_training": GRANTED, "genai_training": GRANTED}


def test_a_match_of_a_carve_out_denies_its_purposes() -> None:
    # Given content_id on and a match of a reference of the genai-only carve-out
    verdict = decide(inputs(ContentCheck(b"fp", matches=(match("beta-music", "beta/track.flac"),))),
                     policy({}, genai_only_carve_out=True), ON)  # fmt: skip
    # Then genai_training is denied with CONTENT_MATCH:<carve-out>/<reference>, ai_training is not
    assert verdict.reasons == {
        "ai_training": GRANTED,
        "genai_training": ["CONTENT_MATCH:beta-music/beta/track.flac"],
    }


def test_a_match_of_a_carve_out_the_policy_no_longer_lists_denies_every_purpose() -> None:
    verdict = decide(inputs(ContentCheck(b"fp", matches=(match("gone-label", "old"),))), policy({"required": True}), ON)
    assert verdict.eligible == {"ai_training": False, "genai_training": False}
    assert verdict.reasons["ai_training"] == ["CONTENT_MATCH:gone-label/old"]


def test_several_matches_each_add_their_reason_after_the_metadata_carve_outs() -> None:
    meta = PlatformMetadata(uploader_id="u-1", terms_version="2025-05-14", partner_id="acme-feed", genai_opt_in=True)
    content = ContentCheck(b"fp", matches=(match("acme-records", "a"), match("acme-records", "b"), match("acme-records", "a")))
    verdict = decide(DecisionInputs(meta, Extraction(format="mp3"), content), policy({}), ON)
    assert verdict.reasons["ai_training"] == [
        "CARVE_OUT:acme-records",
        "CONTENT_MATCH:acme-records/a",
        "CONTENT_MATCH:acme-records/b",
    ]


@pytest.mark.parametrize(("required", "denied"), [(True, True), (False, False)])
def test_unchecked_audio_denies_only_when_required(required: bool, denied: bool) -> None:
    # Given audio that could not be checked (too short)
    verdict = decide(inputs(ContentCheck(None, unchecked="too-short")), policy({"required": required}), ON)
    # Then CONTENT_UNCHECKED denies every purpose when required, and nothing otherwise
    expected = ["CONTENT_UNCHECKED:too-short"] if denied else GRANTED
    assert verdict.reasons == {"ai_training": expected, "genai_training": expected}


def test_an_upload_never_fingerprinted_is_unchecked() -> None:
    # Given a row decided before content_id was turned on, re-decided now (no content check in its inputs)
    verdict = decide(inputs(None), policy({}), ON)
    assert verdict.reasons["ai_training"] == ["CONTENT_UNCHECKED:not-fingerprinted"]


def test_content_signals_follow_the_embedded_ones() -> None:
    extraction = Extraction(format="mp3", signals=["tag:AI_TRAINING=yes"])
    found = DecisionInputs(META, extraction, ContentCheck(b"fp", matches=(match("acme-records", "r"),)))
    assert found.signals == ["tag:AI_TRAINING=yes", "content:acme-records/r"]


def test_the_content_check_round_trips_through_stored_inputs_without_its_matches() -> None:
    stored = inputs(ContentCheck(b"\x01\x02", matches=(match("acme-records"),))).to_dict()
    assert stored["content"] == {"fingerprint": b"\x01\x02"}
    again = DecisionInputs.from_dict(stored)
    assert again.content == ContentCheck(b"\x01\x02")


@pytest.mark.parametrize(
    ("content_id", "message"),
    [
        ([], "content_id: expected an object, got array"),
        ({"required": "yes"}, "content_id.required: expected true or false, got string"),
        ({"requried": True}, "content_id.requried: unknown key (expected one of: required)"),
    ],
)
def test_content_id_is_validated(content_id: object, message: str) -> None:
    document = read_policy_document(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    document["content_id"] = content_id
    assert validate_policy_errors(document) == [message]


def test_content_id_required_defaults_to_true() -> None:
    assert policy({}).content_id.required is True
    assert policy({"required": False}).content_id.required is False
    assert policy().content_id is None
