"""Signal identifiers: how readers build them and what each reserves (SPEC "Embedded tags")."""

import pytest

from gatekeeper.logic.signals import (
    NEGATIVE_VALUES,
    c2pa_signal,
    dmi_code,
    is_signal_tag_name,
    reserved_purposes,
    tag_signal,
    xmp_dmi_signal,
    xmp_tdm_signal,
)
from gatekeeper.models import AI_TRAINING, GENAI_TRAINING

ALL = {AI_TRAINING, GENAI_TRAINING}
GENAI = {GENAI_TRAINING}
NONE: set[str] = set()


@pytest.mark.parametrize(
    ("signal", "reserves"),
    [
        # IPTC PLUS Data Mining
        ("xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING", GENAI),
        ("xmp:plus:DataMining=DMI-PROHIBITED-AIMLTRAINING", ALL),
        ("xmp:plus:DataMining=DMI-PROHIBITED", ALL),
        ("xmp:plus:DataMining=DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", ALL),
        ("xmp:plus:DataMining=dmi-prohibited-genaimltraining", GENAI),
        ("xmp:plus:DataMining=http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING", ALL),
        ("xmp:plus:DataMining=DMI-ALLOWED", NONE),
        ("xmp:plus:DataMining=DMI-UNSPECIFIED", NONE),
        ("xmp:plus:DataMining=something-else", NONE),
        ("xmp:plus:DataMining=", NONE),
        # TDMRep
        ("xmp:tdm:reservation=1", ALL),
        ("xmp:tdm:reservation= 1 ", ALL),
        ("xmp:tdm:reservation=0", NONE),
        ("xmp:tdm:reservation=yes", NONE),
        # text tags
        ("tag:TDM_RESERVATION=1", ALL),
        ("tag:TDM-RESERVATION=1", ALL),
        ("tag:tdm_reservation=1", ALL),
        ("tag:TDM_RESERVATION=0", NONE),
        ("tag:TDM_RESERVATION=true", NONE),
        ("tag:AI_TRAINING=no", ALL),
        ("tag:AI-TRAINING=Not Allowed", ALL),
        ("tag:AI_TRAINING=not  allowed", ALL),
        ("tag:AI_TRAINING=yes", NONE),
        ("tag:AI_TRAINING=allowed", NONE),
        ("tag:AI_TRAINING=", NONE),
        ("tag:GENAI_TRAINING=no", GENAI),
        ("tag:GENAI-TRAINING=DENIED", GENAI),
        ("tag:GENAI_TRAINING=yes", NONE),
        ("tag:COMMENT=no", NONE),
        ("tag:AI_TRAINING", NONE),
        # C2PA / CAWG training-and-data-mining
        ("c2pa:c2pa.training-mining/c2pa.ai_training=notAllowed", ALL),
        ("c2pa:c2pa.training-mining/c2pa.data_mining=constrained", ALL),
        ("c2pa:c2pa.training-mining/c2pa.ai_generative_training=notAllowed", GENAI),
        ("c2pa:cawg.training-mining/cawg.ai_training=NOTALLOWED", ALL),
        ("c2pa:cawg.training-mining/cawg.ai_generative_training=Constrained", GENAI),
        ("c2pa:c2pa.training-mining__1/c2pa.ai_training=notAllowed", ALL),
        ("c2pa:c2pa.training-mining/c2pa.ai_inference=notAllowed", NONE),
        ("c2pa:c2pa.training-mining/c2pa.ai_training=allowed", NONE),
        ("c2pa:c2pa.actions/c2pa.ai_training=notAllowed", NONE),
        # unknown prefixes
        ("id3:TDM_RESERVATION=1", NONE),
        ("", NONE),
    ],
)
def test_reserved_purposes(signal: str, reserves: set[str]) -> None:
    # Given a signal identifier, When interpreted, Then exactly the listed purposes are reserved.
    assert reserved_purposes(signal) == reserves


@pytest.mark.parametrize("value", sorted(NEGATIVE_VALUES))
def test_every_negative_value_reserves_in_any_case(value: str) -> None:
    # Given each negative value of SPEC, upper-cased and padded, Then AI_TRAINING reserves all purposes.
    assert reserved_purposes(tag_signal("AI_TRAINING", f" {value.upper()} ")) == ALL
    assert reserved_purposes(tag_signal("genai-training", value)) == GENAI


def test_spec_negative_value_list_is_exact() -> None:
    # Then the negative values are exactly SPEC's list.
    assert NEGATIVE_VALUES == {
        "no",
        "false",
        "0",
        "prohibited",
        "disallowed",
        "notallowed",
        "not allowed",
        "opt-out",
        "optout",
        "deny",
        "denied",
    }


@pytest.mark.parametrize(
    ("built", "identifier"),
    [
        (tag_signal(" tdm-reservation ", " 1 "), "tag:TDM-RESERVATION=1"),
        (tag_signal("Ai_Training", "No"), "tag:AI_TRAINING=No"),
        (xmp_tdm_signal(" 1\n"), "xmp:tdm:reservation=1"),
        (
            xmp_dmi_signal("http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-GENAIMLTRAINING"),
            "xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING",
        ),
        (xmp_dmi_signal("https://example.com/terms#dmi-allowed "), "xmp:plus:DataMining=DMI-ALLOWED"),
        (xmp_dmi_signal("DMI-UNSPECIFIED"), "xmp:plus:DataMining=DMI-UNSPECIFIED"),
        (xmp_dmi_signal("http://example.com/Custom"), "xmp:plus:DataMining=Custom"),
        (
            c2pa_signal("c2pa.training-mining", " c2pa.ai_training", "notAllowed "),
            "c2pa:c2pa.training-mining/c2pa.ai_training=notAllowed",
        ),
    ],
)
def test_builders_make_spec_identifiers(built: str, identifier: str) -> None:
    # Given raw values as a reader finds them, When built, Then the identifier has SPEC's form, trimmed.
    assert built == identifier


def test_dmi_code_keeps_non_dmi_values_as_found() -> None:
    # Given a value that is not a DMI code, Then it is kept as found (not upper-cased).
    assert dmi_code("urn:x:Permitted") == "urn:x:Permitted"
    assert dmi_code("urn:x/dmi-PROHIBITED") == "DMI-PROHIBITED"


@pytest.mark.parametrize(
    ("name", "is_signal"),
    [
        ("TDM_RESERVATION", True),
        ("tdm-reservation", True),
        (" AI_TRAINING ", True),
        ("ai-training", True),
        ("GENAI_TRAINING", True),
        ("GenAI-Training", True),
        ("TDM RESERVATION", False),
        ("AITRAINING", False),
        ("LABEL", False),
        ("", False),
    ],
)
def test_is_signal_tag_name(name: str, is_signal: bool) -> None:
    # Given a text-tag name, Then it is an AI-use signal only for SPEC's names and variants.
    assert is_signal_tag_name(name) is is_signal
