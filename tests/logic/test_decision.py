"""The decision rules of SPEC "Decision", one reason code at a time, with SPEC's policy."""

import datetime as dt
from typing import Any

import pytest

from gatekeeper.logic.decision import (
    REASON_CODES,
    decide,
    decision_date,
    reason_code,
)
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file, parse_policy
from gatekeeper.models import (
    AI_TRAINING,
    GENAI_TRAINING,
    DecisionInputs,
    Extraction,
    PlatformMetadata,
    Policy,
    Verdict,
)

SPEC_POLICY = load_policy_file(DEFAULT_POLICY_PATH)
TODAY = dt.date(2026, 3, 1)  # SPEC's 2025-05-14 terms are in force
ACCEPTED = {"terms-version": "2025-05-14"}  # the uploader accepted the current terms
GRANTED = ["GRANTED_BY_TERMS:2025-05-14"]


def verdict(
    meta: dict[str, str] | None = None,
    *,
    rights: dict[str, list[str]] | None = None,
    signals: list[str] | None = None,
    unreadable: str | None = None,
    policy: Policy = SPEC_POLICY,
    on: dt.date = TODAY,
) -> Verdict:
    inputs = DecisionInputs(
        metadata=PlatformMetadata.from_user_metadata(meta if meta is not None else ACCEPTED),
        extraction=Extraction(rights=rights or {}, signals=signals or [], unreadable=unreadable),
    )
    return decide(inputs, policy, on)


def opted_in(**extra: str) -> dict[str, str]:
    """Accepted current terms and opted in to genai_training: both purposes eligible by default."""
    return {**ACCEPTED, "genai-opt-in": "true", **extra}


def policy_with(**changes: Any) -> Policy:
    """SPEC's policy terms with one carve-out `c` (given fields) after Acme's."""
    doc = {
        "policy_id": "test",
        "terms": [
            {"version": "2025-05-14", "effective": "2025-05-14", "grants": [AI_TRAINING], "opt_in": [GENAI_TRAINING]}
        ],
        "carve_outs": [
            {"id": "acme-records", "match": {"labels": ["Acme Records"], "partners": ["acme-feed"]}},
            {"id": "c", **changes},
        ],
    }
    return parse_policy(doc)


# ---------------------------------------------------------------- SPEC's examples


def test_spec_example_accepted_current_terms_without_opt_in() -> None:
    # Given accepted 2025-05-14 and no opt-in, Then ai eligible, genai OPT_IN_REQUIRED.
    result = verdict({"terms-version": "2025-05-14"})
    assert result.eligible == {AI_TRAINING: True, GENAI_TRAINING: False}
    assert result.reasons == {AI_TRAINING: GRANTED, GENAI_TRAINING: ["OPT_IN_REQUIRED"]}


def test_spec_example_accepted_2024_terms_current_terms_need_opt_in() -> None:
    # Given accepted 2024-02-12 (which granted genai outright), Then the current terms still need opt-in.
    result = verdict({"terms-version": "2024-02-12"})
    assert result.eligible == {AI_TRAINING: True, GENAI_TRAINING: False}
    assert result.reasons == {AI_TRAINING: GRANTED, GENAI_TRAINING: ["OPT_IN_REQUIRED"]}


def test_spec_example_accepted_2023_terms_grant_nothing() -> None:
    # Given accepted 2023-01-01 (grants nothing), Then both NOT_GRANTED_BY_ACCEPTED_TERMS;
    # genai also lacks the opt-in the current terms ask for (reasons accumulate).
    result = verdict({"terms-version": "2023-01-01"})
    assert result.eligible == {AI_TRAINING: False, GENAI_TRAINING: False}
    assert result.reasons == {
        AI_TRAINING: ["NOT_GRANTED_BY_ACCEPTED_TERMS"],
        GENAI_TRAINING: ["NOT_GRANTED_BY_ACCEPTED_TERMS", "OPT_IN_REQUIRED"],
    }


