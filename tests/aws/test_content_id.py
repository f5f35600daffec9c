"""Content identification on moto, through the real Lambda handler, on real music (`make music`).

The catalogue holds a reference of the carve-out acme-records: 30 s of a Warzone 2100
track, decoded whole and indexed in the fingerprint table. Uploads are made from the
music with ffmpeg, every tag stripped, so nothing but the audio can name the label.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bench.music import MusicMissing, reference_tracks, track_name
from gatekeeper.dal.fingerprint_index import FingerprintIndex
from gatekeeper.dal.fingerprint_index import create_table as create_fingerprint_table
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.downstream.reevaluate import Reevaluator
from gatekeeper.handlers.runtime import reset_runtime
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from tests.aws.support import (
    BUCKET,
    DECISION_DATE,
    TABLE,
    Context,
    S3Calls,
    create_bucket,
    create_flags_table,
    handler_environment,
    sqs_of,
    upload,
)

pytest.importorskip("numpy", reason="the content-id extra (make venv installs it)")

FINGERPRINTS = "gatekeeper-fingerprints-test"
REFERENCE_TRACK, OTHER_TRACK = "legacy_soundtrack/track6", "legacy_soundtrack/track14"  # one composer, one album
OPTED_IN = {"uploader-id": "u-42", "terms-version": "2025-05-14", "genai-opt-in": "true"}
MATCH = "CONTENT_MATCH:acme-records/track6"


def ffmpeg(source: Path, start: float, seconds: float, *codec: str) -> bytes:
    """An excerpt of `source` re-encoded, with every tag and picture stripped."""
    command = ["ffmpeg", "-v", "error", "-ss", str(start), "-t", str(seconds), "-i", str(source),
               "-map_metadata", "-1", "-vn", *codec, "-"]  # fmt: skip
    return subprocess.run(command, capture_output=True, check=True).stdout


MP3 = ("-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3")
OPUS = ("-c:a", "libopus", "-b:a", "64k", "-f", "ogg")


@dataclass
class Catalogued:
    s3: Any
    dynamodb: Any
    index: FingerprintIndex
    tracks: dict[str, Path]
    policy: Path


@pytest.fixture(scope="module")
def catalogued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogued]:
    """Given a bucket, the flags table and a fingerprint table holding acme-records' reference (module-wide:
    indexing costs some 1,500 writes on moto)."""
    from gatekeeper import content_id

    try:
        tracks = {track_name(path): path for path in reference_tracks()}
    except MusicMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    policy = json.loads(DEFAULT_POLICY_PATH.read_text())
    policy["policy_id"] = "content-id-test"
    policy["content_id"] = {"required": True}
    policy_path = tmp_path_factory.mktemp("policy") / "policy.json"
    policy_path.write_text(json.dumps(policy))
    with mock_aws():
        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        create_bucket(s3)
        create_flags_table(dynamodb)
        assert create_fingerprint_table(dynamodb, FINGERPRINTS)
        index = FingerprintIndex(dynamodb, FINGERPRINTS)
        reference = ffmpeg(tracks[REFERENCE_TRACK], 40, 30, "-c:a", "flac", "-f", "flac")
        content_id.index_reference(io.BytesIO(reference), index, "track6", "acme-records")
        yield Catalogued(s3, dynamodb, index, tracks, policy_path)


@pytest.fixture
def handler(catalogued: Catalogued, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Lambda function with content identification on: its policy and the fingerprint table."""
    from functions.gatekeeper import app

    for name, value in handler_environment(policy_uri=str(catalogued.policy)).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FINGERPRINT_TABLE_NAME", FINGERPRINTS)
    reset_runtime()
    yield app
    reset_runtime()


def decide(catalogued: Catalogued, handler: Any, key: str, body: bytes) -> dict[str, Any]:
    change = upload(catalogued.s3, key, body, OPTED_IN)
    assert handler.lambda_handler(sqs_of(change), Context()) == {"batchItemFailures": []}
    row = FlagsTable(catalogued.dynamodb, TABLE).get(f"s3://{BUCKET}/{key}")
    assert row is not None
    return row


def test_a_stripped_reencode_of_a_reference_is_caught(catalogued: Catalogued, handler: Any) -> None:
    # Given the reference's recording re-encoded to MP3 with its tags stripped (nothing names the label)
    body = ffmpeg(catalogued.tracks[REFERENCE_TRACK], 40, 30, *MP3)
    # When it is uploaded and decided
    row = decide(catalogued, handler, "content/reencode.mp3", body)
    # Then both purposes (acme-records' carve-out covers all) are ineligible by content match
    assert row["eligible"] == {"ai_training": False, "genai_training": False}
    assert row["reasons"]["ai_training"] == [MATCH]
    assert "content:acme-records/track6" in row["signals"]
    # And the upload's fingerprint (not its matches: they are matched again) is stored with its inputs, compact
    content = row["inputs"]["content"]
    assert set(content) == {"fingerprint"}
    assert 0 < len(content["fingerprint"]) < 16_384


