"""Account consent on moto: a change re-decides every upload of the account, and only those, reading no audio."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from gatekeeper.dal.consent_table import ConsentTable, create_table
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.dal.s3_source import S3ObjectSource
from gatekeeper.downstream.consent import propagate
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import ObjectEvent
from gatekeeper.samples import make_audio
from gatekeeper.service import Gatekeeper
from tests.aws.support import BUCKET, Context, S3Calls, upload
from tests.downstream.support import ON

POLICY = load_policy_file(DEFAULT_POLICY_PATH)
CONSENT = "gatekeeper-consent-test"
OPTED_IN = {"terms-version": "2025-05-14", "genai-opt-in": "true"}


@pytest.fixture
def consents(dynamodb: Any) -> ConsentTable:
    assert create_table(dynamodb, CONSENT)
    return ConsentTable(dynamodb, CONSENT)


def service(s3: Any, table: FlagsTable, consents: ConsentTable | None) -> Gatekeeper:
    return Gatekeeper(S3ObjectSource(s3), table, PolicySource(str(DEFAULT_POLICY_PATH)), today=lambda: ON,
                      consents=consents)  # fmt: skip


def decide_upload(gatekeeper: Gatekeeper, s3: Any, key: str, uploader: str, **extra: str) -> str:
    change = upload(s3, key, make_audio("mp3", tags={"title": key}), {"uploader-id": uploader, **OPTED_IN, **extra})
    gatekeeper.handle(ObjectEvent(kind="created", bucket=BUCKET, key=key, etag=change.etag,
                                  version_id=change.version_id, sequencer=change.sequencer, size=change.size))  # fmt: skip
    return f"s3://{BUCKET}/{key}"


def eligible(table: FlagsTable, uri: str) -> dict[str, bool]:
    return table.get(uri)["eligible"]


def test_an_opt_out_flips_every_row_of_the_account_and_none_of_another(
    s3: Any, table: FlagsTable, consents: ConsentTable
) -> None:
    # Given two accounts' uploads, all eligible for both purposes (their metadata opted in)
    gatekeeper = service(s3, table, consents)
    mine = [decide_upload(gatekeeper, s3, f"mine/{n}.mp3", "u-mine") for n in range(5)]
    theirs = [decide_upload(gatekeeper, s3, f"theirs/{n}.mp3", "u-theirs") for n in range(3)]
    assert all(eligible(table, uri) == {"ai_training": True, "genai_training": True} for uri in mine + theirs)
    # When one account opts out of all AI use, and the change is propagated
    consents.set("u-mine", ai_opt_out=True)
    calls = S3Calls(s3)
    summary = propagate(table, consents, POLICY, ON, "u-mine")
    # Then every row of that account is ineligible with UPLOADER_OPT_OUT, the other account's untouched
    assert (summary.scanned, summary.outcomes["rewritten"]) == (5, 5)
    for uri in mine:
        item = table.get(uri)
        assert item["eligible"] == {"ai_training": False, "genai_training": False}
        assert item["reasons"]["ai_training"] == ["UPLOADER_OPT_OUT"]
        assert item["inputs"]["consent"]["source"] == "account"
        assert item["inputs"]["consent"]["account"]["updated_at"] == consents.get("u-mine").updated_at
    assert all(eligible(table, uri) == {"ai_training": True, "genai_training": True} for uri in theirs)
    # And no audio was read: the propagation made no S3 request
    assert calls.calls == 0


def test_a_withdrawn_opt_in_beats_the_objects_opt_in(s3: Any, table: FlagsTable, consents: ConsentTable) -> None:
    # Given an account that opted in, and its upload whose metadata says genai-opt-in=true
    consents.set("u-1", genai_opt_in=True)
    uri = decide_upload(service(s3, table, consents), s3, "a.mp3", "u-1")
    assert eligible(table, uri)["genai_training"] is True
    # When the account withdraws its opt-in
    consents.set("u-1", genai_opt_in=False)
    propagate(table, consents, POLICY, ON, "u-1")
    # Then generative training needs the opt-in again, whatever the object said
    assert table.get(uri)["reasons"] == {"ai_training": ["GRANTED_BY_TERMS:2025-05-14"], "genai_training": ["OPT_IN_REQUIRED"]}


def test_an_upload_decided_after_the_change_already_reflects_it(s3: Any, table: FlagsTable, consents: ConsentTable) -> None:
    consents.set("u-1", ai_opt_out=True)
    uri = decide_upload(service(s3, table, consents), s3, "later.mp3", "u-1")
    assert table.get(uri)["reasons"]["ai_training"] == ["UPLOADER_OPT_OUT"]


def test_a_set_keeps_the_fields_it_does_not_name(consents: ConsentTable) -> None:
    first = consents.set("u-1", genai_opt_in=True)
    assert (first.ai_opt_out, first.genai_opt_in) == (False, True)
    second = consents.set("u-1", ai_opt_out=True)
    assert (second.ai_opt_out, second.genai_opt_in) == (True, True)
    assert second.updated_at > first.updated_at
    assert consents.get("nobody") is None


def test_a_rewrite_never_goes_back_to_an_older_account_record(s3: Any, table: FlagsTable, consents: ConsentTable) -> None:
    # Given a row decided with the account's newest record (opted out)
    uri = decide_upload(service(s3, table, consents), s3, "a.mp3", "u-1")
    old = consents.set("u-1", genai_opt_in=True)
    consents.set("u-1", ai_opt_out=True)
    propagate(table, consents, POLICY, ON, "u-1")
    assert table.get(uri)["reasons"]["ai_training"] == ["UPLOADER_OPT_OUT"]

    # When a slower propagation that read the older record tries to write its verdict
    class Frozen:
        def get(self, uploader_id: str) -> Any:
            return old

    summary = propagate(table, Frozen(), POLICY, ON, "u-1")
    # Then it is refused: the row keeps the newer record's verdict
    assert summary.outcomes["superseded"] == 1
    assert table.get(uri)["reasons"]["ai_training"] == ["UPLOADER_OPT_OUT"]


def test_a_propagation_never_writes_over_a_newer_upload_event(s3: Any, table: FlagsTable, consents: ConsentTable) -> None:
    gatekeeper = service(s3, table, consents)
    uri = decide_upload(gatekeeper, s3, "a.mp3", "u-1")
    scanned = list(table.rows_of("u-1"))
    # A newer upload of the same key is decided meanwhile (the account had opted out by then)
    consents.set("u-1", ai_opt_out=True)
    decide_upload(gatekeeper, s3, "a.mp3", "u-1")
    newer = table.get(uri)
    # When the propagation's rewrite of the row it read earlier arrives
    from gatekeeper.downstream.reevaluate import Reevaluator, Summary

    consents.set("u-1", ai_opt_out=False)
    outcome = Reevaluator(table, POLICY, ON, consents=consents).reevaluate(scanned[0], Summary())
    # Then it is superseded and the newer event's row stands
    assert outcome.value == "superseded"
    assert table.get(uri)["etag"] == newer["etag"]


# ---------------------------------------------------------------- the propagation function


def stream_record(uploader: str, sequence: str, event_name: str = "MODIFY") -> dict[str, Any]:
    return {
        "eventID": sequence,
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"uploader_id": {"S": uploader}},
            "SequenceNumber": sequence,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/consent/stream/2026-01-01T00:00:00.000",
    }


@pytest.fixture
def consent_function(monkeypatch: pytest.MonkeyPatch, handler_env: dict[str, str], consents: ConsentTable) -> Any:
    from gatekeeper.handlers import consent

    monkeypatch.setenv("CONSENT_TABLE_NAME", CONSENT)
    monkeypatch.setenv("GATEKEEPER_CONSENT_SETTLE_SECONDS", "0")
    consent.reset()
    yield consent
    consent.reset()


def test_stream_records_in_any_order_end_in_the_latest_state(
    consent_function: Any, s3: Any, table: FlagsTable, consents: ConsentTable
) -> None:
    # Given an account's uploads, then two quick changes: opt out, then opt back in
    gatekeeper = service(s3, table, consents)
    uris = [decide_upload(gatekeeper, s3, f"q/{n}.mp3", "u-quick") for n in range(3)]
    consents.set("u-quick", ai_opt_out=True)
    consents.set("u-quick", ai_opt_out=False, genai_opt_in=True)
    # When their stream records arrive reordered, in two batches (the later change first)
    for batch in ([stream_record("u-quick", "200")], [stream_record("u-quick", "100")]):
        assert consent_function.handle({"Records": batch}, Context()) == {"batchItemFailures": []}
    # Then the rows are in the later change's state: not opted out, opted in
    assert all(eligible(table, uri) == {"ai_training": True, "genai_training": True} for uri in uris)
    assert all(table.get(uri)["inputs"]["consent"]["account"]["genai_opt_in"] is True for uri in uris)


def test_a_failing_record_is_reported_alone(
    consent_function: Any, s3: Any, table: FlagsTable, consents: ConsentTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch of two accounts' changes, the second failing (its propagation raises)
    consents.set("u-a", ai_opt_out=True)
    consents.set("u-b", ai_opt_out=True)
    from gatekeeper.handlers import consent as module

    real = module.propagate

    def flaky(table: Any, consents: Any, policy: Any, on: Any, uploader: str, **kwargs: Any) -> Any:
        if uploader == "u-b":
            raise RuntimeError("throttled")
        return real(table, consents, policy, on, uploader, **kwargs)

    monkeypatch.setattr(module, "propagate", flaky)
    response = consent_function.handle({"Records": [stream_record("u-a", "1"), stream_record("u-b", "2")]}, Context())
    # Then only that record is reported, by its sequence number, for the mapping to retry
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}


def test_a_row_listed_only_after_the_first_look_is_redecided_on_the_second(
    consent_function: Any, s3: Any, table: FlagsTable, consents: ConsentTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account that opts out, and a row of it that the index lists only late
    # (written with the old record just before the change: the index is eventually consistent)
    monkeypatch.setenv("GATEKEEPER_CONSENT_SETTLE_SECONDS", "0.2")
    early = decide_upload(service(s3, table, consents), s3, "early.mp3", "u-late")
    consents.set("u-late", ai_opt_out=True)
    from gatekeeper.handlers import consent as module

    waits: list[float] = []
    late: list[str] = []

    def settle(seconds: float) -> None:  # the index catches up while the function waits
        waits.append(seconds)
        late.append(decide_upload(service(s3, table, None), s3, "late.mp3", "u-late"))

    monkeypatch.setattr(module.time, "sleep", settle)
    # When the change's stream records (two of the account, one batch) are handled
    records = [stream_record("u-late", "300"), stream_record("u-late", "301")]
    assert consent_function.handle({"Records": records}, Context()) == {"batchItemFailures": []}
    # Then the function waited once for the batch, at most the settle time, and both rows are opted out
    assert len(waits) == 1 and 0 <= waits[0] <= 0.2
    for uri in (early, *late):
        assert table.get(uri)["reasons"]["ai_training"] == ["UPLOADER_OPT_OUT"]


def test_a_failure_on_the_second_look_reports_the_accounts_records(
    consent_function: Any, s3: Any, table: FlagsTable, consents: ConsentTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEKEEPER_CONSENT_SETTLE_SECONDS", "0.01")
    consents.set("u-a", ai_opt_out=True)
    from gatekeeper.handlers import consent as module

    real, looks = module.propagate, []

    def second_fails(table: Any, consents: Any, policy: Any, on: Any, uploader: str, **kwargs: Any) -> Any:
        looks.append(uploader)
        if len(looks) > 1:
            raise RuntimeError("throttled")
        return real(table, consents, policy, on, uploader, **kwargs)

    monkeypatch.setattr(module, "propagate", second_fails)
    response = consent_function.handle({"Records": [stream_record("u-a", "7"), stream_record("u-a", "8")]}, Context())
    assert looks == ["u-a", "u-a"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "7"}, {"itemIdentifier": "8"}]}


def test_the_consent_table_is_the_templates(dynamodb: Any) -> None:
    # The schema the tests and `gatekeeper consent init` create has the stream the function needs
    create_table(dynamodb, "another")
    description = boto3.client("dynamodb").describe_table(TableName="another")["Table"]
    assert description["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert json.dumps(description["KeySchema"]) == json.dumps([{"AttributeName": "uploader_id", "KeyType": "HASH"}])