def test_opt_in_makes_genai_eligible_granted_by_current_terms() -> None:
    # Given accepted 2024-02-12 and genai-opt-in true, Then both eligible, granted by T (not A).
    result = verdict({"terms-version": "2024-02-12", "genai-opt-in": " TRUE "})
    assert result.eligible == {AI_TRAINING: True, GENAI_TRAINING: True}
    assert result.reasons == {AI_TRAINING: GRANTED, GENAI_TRAINING: GRANTED}
    assert (result.policy_id, result.terms_version, result.accepted_terms_version) == (
        "terms-2025-05",
        "2025-05-14",
        "2024-02-12",
    )


@pytest.mark.parametrize("value", ["yes", "1", "", "false"])
def test_only_true_is_an_opt_in(value: str) -> None:
    # Given genai-opt-in with any value but `true`, Then genai still needs the opt-in.
    assert verdict({**ACCEPTED, "genai-opt-in": value}).reasons[GENAI_TRAINING] == ["OPT_IN_REQUIRED"]


# ---------------------------------------------------------------- rule 1: unreadable


@pytest.mark.parametrize(("detail", "reason"), [("", "UNREADABLE"), ("xmp", "UNREADABLE:xmp")])
def test_unreadable_denies_every_purpose(detail: str, reason: str) -> None:
    # Given a file the readers could not read, Then UNREADABLE[:detail] and never GRANTED.
    result = verdict(opted_in(), unreadable=detail)
    assert result.eligible == {AI_TRAINING: False, GENAI_TRAINING: False}
    assert result.reasons == {AI_TRAINING: [reason], GENAI_TRAINING: [reason]}


def test_unreadable_still_gets_the_platform_metadata_reasons() -> None:
    # Given an unreadable file from a partner, opted out, without accepted terms
    result = verdict({"partner-id": "acme-feed", "ai-opt-out": ""}, unreadable="truncated")
    # Then the metadata-only rules still add their reasons, in rule order
    expected = ["UNREADABLE:truncated", "CARVE_OUT:acme-records", "UPLOADER_OPT_OUT", "TERMS_NOT_ACCEPTED"]
    assert result.reasons[AI_TRAINING] == expected
    assert result.reasons[GENAI_TRAINING] == [*expected, "OPT_IN_REQUIRED"]


# ---------------------------------------------------------------- rule 2: carve-outs


@pytest.mark.parametrize(
    ("meta", "rights"),
    [
        ({"partner-id": "acme-feed"}, {}),
        ({"partner-id": "  ACME-Feed "}, {}),
        ({"uploader-id": "acme-official"}, {}),
        ({"uploader-id": "Acme-Official "}, {}),
        ({}, {"label": ["Acme Records"]}),
        ({}, {"label": ["ACME MUSIC GROUP, INC."]}),
        ({}, {"label": ["ＡＣＭＥ　Ｒｅｃｏｒｄｓ"]}),  # fullwidth (NFKC)
        ({}, {"label": ["Indie", "Acme Records"]}),  # any value of the field
        ({}, {"copyright": ["℗ 2024 Acme Records Ltd"]}),
        ({}, {"copyright": ["© 2023 acme-records"]}),
        ({}, {"isrc": ["USAC12400001"]}),
        ({}, {"isrc": ["us-ac1-24-00001"]}),
        ({}, {"isrc": ["GBXYZ2400001", "US-AC1-99-12345"]}),  # registrant prefix USAC1, second value
        ({}, {"upc": ["0123456789012"]}),
        ({}, {"upc": ["00123456789012"]}),  # GTIN-14 with leading zeros
        ({}, {"upc": ["123456789012"]}),
    ],
)
def test_carve_out_matches(meta: dict[str, str], rights: dict[str, list[str]]) -> None:
    # Given an upload matching Acme's carve-out by one field, Then CARVE_OUT:acme-records for both purposes.
    result = verdict(opted_in(**meta), rights=rights)
    assert result.reasons == {AI_TRAINING: ["CARVE_OUT:acme-records"], GENAI_TRAINING: ["CARVE_OUT:acme-records"]}


@pytest.mark.parametrize(
    "rights",
    [
        {"label": ["Acme Recordsmith"]},
        {"label": ["Acme"]},
        {"label": ["Acmerecords"]},
        {"copyright": ["2024 Acme Record"]},
        {"title": ["Acme Records"]},  # title and artist are never matched
        {"artist": ["Acme Records"]},
        {"isrc": ["USAC1"]},  # malformed ISRC: no registrant match either
        {"isrc": ["USAC1-24-0001"]},
        {"isrc": ["USAC22400001"]},
        {"upc": ["0123456789013"]},  # bad check digit
        {"upc": ["123456789012 3"]},
        {"license": ["Acme Records licence"]},
    ],
)
def test_carve_out_does_not_match(rights: dict[str, list[str]]) -> None:
    # Given rights that only resemble Acme's, Then no carve-out: both eligible.
    assert verdict(opted_in(), rights=rights).eligible == {AI_TRAINING: True, GENAI_TRAINING: True}


