"""Account consent in the decision (SPEC "Account consent"): either opt-out denies; the account's opt-in rules."""

from __future__ import annotations

import datetime as dt

import pytest

from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import AccountConsent, DecisionInputs, Extraction, PlatformMetadata

POLICY = load_policy_file(DEFAULT_POLICY_PATH)
ON = dt.date(2026, 1, 15)
GRANTED = ["GRANTED_BY_TERMS:2025-05-14"]


def verdict(*, object_opt_out: bool = False, object_opt_in: bool = False, account: AccountConsent | None = None):
    meta = PlatformMetadata(uploader_id="u-1", terms_version="2025-05-14", ai_opt_out=object_opt_out,
                            genai_opt_in=object_opt_in)  # fmt: skip
    return decide(DecisionInputs(meta, Extraction(format="mp3"), consent=account), POLICY, ON).reasons


def account(*, out: bool = False, opt_in: bool = False) -> AccountConsent:
    return AccountConsent("u-1", ai_opt_out=out, genai_opt_in=opt_in, updated_at="2026-01-10T00:00:00Z")


@pytest.mark.parametrize(
    ("object_opt_out", "account_opt_out", "opted_out"),
    [(False, False, False), (True, False, True), (False, True, True), (True, True, True)],
)
def test_opted_out_when_either_the_object_or_the_account_says_so(object_opt_out, account_opt_out, opted_out) -> None:
    reasons = verdict(object_opt_out=object_opt_out, object_opt_in=True, account=account(out=account_opt_out, opt_in=True))
    assert ("UPLOADER_OPT_OUT" in reasons["ai_training"]) is opted_out
    assert ("UPLOADER_OPT_OUT" in reasons["genai_training"]) is opted_out


def test_a_withdrawn_account_opt_in_beats_the_objects_opt_in() -> None:
    # Given an upload whose metadata opted in, and an account that has since withdrawn its opt-in
    reasons = verdict(object_opt_in=True, account=account(opt_in=False))
    # Then generative training needs the opt-in again
    assert reasons == {"ai_training": GRANTED, "genai_training": ["OPT_IN_REQUIRED"]}


def test_an_account_opt_in_grants_though_the_object_said_nothing() -> None:
    assert verdict(object_opt_in=False, account=account(opt_in=True)) == {"ai_training": GRANTED, "genai_training": GRANTED}


def test_without_an_account_record_the_object_decides() -> None:
    assert verdict(object_opt_in=True)["genai_training"] == GRANTED
    assert verdict(object_opt_in=False)["genai_training"] == ["OPT_IN_REQUIRED"]


def test_the_inputs_record_which_consent_decided() -> None:
    meta = PlatformMetadata(uploader_id="u-1", terms_version="2025-05-14")
    by_object = DecisionInputs(meta, Extraction()).to_dict()["consent"]
    by_account = DecisionInputs(meta, Extraction(), consent=account(opt_in=True)).to_dict()["consent"]
    assert by_object == {"source": "object"}
    assert by_account == {
        "source": "account",
        "account": {"uploader_id": "u-1", "ai_opt_out": False, "genai_opt_in": True, "updated_at": "2026-01-10T00:00:00Z"},
    }
    assert DecisionInputs.from_dict(DecisionInputs(meta, Extraction(), consent=account()).to_dict()).consent == account()