def test_an_excerpt_in_another_codec_is_caught(catalogued: Catalogued, handler: Any) -> None:
    row = decide(catalogued, handler, "content/excerpt.opus", ffmpeg(catalogued.tracks[REFERENCE_TRACK], 45, 15, *OPUS))
    assert row["reasons"]["ai_training"] == [MATCH]


def test_an_unrelated_track_by_the_same_composer_is_granted(catalogued: Catalogued, handler: Any) -> None:
    row = decide(catalogued, handler, "content/other.mp3", ffmpeg(catalogued.tracks[OTHER_TRACK], 40, 30, *MP3))
    assert row["eligible"] == {"ai_training": True, "genai_training": True}
    assert "fingerprint" in row["inputs"]["content"]
    assert not any(signal.startswith("content:") for signal in row.get("signals", []))


def test_audio_too_short_to_check_fails_closed(catalogued: Catalogued, handler: Any) -> None:
    # Given 5 s of audio (content identification needs 10 s) and a policy that requires the check
    row = decide(catalogued, handler, "content/short.mp3", ffmpeg(catalogued.tracks[OTHER_TRACK], 40, 5, *MP3))
    # Then no purpose is granted: the audio could not be checked
    assert row["eligible"] == {"ai_training": False, "genai_training": False}
    assert row["reasons"]["ai_training"] == ["CONTENT_UNCHECKED:too-short"]


def test_a_file_with_no_audio_stream_fails_closed(catalogued: Catalogued, handler: Any) -> None:
    row = decide(catalogued, handler, "content/not-audio.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 40_000)
    assert row["eligible"] == {"ai_training": False, "genai_training": False}
    assert any(reason.startswith(("CONTENT_UNCHECKED:", "UNREADABLE")) for reason in row["reasons"]["ai_training"])


def test_an_unreachable_index_retries_the_record_and_writes_nothing(
    catalogued: Catalogued, handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function pointed at a fingerprint table that does not exist (the index unreachable)
    monkeypatch.setenv("FINGERPRINT_TABLE_NAME", "no-such-fingerprint-table")
    reset_runtime()
    change = upload(catalogued.s3, "content/retried.mp3", ffmpeg(catalogued.tracks[OTHER_TRACK], 40, 30, *MP3), OPTED_IN)
    event = sqs_of(change)
    # When the record is handled
    response = handler.lambda_handler(event, Context())
    # Then it is reported failed (SQS delivers it again), and no verdict was written
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert FlagsTable(catalogued.dynamodb, TABLE).get(f"s3://{BUCKET}/content/retried.mp3") is None


def test_reevaluation_after_the_catalogue_grows_flips_the_row_reading_no_audio(
    catalogued: Catalogued, handler: Any
) -> None:
    from gatekeeper import content_id

    # Given an upload of another track, granted while the catalogue does not hold it
    key = "content/later-delivered.mp3"
    row = decide(catalogued, handler, key, ffmpeg(catalogued.tracks[OTHER_TRACK], 100, 30, *MP3))
    assert row["eligible"]["ai_training"] is True
    # When its label delivers that recording as a reference, and the table is re-evaluated
    reference = ffmpeg(catalogued.tracks[OTHER_TRACK], 95, 40, "-c:a", "flac", "-f", "flac")
    content_id.index_reference(io.BytesIO(reference), catalogued.index, "track14", "acme-records")
    calls = S3Calls(catalogued.s3)
    table = FlagsTable(catalogued.dynamodb, TABLE)
    policy = load_policy_file(catalogued.policy)
    summary = Reevaluator(table, policy, dt.date.fromisoformat(DECISION_DATE), references=catalogued.index).run(1)
    # Then the row flips to the match from its stored fingerprint, and no audio byte was read
    after = table.get(f"s3://{BUCKET}/{key}")
    assert after["reasons"]["ai_training"] == ["CONTENT_MATCH:acme-records/track14"]
    assert summary.outcomes["rewritten"] >= 1
    assert calls.calls == 0
    # And removing the reference grants it again, still reading nothing
    assert catalogued.index.remove("track14")
    Reevaluator(table, policy, dt.date.fromisoformat(DECISION_DATE), references=catalogued.index).run(1)
    assert table.get(f"s3://{BUCKET}/{key}")["eligible"]["ai_training"] is True
    assert calls.calls == 0