def test_unknown_partner_is_excluded_for_every_purpose() -> None:
    # Given a partner-id no carve-out lists, Then CARVE_OUT:partner:<id> for all purposes.
    result = verdict(opted_in(**{"partner-id": " other-distributor "}))
    assert result.reasons == {
        AI_TRAINING: ["CARVE_OUT:partner:other-distributor"],
        GENAI_TRAINING: ["CARVE_OUT:partner:other-distributor"],
    }


def test_known_partner_is_covered_only_for_the_carve_outs_purposes() -> None:
    # Given a partner listed by a carve-out covering genai only, Then ai stays eligible.
    policy = policy_with(purposes=[GENAI_TRAINING], match={"partners": ["genai-feed"]})
    result = verdict(opted_in(**{"partner-id": "genai-feed"}), policy=policy)
    assert result.reasons == {AI_TRAINING: GRANTED, GENAI_TRAINING: ["CARVE_OUT:c"]}


def test_matching_carve_outs_are_listed_in_policy_order_then_unknown_partner() -> None:
    # Given an upload matching carve-out `c` by uploader and Acme by ISRC, from an unknown partner
    policy = policy_with(match={"uploaders": ["u1"], "isrcs": ["GBXYZ2400001"]})
    rights = {"isrc": ["GBXYZ2400001"], "label": ["Acme Records"]}
    result = verdict(opted_in(**{"uploader-id": "u1", "partner-id": "p9"}), rights=rights, policy=policy)
    # Then each carve-out is named once, in policy order, then the unknown partner
    assert result.reasons[AI_TRAINING] == ["CARVE_OUT:acme-records", "CARVE_OUT:c", "CARVE_OUT:partner:p9"]


def test_label_with_several_words_needs_them_in_sequence() -> None:
    # Given a carve-out label of three words, Then only the words in order match, anywhere in the text.
    policy = policy_with(match={"labels": ["Big Sound Music"]})
    assert verdict(opted_in(), rights={"copyright": ["(P) The Big Sound Music Co."]}, policy=policy).reasons[
        AI_TRAINING
    ] == ["CARVE_OUT:c"]
    assert verdict(opted_in(), rights={"label": ["Big Music Sound"]}, policy=policy).eligible[AI_TRAINING]


def test_labels_sharing_words_all_match_in_policy_order() -> None:
    # Given carve-outs whose labels start with the same words, listed longest first
    doc = {
        "policy_id": "p",
        "terms": [{"version": "v", "effective": "2024-01-01", "grants": [AI_TRAINING, GENAI_TRAINING]}],
        "carve_outs": [
            {"id": "long", "match": {"labels": ["Big Sound Music"]}},
            {"id": "short", "match": {"labels": ["big"]}},
            {"id": "other", "match": {"labels": ["Big Sound Records"]}},
            {"id": "pair", "match": {"labels": ["Sound Music"]}},
        ],
    }
    # When a copyright text contains some of them as whole words
    result = verdict(
        {"terms-version": "v"}, rights={"copyright": ["(P) Big Big Sound Music"]}, policy=parse_policy(doc)
    )
    # Then exactly those carve-outs match, in policy order
    assert result.reasons[AI_TRAINING] == ["CARVE_OUT:long", "CARVE_OUT:short", "CARVE_OUT:pair"]


# ---------------------------------------------------------------- rule 3: embedded reservations


