"""Properties of the decision core over generated inputs (hypothesis)."""

import copy
import datetime as dt
import json
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.logic.decision import GRANTED_BY_TERMS, REASON_CODES, decide, reason_code
from gatekeeper.logic.normalize import contains_words, normalize_isrc, normalize_name, normalize_upc
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, parse_policy, validate_policy_errors
from gatekeeper.logic.signals import reserved_purposes
from gatekeeper.models import PURPOSES, DecisionInputs, Extraction, PlatformMetadata, Policy, PolicyError

SPEC_DOC: dict[str, Any] = json.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
SPEC_POLICY = parse_policy(SPEC_DOC)
EXAMPLES = settings(max_examples=200, deadline=None)

WORDS = ["acme", "records", "music", "group", "big", "sound", "indie", "ltd", "℗", "2024", "ＡＣＭＥ"]
WORDS += ["recordsmith", "Records,", "(P)"]
SIGNALS = [
    "xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING",
    "xmp:plus:DataMining=DMI-PROHIBITED-AIMLTRAINING",
    "xmp:plus:DataMining=DMI-ALLOWED",
    "xmp:tdm:reservation=1",
    "xmp:tdm:reservation=0",
    "tag:TDM_RESERVATION=1",
    "tag:AI_TRAINING=no",
    "tag:AI-TRAINING=yes",
    "tag:GENAI_TRAINING=denied",
    "c2pa:cawg.training-mining/cawg.ai_generative_training=constrained",
    "c2pa:c2pa.training-mining/c2pa.data_mining=allowed",
]

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join)
labels = texts.filter(normalize_name)  # a policy label must normalize to something
isrcs = st.sampled_from(["USAC12400001", "US-AC1-99-00002", "GBXYZ2400001", "USAC1", "bad"])
upcs = st.sampled_from(["0123456789012", "00123456789012", "0123456789013", "012345678905", "x"])
rights = st.fixed_dictionaries(
    {},
    optional={
        "label": st.lists(texts, max_size=2),
        "copyright": st.lists(texts, max_size=2),
        "isrc": st.lists(isrcs, max_size=2),
        "upc": st.lists(upcs, max_size=2),
    },
)
metadata = st.fixed_dictionaries(
    {},
    optional={
        "uploader-id": st.sampled_from(["acme-official", "ACME-Official ", "someone"]),
        "partner-id": st.sampled_from(["acme-feed", "other-feed"]),
        "terms-version": st.sampled_from(["2023-01-01", "2024-02-12", "2025-05-14", "2099-01-01", ""]),
        "ai-opt-out": st.sampled_from(["true", "false", ""]),
        "genai-opt-in": st.sampled_from(["true", "false"]),
    },
)
inputs = st.builds(
    lambda meta, found, signals, unreadable: DecisionInputs(
        PlatformMetadata.from_user_metadata(meta), Extraction(rights=found, signals=signals, unreadable=unreadable)
    ),
    metadata,
    rights,
    st.lists(st.sampled_from(SIGNALS), max_size=3, unique=True),
    st.sampled_from([None, None, None, "", "xmp"]),
)
dates = st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2027, 12, 31))
carve_outs = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["extra-1", "extra-2"]),
        "match": st.fixed_dictionaries({"labels": st.lists(labels, min_size=1, max_size=2)}),
    },
    optional={"purposes": st.sampled_from([["ai_training"], ["genai_training"]])},
)


def with_signals(upload: DecisionInputs, signals: list[str]) -> DecisionInputs:
    extraction = copy.deepcopy(upload.extraction)
    for signal in signals:
        extraction.add_signal(signal)
    return DecisionInputs(upload.metadata, extraction)


@EXAMPLES
@given(inputs, dates)
def test_granted_only_alone_and_only_when_eligible(upload: DecisionInputs, on: dt.date) -> None:
    # Given any upload and date, When decided
    result = decide(upload, SPEC_POLICY, on)
    for purpose in PURPOSES:
        reasons = result.reasons[purpose]
        codes = [reason_code(r) for r in reasons]
        # Then a purpose is eligible exactly when its only reason is GRANTED_BY_TERMS:<T>
        assert result.eligible[purpose] == (codes == [GRANTED_BY_TERMS])
        assert GRANTED_BY_TERMS not in codes or reasons == [f"{GRANTED_BY_TERMS}:{result.terms_version}"]
        # and every reason has a known code, without repetition
        assert set(codes) <= set(REASON_CODES) and len(set(reasons)) == len(reasons)
        # and UNREADABLE never comes with GRANTED
        assert not (upload.extraction.unreadable is not None and result.eligible[purpose])


@EXAMPLES
@given(inputs, dates)
def test_deterministic(upload: DecisionInputs, on: dt.date) -> None:
    # Given the same inputs, policy and date, Then the same verdict, whatever the policy object.
    plain = Policy(SPEC_POLICY.policy_id, tuple(reversed(SPEC_POLICY.terms)), SPEC_POLICY.carve_outs)
    assert decide(upload, SPEC_POLICY, on) == decide(copy.deepcopy(upload), SPEC_POLICY, on)
    assert decide(upload, plain, on) == decide(upload, SPEC_POLICY, on)


