"""The reference indexing function on moto: the catalogue kept in step with `references/` of the
reference bucket, through the real handler, on real music (`make music`).

Each reference is 12 s of a Warzone 2100 track (a few hundred hash keys, so moto indexes
it in seconds); the bucket is versioned, as the template makes it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bench.music import MusicMissing, reference_tracks, track_name
from gatekeeper.dal.fingerprint_index import FingerprintIndex, create_table
from gatekeeper.handlers import references as references_handler
from tests.aws.support import Context, create_bucket, remove, sqs_of, upload

pytest.importorskip("numpy", reason="the content-id extra (make venv installs it)")

REFERENCES = "gatekeeper-references-test"
FINGERPRINTS = "gatekeeper-fingerprints-sync"


@pytest.fixture(scope="module")
def clips() -> dict[str, bytes]:
    """12 s of two tracks as FLAC, and 12 s of the first as MP3 (another delivery of the same id)."""
    try:
        tracks = {track_name(path): path for path in reference_tracks()}
    except MusicMissing as exc:
        pytest.fail(str(exc), pytrace=False)

    def cut(name: str, *codec: str) -> bytes:
        command = ["ffmpeg", "-v", "error", "-ss", "30", "-t", "12", "-i", str(tracks[name]), "-map_metadata", "-1",
                   "-vn", *codec, "-"]  # fmt: skip
        return subprocess.run(command, capture_output=True, check=True).stdout

    return {
        "one": cut("legacy_soundtrack/track8", "-c:a", "flac", "-f", "flac"),
        "two": cut("legacy_soundtrack/track9", "-c:a", "flac", "-f", "flac"),
    }


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, FingerprintIndex, Any]]:
    """The versioned reference bucket, the fingerprint table, and the indexing function's module."""
    from functions.references import app

    with mock_aws():
        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        create_bucket(s3, REFERENCES, versioned=True)
        create_table(dynamodb, FINGERPRINTS)
        monkeypatch.setenv("FINGERPRINT_TABLE_NAME", FINGERPRINTS)
        references_handler.reset()
        yield s3, FingerprintIndex(dynamodb, FINGERPRINTS), app
        references_handler.reset()


def deliver(app: Any, *changes: Any) -> dict[str, Any]:
    return app.lambda_handler(sqs_of(*changes), Context())


def test_a_put_indexes_the_reference_under_its_carve_out_and_a_removal_removes_it(
    synced: tuple[Any, FingerprintIndex, Any], clips: dict[str, bytes]
) -> None:
    s3, index, app = synced
    # When acme-records delivers a reference
    put = upload(s3, "references/acme-records/ISRC-GBXYZ2500001", clips["one"], bucket=REFERENCES)
    assert deliver(app, put) == {"batchItemFailures": []}
    # Then it is in the catalogue, as that carve-out's
    reference = index.get("ISRC-GBXYZ2500001")
    assert reference is not None and reference.carve_out == "acme-records" and reference.keys > 50
    # When the object is deleted (a delete marker: the bucket is versioned)
    assert deliver(app, remove(s3, "references/acme-records/ISRC-GBXYZ2500001", bucket=REFERENCES)) == {
        "batchItemFailures": []
    }
    # Then it matches nothing any more
    assert index.get("ISRC-GBXYZ2500001") is None


def test_deleting_an_old_version_keeps_the_current_reference(
    synced: tuple[Any, FingerprintIndex, Any], clips: dict[str, bytes]
) -> None:
    s3, index, app = synced
    key = "references/acme-records/track"
    first = upload(s3, key, clips["one"], bucket=REFERENCES)
    second = upload(s3, key, clips["two"], bucket=REFERENCES)  # a corrected delivery replaces it
    assert deliver(app, first) == {"batchItemFailures": []}  # superseded: the current object is another
    assert deliver(app, second) == {"batchItemFailures": []}
    indexed = index.get("track")
    assert indexed is not None
    # When the first version is deleted for good (by hand, or a noncurrent-version lifecycle rule)
    gone = remove(s3, key, bucket=REFERENCES, version_id=first.version_id)
    assert deliver(app, gone) == {"batchItemFailures": []}
    # Then the current delivery stays indexed
    assert index.get("track") == indexed


def test_a_stale_put_after_the_removal_never_resurrects_the_reference(
    synced: tuple[Any, FingerprintIndex, Any], clips: dict[str, bytes]
) -> None:
    s3, index, app = synced
    key = "references/acme-records/withdrawn"
    put = upload(s3, key, clips["one"], bucket=REFERENCES)
    removal = remove(s3, key, bucket=REFERENCES)
    # When the removal is delivered before the put (SQS does not keep order)
    assert deliver(app, removal) == {"batchItemFailures": []}
    assert deliver(app, put) == {"batchItemFailures": []}
    # Then the reference is not in the catalogue: the put found no current object
    assert index.get("withdrawn") is None


def test_other_keys_and_files_that_are_not_audio_are_acknowledged_not_indexed(
    synced: tuple[Any, FingerprintIndex, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    s3, index, app = synced
    outside = upload(s3, "incoming/readme.txt", b"not a reference", bucket=REFERENCES)
    no_carve_out = upload(s3, "references/loose-file.flac", b"fLaC", bucket=REFERENCES)
    junk = upload(s3, "references/acme-records/junk.flac", b"fLaC" + b"\x00" * 4000, bucket=REFERENCES)
    assert deliver(app, outside, no_carve_out, junk) == {"batchItemFailures": []}
    assert list(index.references()) == []
    # And the file that is not audio is counted, for the alarm
    assert '"ReferenceUnreadable"' in capsys.readouterr().out


def test_an_unreachable_index_retries_the_message(
    synced: tuple[Any, FingerprintIndex, Any], clips: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, index, app = synced
    monkeypatch.setenv("FINGERPRINT_TABLE_NAME", "no-such-table")
    references_handler.reset()
    event = sqs_of(upload(s3, "references/acme-records/later", clips["one"], bucket=REFERENCES))
    response = app.lambda_handler(event, Context())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