def test_embedded_reservations_in_found_order_for_the_purposes_they_cover() -> None:
    # Given signals found in this order, some reserving genai only, one not reserving
    signals = [
        "xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING",
        "tag:AI_TRAINING=yes",
        "c2pa:c2pa.training-mining/c2pa.ai_training=notAllowed",
        "tag:TDM_RESERVATION=1",
    ]
    result = verdict(opted_in(), signals=signals)
    # Then each reserving signal is a reason for the purposes it covers, the permissive one is not
    assert result.reasons == {
        AI_TRAINING: [
            "EMBEDDED_RESERVATION:c2pa:c2pa.training-mining/c2pa.ai_training=notAllowed",
            "EMBEDDED_RESERVATION:tag:TDM_RESERVATION=1",
        ],
        GENAI_TRAINING: [
            "EMBEDDED_RESERVATION:xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING",
            "EMBEDDED_RESERVATION:c2pa:c2pa.training-mining/c2pa.ai_training=notAllowed",
            "EMBEDDED_RESERVATION:tag:TDM_RESERVATION=1",
        ],
    }


def test_permissive_signals_do_not_deny() -> None:
    # Given only permissive signals, Then both purposes stay eligible.
    signals = ["xmp:plus:DataMining=DMI-ALLOWED", "xmp:tdm:reservation=0", "tag:GENAI_TRAINING=allowed"]
    assert verdict(opted_in(), signals=signals).reasons == {AI_TRAINING: GRANTED, GENAI_TRAINING: GRANTED}


# ---------------------------------------------------------------- rule 4: opt-out


@pytest.mark.parametrize("value", ["true", "", "no", "yes"])
def test_uploader_opt_out(value: str) -> None:
    # Given ai-opt-out present with any value but `false`, Then UPLOADER_OPT_OUT for all purposes.
    result = verdict(opted_in(**{"ai-opt-out": value}))
    assert result.reasons == {AI_TRAINING: ["UPLOADER_OPT_OUT"], GENAI_TRAINING: ["UPLOADER_OPT_OUT"]}


def test_opt_out_false_is_no_opt_out() -> None:
    # Given ai-opt-out = " False ", Then no opt-out.
    assert verdict(opted_in(**{"ai-opt-out": " False "})).eligible == {AI_TRAINING: True, GENAI_TRAINING: True}


# ---------------------------------------------------------------- rule 5: terms


@pytest.mark.parametrize("meta", [{}, {"terms-version": ""}, {"terms-version": "   "}])
def test_terms_not_accepted(meta: dict[str, str]) -> None:
    # Given no (or an empty) terms-version, Then TERMS_NOT_ACCEPTED.
    result = verdict(meta)
    assert result.reasons == {
        AI_TRAINING: ["TERMS_NOT_ACCEPTED"],
        GENAI_TRAINING: ["TERMS_NOT_ACCEPTED", "OPT_IN_REQUIRED"],
    }
    assert result.accepted_terms_version is None


def test_unknown_terms_version() -> None:
    # Given a version the policy does not list, Then UNKNOWN_TERMS_VERSION (and the version is kept as given).
    result = verdict({"terms-version": "2099-01-01", "genai-opt-in": "true"})
    assert result.reasons == {AI_TRAINING: ["UNKNOWN_TERMS_VERSION"], GENAI_TRAINING: ["UNKNOWN_TERMS_VERSION"]}
    assert result.accepted_terms_version == "2099-01-01"


def test_accepted_version_is_compared_case_insensitively() -> None:
    # Given a policy with version `v2` and metadata ` V2 `, Then A is found.
    policy = parse_policy(
        {
            "policy_id": "p",
            "terms": [{"version": "v2", "effective": "2024-01-01", "grants": [AI_TRAINING, GENAI_TRAINING]}],
        }
    )
    result = verdict({"terms-version": " V2 "}, policy=policy)
    assert result.reasons == {AI_TRAINING: ["GRANTED_BY_TERMS:v2"], GENAI_TRAINING: ["GRANTED_BY_TERMS:v2"]}


def test_no_terms_in_force_before_the_first_effective_date() -> None:
    # Given a decision date before every terms entry, Then NOT_GRANTED_BY_CURRENT_TERMS and no T.
    result = verdict(opted_in(**{"terms-version": "2023-01-01"}), on=dt.date(2022, 12, 31))
    assert result.terms_version is None
    assert result.reasons == {
        AI_TRAINING: ["NOT_GRANTED_BY_ACCEPTED_TERMS", "NOT_GRANTED_BY_CURRENT_TERMS"],
        GENAI_TRAINING: ["NOT_GRANTED_BY_ACCEPTED_TERMS", "NOT_GRANTED_BY_CURRENT_TERMS"],
    }