@EXAMPLES
@given(inputs, dates, st.lists(st.sampled_from(SIGNALS), min_size=1, max_size=3))
def test_adding_a_signal_never_makes_a_purpose_eligible(upload: DecisionInputs, on: dt.date, added: list[str]) -> None:
    # Given an upload, When more signals are found in it, Then no purpose becomes eligible.
    before = decide(upload, SPEC_POLICY, on).eligible
    after = decide(with_signals(upload, added), SPEC_POLICY, on).eligible
    assert all(before[p] or not after[p] for p in PURPOSES)


@EXAMPLES
@given(inputs, dates, rights)
def test_finding_more_rights_values_never_makes_a_purpose_eligible(
    upload: DecisionInputs, on: dt.date, more: dict[str, list[str]]
) -> None:
    # Given an upload, When more label/copyright/ISRC/UPC values are found in it, Then no purpose becomes eligible.
    extraction = copy.deepcopy(upload.extraction)
    for field, values in more.items():
        for value in values:
            extraction.add_right(field, value)
    before = decide(upload, SPEC_POLICY, on).eligible
    after = decide(DecisionInputs(upload.metadata, extraction), SPEC_POLICY, on).eligible
    assert all(before[p] or not after[p] for p in PURPOSES)


@EXAMPLES
@given(inputs, dates)
def test_opting_out_denies_and_opting_in_never_denies(upload: DecisionInputs, on: dt.date) -> None:
    # Given an upload, When the uploader opts out, Then nothing is eligible;
    # When the uploader opts in to genai, Then no purpose loses its eligibility.
    meta = upload.metadata
    opted_out = replace(meta, ai_opt_out=True)
    opted_in = replace(meta, genai_opt_in=True)
    before = decide(upload, SPEC_POLICY, on).eligible
    assert not any(decide(DecisionInputs(opted_out, upload.extraction), SPEC_POLICY, on).eligible.values())
    after = decide(DecisionInputs(opted_in, upload.extraction), SPEC_POLICY, on).eligible
    assert all(after[p] or not before[p] for p in PURPOSES)


@EXAMPLES
@given(inputs, dates, st.lists(carve_outs, min_size=1, max_size=2, unique_by=lambda c: c["id"]))
def test_adding_a_carve_out_never_makes_a_purpose_eligible(
    upload: DecisionInputs, on: dt.date, extra: list[dict[str, Any]]
) -> None:
    # Given a policy, When carve-outs are added to it, Then no purpose becomes eligible.
    widened = parse_policy({**SPEC_DOC, "carve_outs": [*SPEC_DOC["carve_outs"], *extra]})
    before = decide(upload, SPEC_POLICY, on).eligible
    after = decide(upload, widened, on).eligible
    assert all(before[p] or not after[p] for p in PURPOSES)


@EXAMPLES
@given(inputs, dates, st.lists(st.lists(labels, min_size=1, max_size=3), min_size=1, max_size=3))
def test_label_index_agrees_with_whole_word_definition(
    upload: DecisionInputs, on: dt.date, label_lists: list[list[str]]
) -> None:
    # Given carve-outs with labels only, When decided, Then a carve-out matches exactly when a
    # normalized label or copyright value contains one of its labels as whole words (SPEC's definition).
    carve_outs = [{"id": f"c{i}", "match": {"labels": names}} for i, names in enumerate(label_lists)]
    policy = parse_policy({**SPEC_DOC, "carve_outs": carve_outs})
    texts = [normalize_name(t) for t in upload.extraction.rights.get("label", [])]
    texts += [normalize_name(t) for t in upload.extraction.rights.get("copyright", [])]
    expected = [
        f"CARVE_OUT:c{i}"
        for i, names in enumerate(label_lists)
        if any(contains_words(text, normalize_name(name)) for text in texts for name in names)
    ]
    reasons = decide(upload, policy, on).reasons["ai_training"]
    assert [r for r in reasons if r.startswith("CARVE_OUT:c")] == expected


@EXAMPLES
@given(st.text(max_size=40))
def test_signal_interpretation_is_total(signal: str) -> None:
    # Given any string, Then interpreting it never fails and reserves only known purposes.
    assert reserved_purposes(signal) <= set(PURPOSES)
    assert reserved_purposes(f"tag:{signal}") <= set(PURPOSES)
    assert reserved_purposes(f"c2pa:{signal}") <= set(PURPOSES)


@EXAMPLES
@given(st.text(max_size=40))
def test_normal_forms_are_idempotent(value: str) -> None:
    # Given any string, Then normalizing a normal form changes nothing.
    name = normalize_name(value)
    assert normalize_name(name) == name
    assert "  " not in name and name == name.strip()
    if (isrc := normalize_isrc(value)) is not None:
        assert normalize_isrc(isrc) == isrc
    if (upc := normalize_upc(value)) is not None:
        assert normalize_upc(upc.zfill(14)) == upc


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["", "x", "2024-01-01", "ai_training", "USAC1"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "policy_id",
                    "terms",
                    "version",
                    "effective",
                    "grants",
                    "opt_in",
                    "carve_outs",
                    "id",
                    "match",
                    "labels",
                    "zzz",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@EXAMPLES
@given(json_values)
def test_validation_never_crashes_and_agrees_with_parse(doc: Any) -> None:
    # Given any JSON value, Then validation lists one-line problems, and parse fails exactly when there are some.
    problems = validate_policy_errors(doc)
    assert all("\n" not in p and ": " in p for p in problems)
    try:
        parse_policy(doc)
    except PolicyError as error:
        assert problems and str(error) == problems[0]
    else:
        assert problems == []
