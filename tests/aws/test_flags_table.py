"""The flags table: SPEC's schema and the conditional writes that order events."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from gatekeeper.dal import VerdictRow
from gatekeeper.dal.flags_table import (
    MAX_ITEM_BYTES,
    FlagsTable,
    eligible_shard,
    fit,
    item_bytes,
    sequencer_order,
    verdict_item,
)
from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import DecisionInputs, Extraction, ObjectEvent, PlatformMetadata
from tests.aws.support import BUCKET, TABLE

POLICY = load_policy_file(DEFAULT_POLICY_PATH)
ON = dt.date(2026, 1, 15)
URI = f"s3://{BUCKET}/a song.mp3"


def row(sequencer: str | None, *, etag: str = "e1", version_id: str | None = None, **meta: str) -> VerdictRow:
    extraction = Extraction(format="mp3")
    extraction.add_right("label", "Indie Label")
    extraction.add_right("isrc", "GBAYE0000001")
    extraction.add_signal("tag:GENAI_TRAINING=no")
    inputs = DecisionInputs(
        PlatformMetadata.from_user_metadata({"uploader-id": "u-1", "terms-version": "2025-05-14", **meta}), extraction
    )
    return VerdictRow(
        bucket=BUCKET,
        key="a song.mp3",
        version_id=version_id,
        etag=etag,
        size=1234,
        sequencer=sequencer,
        inputs=inputs,
        verdict=decide(inputs, POLICY, ON),
        decided_at="2026-01-15T10:00:00.000Z",
    )


def removal(sequencer: str | None, *, version_id: str | None = None, delete_marker: bool = False) -> ObjectEvent:
    return ObjectEvent(
        kind="removed",
        bucket=BUCKET,
        key="a song.mp3",
        version_id=version_id,
        sequencer=sequencer,
        delete_marker=delete_marker,
    )


@pytest.fixture
def table(dynamodb: Any) -> FlagsTable:
    return FlagsTable(dynamodb, TABLE)


def revoke(table: FlagsTable, event: ObjectEvent) -> bool:
    return table.revoke(event, policy_id="terms-2025-05", decided_at="2026-01-16T00:00:00.000Z")


def test_verdict_item_has_exactly_the_spec_attributes(table: FlagsTable) -> None:
    # Given a verdict for an upload
    # When it is written
    assert table.put_verdict(row("00643717F9F8B85354"))
    # Then the item holds SPEC's attributes with their values, nothing empty
    assert table.get(URI) == {
        "object_uri": URI,
        "bucket": BUCKET,
        "key": "a song.mp3",
        "etag": "e1",
        "sequencer": "00643717F9F8B85354",
        "sequencer_order": "0" * 46 + "00643717F9F8B85354",
        "size": 1234,
        "status": "decided",
        "eligible": {"ai_training": True, "genai_training": False},
        "reasons": {
            "ai_training": ["GRANTED_BY_TERMS:2025-05-14"],
            "genai_training": ["EMBEDDED_RESERVATION:tag:GENAI_TRAINING=no", "OPT_IN_REQUIRED"],
        },
        "policy_id": "terms-2025-05",
        "terms_version": "2025-05-14",
        "accepted_terms_version": "2025-05-14",
        "rights": {"uploader_id": "u-1", "label": "Indie Label", "isrc": "GBAYE0000001", "format": "mp3"},
        "signals": ["tag:GENAI_TRAINING=no"],
        "inputs": {
            "metadata": {"uploader-id": "u-1", "terms-version": "2025-05-14"},
            "rights": {"label": ["Indie Label"], "isrc": ["GBAYE0000001"]},
            "signals": ["tag:GENAI_TRAINING=no"],
            "format": "mp3",
            "consent": {"source": "object"},
        },
        "decided_at": "2026-01-15T10:00:00.000Z",
        # the implementation's own: the key of the eligible-only index of the eligible purpose,
        # and of the uploader index (consent propagation)
        "elig_ai_training": eligible_shard(URI),
        "uploader_id": "u-1",
    }


def test_sequencer_order_compares_hex_of_any_length() -> None:
    # Given sequencers of different lengths and cases
    # Then the padded forms order them numerically
    assert sequencer_order("ff") < sequencer_order("0100")
    assert sequencer_order("00643717f9f8b85354") == sequencer_order("643717F9F8B85354")
    assert len(sequencer_order("1")) == 64


def test_only_a_strictly_newer_event_overwrites(table: FlagsTable) -> None:
    # Given a verdict at sequencer 20
    assert table.put_verdict(row("20", etag="e20"))
    # When the same event is re-delivered, or an older one arrives, nothing changes
    assert not table.put_verdict(row("20", etag="e20", **{"ai-opt-out": "true"}))
    assert not table.put_verdict(row("1F", etag="e1f"))
    assert table.get(URI)["etag"] == "e20"
    assert table.get(URI)["eligible"]["ai_training"] is True
    # When a newer event arrives, it wins, and stale attributes do not survive
    assert table.put_verdict(row("0021", etag="e21"))
    assert table.get(URI)["etag"] == "e21"


def test_removal_revokes_and_keeps_rights_for_audit(table: FlagsTable) -> None:
    # Given a decided upload
    assert table.put_verdict(row("10"))
    # When it is removed by a newer event
    assert revoke(table, removal("11"))
    # Then every purpose is ineligible with DELETED; identity, rights and signals stay
    item = table.get(URI)
    assert item["status"] == "deleted"
    assert item["eligible"] == {"ai_training": False, "genai_training": False}
    assert item["reasons"] == {"ai_training": ["DELETED"], "genai_training": ["DELETED"]}
    assert (item["sequencer"], item["decided_at"], item["policy_id"]) == (
        "11",
        "2026-01-16T00:00:00.000Z",
        "terms-2025-05",
    )
    assert (item["etag"], item["rights"]["label"], item["signals"]) == ("e1", "Indie Label", ["tag:GENAI_TRAINING=no"])


def test_removal_is_ordered_too(table: FlagsTable) -> None:
    # Given an upload decided at sequencer 30
    assert table.put_verdict(row("30"))
    # When an older removal, or the same removal twice, arrives
    assert not revoke(table, removal("29"))
    assert table.get(URI)["status"] == "decided"
    assert revoke(table, removal("31"))
    assert not revoke(table, removal("31"))
    # Then only the newer one revoked, once
    assert table.get(URI)["sequencer"] == "31"


def test_removal_before_any_create_leaves_a_tombstone(table: FlagsTable) -> None:
    # Given no row, when a removal arrives
    assert revoke(table, removal("40"))
    tombstone = table.get(URI)
    assert (tombstone["status"], tombstone["sequencer"], tombstone["key"]) == ("deleted", "40", "a song.mp3")
    # Then an older create delivered late cannot resurrect the object
    assert not table.put_verdict(row("3F"))
    assert table.get(URI)["status"] == "deleted"
    # And a newer one (a re-upload) can
    assert table.put_verdict(row("41"))
    assert table.get(URI)["status"] == "decided"


def test_delete_marker_revokes_the_current_version(table: FlagsTable) -> None:
    # Given a versioned upload
    assert table.put_verdict(row("50", version_id="v1"))
    # When a delete marker (its own version id) is created
    assert revoke(table, removal("51", version_id="marker-1", delete_marker=True))
    # Then the row is deleted and still names the version it was decided for
    item = table.get(URI)
    assert (item["status"], item["version_id"]) == ("deleted", "v1")


def test_removing_another_version_changes_nothing(table: FlagsTable) -> None:
    # Given a row describing version v2
    assert table.put_verdict(row("60", version_id="v2"))
    before = table.get(URI)
    # When a non-current version v1 is permanently deleted
    assert not revoke(table, removal("61", version_id="v1"))
    # Then the row is untouched; deleting v2 itself revokes
    assert table.get(URI) == before
    assert revoke(table, removal("62", version_id="v2"))
    assert table.get(URI)["status"] == "deleted"


def test_a_removal_without_a_sequencer_revokes_and_a_later_create_decides_again(table: FlagsTable) -> None:
    # Given an eligible upload decided at sequencer 70
    assert table.put_verdict(row("70"))
    assert table.get(URI)["eligible"]["ai_training"] is True
    # When a removal that carries no sequencer arrives (it cannot be ordered)
    assert revoke(table, removal(None))
    # Then it still revokes (revoking can only deny), keeping the stored sequencer
    item = table.get(URI)
    assert (item["status"], item["eligible"], item["sequencer"]) == (
        "deleted",
        {"ai_training": False, "genai_training": False},
        "70",
    )
    assert "elig_ai_training" not in item
    # And the same create delivered again cannot undo it, while a newer create decides again
    assert not table.put_verdict(row("70"))
    assert table.put_verdict(row("71"))
    assert table.get(URI)["status"] == "decided"


def test_an_unsequenced_removal_of_another_version_changes_nothing(table: FlagsTable) -> None:
    # Given a row describing version v2
    assert table.put_verdict(row("72", version_id="v2"))
    # When version v1 is permanently removed by an event with no sequencer
    assert not revoke(table, removal(None, version_id="v1"))
    # Then the row stays; removing v2 that way revokes it
    assert table.get(URI)["status"] == "decided"
    assert revoke(table, removal(None, version_id="v2"))
    assert table.get(URI)["status"] == "deleted"


def test_an_unsequenced_removal_with_no_row_leaves_a_tombstone_any_sequenced_create_replaces(table: FlagsTable) -> None:
    assert revoke(table, removal(None))
    assert (table.get(URI)["status"], "sequencer" in table.get(URI)) == ("deleted", False)
    assert table.put_verdict(row("01"))
    assert table.get(URI)["status"] == "decided"


def _huge(sequencer: str, **meta: str) -> VerdictRow:
    """A row whose title and artist values alone pass the 400 KB item limit."""
    base = row(sequencer, **meta)
    extraction = Extraction(format="mp3", signals=list(base.inputs.extraction.signals))
    for field in ("title", "artist"):
        for number in range(3):
            extraction.add_right(field, f"{field} {number} " + "x" * 90_000)
    extraction.add_right("label", "Indie Label")
    inputs = DecisionInputs(base.inputs.metadata, extraction)
    return replace(base, inputs=inputs, verdict=decide(inputs, POLICY, ON))


def test_a_verdict_too_large_for_an_item_is_written_fail_closed(table: FlagsTable) -> None:
    # Given an eligible row at sequencer 80, then a new version whose rights make its row pass 400 KB
    assert table.put_verdict(row("80"))
    huge = _huge("81", **{"ai-opt-out": "true"})
    assert item_bytes(huge_item := verdict_item(replace(huge, verdict=huge.verdict))) <= MAX_ITEM_BYTES
    # When it is written
    assert table.put_verdict(huge)
    # Then the row is the fail-closed one: identity, the new sequencer, every purpose UNREADABLE:row-size
    item = table.get(URI)
    assert (item["status"], item["sequencer"], item["etag"]) == ("decided", "81", "e1")
    assert item["eligible"] == {"ai_training": False, "genai_training": False}
    assert item["reasons"] == {p: ["UNREADABLE:row-size"] for p in ("ai_training", "genai_training")}
    assert not any(name.startswith("elig_") for name in item)
    # And as much as fits of the rights, signals and inputs, in file order; a re-decision fails closed too
    assert item["inputs"]["unreadable"] == "row-size"
    assert item["inputs"]["metadata"]["ai-opt-out"] == "true"
    # (three 90 KB titles and the first in `rights` fit; the first artist, twice 90 KB more, does not)
    assert len(item["inputs"]["rights"]["title"]) == 3 and "artist" not in item["inputs"]["rights"]
    assert item["rights"]["title"].startswith("title 0 ")
    assert item == table.get(URI) and huge_item["object_uri"] == URI
    redecided = decide(DecisionInputs.from_dict(item["inputs"]), POLICY, ON)
    assert not any(redecided.eligible.values())


def test_a_row_that_fits_is_written_whole(table: FlagsTable) -> None:
    # Given a row just under the limit (two 95 KB titles)
    base = row("90")
    extraction = Extraction(format="mp3")
    for number in range(2):
        extraction.add_right("title", f"t{number}" + "y" * 95_000)
    fitting = replace(base, inputs=DecisionInputs(base.inputs.metadata, extraction))
    # Then fit() keeps it as it is
    assert fit(fitting) is fitting


def test_unsequenced_verdict_adds_a_row_or_refreshes_the_same_upload(table: FlagsTable) -> None:
    # Given no row, an unsequenced verdict (S3 Batch Operations) is written
    assert table.put_verdict(row(None, etag="e1"))
    assert "sequencer" not in table.get(URI)
    # When an event orders the key, the unsequenced verdict may refresh the same upload only
    assert table.put_verdict(row("70", etag="e1"))
    assert table.put_verdict(row(None, etag="e1", **{"ai-opt-out": "true"}))
    item = table.get(URI)
    assert (item["sequencer"], item["reasons"]["ai_training"]) == ("70", ["UPLOADER_OPT_OUT"])
    # Then it never overwrites another upload or a deleted row
    assert not table.put_verdict(row(None, etag="other"))
    assert revoke(table, removal("71"))
    assert not table.put_verdict(row(None, etag="e1"))
    assert table.get(URI)["status"] == "deleted"


def test_replace_verdict_refuses_a_row_changed_since_it_was_read(table: FlagsTable) -> None:
    # Given a row read at sequencer 80, then overwritten by a newer upload
    original = row("80", etag="e80")
    assert table.put_verdict(original)
    assert table.put_verdict(row("81", etag="e81"))
    # When a re-decision of the row as read is written
    redecided = replace(original, verdict=decide(replace(original.inputs), POLICY, ON))
    # Then it is refused; a re-decision of the current row is accepted
    assert not table.replace_verdict(redecided)
    assert table.replace_verdict(replace(redecided, sequencer="81", etag="e81"))


def test_scan_visits_every_row_once_across_segments(table: FlagsTable) -> None:
    # Given 25 rows
    for number in range(25):
        assert table.put_verdict(replace(row("01"), key=f"k{number:02d}"))
    # When the table is scanned in 3 segments
    seen = [item["key"] for segment in range(3) for item in table.scan(segment, 3)]
    # Then every row is seen exactly once
    assert sorted(seen) == [f"k{number:02d}" for number in range(25)]