@pytest.mark.parametrize(
    ("on", "terms_version", "eligible"),
    [
        (dt.date(2023, 6, 1), "2023-01-01", {AI_TRAINING: False, GENAI_TRAINING: False}),
        (dt.date(2024, 2, 12), "2024-02-12", {AI_TRAINING: True, GENAI_TRAINING: True}),
        (dt.date(2025, 5, 13), "2024-02-12", {AI_TRAINING: True, GENAI_TRAINING: True}),
        (dt.date(2025, 5, 14), "2025-05-14", {AI_TRAINING: True, GENAI_TRAINING: False}),
    ],
)
def test_terms_in_force_on_the_decision_date_decide(on: dt.date, terms_version: str, eligible: dict[str, bool]) -> None:
    # Given accepted 2024-02-12 without opt-in, When decided on dates across the terms history
    result = verdict({"terms-version": "2024-02-12"}, on=on)
    # Then T is the terms in force that day, and it decides
    assert result.terms_version == terms_version
    assert result.eligible == eligible
    if not eligible[AI_TRAINING]:
        assert result.reasons[AI_TRAINING] == ["NOT_GRANTED_BY_CURRENT_TERMS"]


def test_opt_in_required_by_accepted_terms_alone() -> None:
    # Given accepted terms offering genai as opt-in and current terms granting it outright
    policy = parse_policy(
        {
            "policy_id": "p",
            "terms": [
                {"version": "old", "effective": "2024-01-01", "grants": [AI_TRAINING], "opt_in": [GENAI_TRAINING]},
                {"version": "new", "effective": "2025-01-01", "grants": [AI_TRAINING, GENAI_TRAINING]},
            ],
        }
    )
    # Then without opt-in the accepted terms still require it; with it both are granted by T
    assert verdict({"terms-version": "old"}, policy=policy).reasons[GENAI_TRAINING] == ["OPT_IN_REQUIRED"]
    assert verdict({"terms-version": "old", "genai-opt-in": "true"}, policy=policy).reasons[GENAI_TRAINING] == [
        "GRANTED_BY_TERMS:new"
    ]


def test_genai_opt_in_does_not_satisfy_an_opt_in_to_ai_training() -> None:
    # Given terms offering ai_training only by opt-in, Then genai-opt-in does not count for it (fail closed).
    policy = parse_policy(
        {
            "policy_id": "p",
            "terms": [{"version": "v", "effective": "2024-01-01", "opt_in": [AI_TRAINING, GENAI_TRAINING]}],
        }
    )
    result = verdict({"terms-version": "v", "genai-opt-in": "true"}, policy=policy)
    assert result.reasons == {AI_TRAINING: ["OPT_IN_REQUIRED"], GENAI_TRAINING: ["GRANTED_BY_TERMS:v"]}


# ---------------------------------------------------------------- everything at once


def test_reasons_accumulate_in_rule_order() -> None:
    # Given an upload that trips every rule
    meta = {"partner-id": "acme-feed", "ai-opt-out": "true", "terms-version": "2023-01-01"}
    result = verdict(meta, unreadable="xmp", signals=["tag:GENAI_TRAINING=no", "xmp:tdm:reservation=1"])
    # Then every reason is listed, in rule order, and within a rule in found order
    common = ["UNREADABLE:xmp", "CARVE_OUT:acme-records"]
    assert result.reasons[AI_TRAINING] == [
        *common,
        "EMBEDDED_RESERVATION:xmp:tdm:reservation=1",
        "UPLOADER_OPT_OUT",
        "NOT_GRANTED_BY_ACCEPTED_TERMS",
    ]
    assert result.reasons[GENAI_TRAINING] == [
        *common,
        "EMBEDDED_RESERVATION:tag:GENAI_TRAINING=no",
        "EMBEDDED_RESERVATION:xmp:tdm:reservation=1",
        "UPLOADER_OPT_OUT",
        "NOT_GRANTED_BY_ACCEPTED_TERMS",
        "OPT_IN_REQUIRED",
    ]
    assert {reason_code(r) for r in result.reasons[GENAI_TRAINING]} <= set(REASON_CODES)


def test_decision_date_may_be_a_datetime() -> None:
    # Given a datetime instead of a date, Then its date decides.
    assert verdict(on=dt.datetime(2025, 5, 13, 23, 59)).terms_version == "2024-02-12"


def test_decide_does_not_change_its_inputs() -> None:
    # Given inputs, When decided twice, Then the inputs are unchanged and the verdicts equal.
    extraction = Extraction(rights={"label": ["Acme Records"]}, signals=["tag:AI_TRAINING=no"], unreadable=None)
    inputs = DecisionInputs(PlatformMetadata.from_user_metadata(ACCEPTED), extraction)
    before = inputs.to_dict()
    assert decide(inputs, SPEC_POLICY, TODAY) == decide(inputs, SPEC_POLICY, TODAY)
    assert inputs.to_dict() == before


def test_plain_policy_decides_like_the_compiled_one() -> None:
    # Given the same policy as a plain Policy, Then the verdicts are identical.
    plain = Policy(SPEC_POLICY.policy_id, SPEC_POLICY.terms, SPEC_POLICY.carve_outs)
    kwargs: dict[str, Any] = {"rights": {"copyright": ["℗ Acme Records"]}, "signals": ["tag:AI_TRAINING=no"]}
    assert verdict(opted_in(), policy=plain, **kwargs) == verdict(opted_in(), **kwargs)


# ---------------------------------------------------------------- reason codes and the decision date


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("UNREADABLE", "UNREADABLE"),
        ("UNREADABLE:xmp", "UNREADABLE"),
        ("CARVE_OUT:partner:acme-feed", "CARVE_OUT"),
        ("EMBEDDED_RESERVATION:xmp:tdm:reservation=1", "EMBEDDED_RESERVATION"),
        ("GRANTED_BY_TERMS:2025-05-14", "GRANTED_BY_TERMS"),
    ],
)
def test_reason_code_is_the_part_before_the_first_colon(reason: str, code: str) -> None:
    assert reason_code(reason) == code


def test_reason_codes_are_specs() -> None:
    # Then the listed codes are exactly SPEC's (DELETED is written by removals).
    assert REASON_CODES == (
        "UNREADABLE",
        "CARVE_OUT",
        "CONTENT_MATCH",
        "CONTENT_UNCHECKED",
        "EMBEDDED_RESERVATION",
        "UPLOADER_OPT_OUT",
        "TERMS_NOT_ACCEPTED",
        "UNKNOWN_TERMS_VERSION",
        "NOT_GRANTED_BY_ACCEPTED_TERMS",
        "NOT_GRANTED_BY_CURRENT_TERMS",
        "OPT_IN_REQUIRED",
        "GRANTED_BY_TERMS",
        "DELETED",
    )


def test_decision_date_from_the_environment() -> None:
    # Given GATEKEEPER_DECISION_DATE, Then it is the decision date, padded spaces allowed.
    assert decision_date({"GATEKEEPER_DECISION_DATE": " 2024-02-12 "}) == dt.date(2024, 2, 12)


@pytest.mark.parametrize(
    "value", ["2024-02-30", "20240212", "2024-2-12", "2024-W07-1", "２０２４-０２-１２", "today", "2024-02-12T00:00"]
)
def test_invalid_decision_date_names_the_variable(value: str) -> None:
    # Given a bad GATEKEEPER_DECISION_DATE, Then ValueError naming the variable and the value.
    with pytest.raises(ValueError, match=rf"^GATEKEEPER_DECISION_DATE: bad date '{value}' \(expected YYYY-MM-DD\)$"):
        decision_date({"GATEKEEPER_DECISION_DATE": value})


def test_decision_date_defaults_to_today_in_utc() -> None:
    # Given no (or a blank) variable, Then `today` if given, else the UTC date now.
    assert decision_date({"GATEKEEPER_DECISION_DATE": " "}, today=dt.date(2030, 1, 2)) == dt.date(2030, 1, 2)
    before = dt.datetime.now(dt.UTC).date()
    assert before <= decision_date({}) <= dt.datetime.now(dt.UTC).date()


def test_decision_date_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the variable in the process environment, Then it is used when no mapping is passed.
    monkeypatch.setenv("GATEKEEPER_DECISION_DATE", "2025-05-14")
    assert decision_date() == dt.date(2025, 5, 14)
