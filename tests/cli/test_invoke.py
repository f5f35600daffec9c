"""`gatekeeper invoke --event`: the real handler, run locally, against a moto *server*
given by `AWS_ENDPOINT_URL` (a separate endpoint, as a user would run it)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from gatekeeper.dal.flags_table import create_table
from gatekeeper.samples import make_audio
from tests.cli.support import run_gatekeeper

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
BUCKET = "gatekeeper-uploads-example"
KEY = "uploads/Björk – Jóga (live) 1+1.mp3"
TABLE = "gatekeeper-flags-cli"


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[dict[str, Any]]:
    """A bucket holding the sample events' object and an empty flags table."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET,
        Key=KEY,
        Body=make_audio("mp3", tags={"title": "Jóga", "artist": "Björk", "label": "One Little Independent"}),
        Metadata={"uploader-id": "u-7", "terms-version": "2025-05-14", "genai-opt-in": "true"},
    )
    create_table(dynamodb, TABLE)
    yield {"s3": s3, "dynamodb": dynamodb}
    dynamodb.delete_table(TableName=TABLE)
    for version in s3.list_object_versions(Bucket=BUCKET).get("Versions", []):
        s3.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=BUCKET)


def invoke(endpoint: str, event: Path, tmp_path: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    table = extra_env.pop("FLAGS_TABLE_NAME", TABLE)
    return run_gatekeeper(endpoint, tmp_path, table, "invoke", "--event", str(event), **extra_env)


def row(aws: dict[str, Any]) -> dict[str, Any] | None:
    item = aws["dynamodb"].get_item(TableName=TABLE, Key={"object_uri": {"S": f"s3://{BUCKET}/{KEY}"}}).get("Item")
    return item


def last_json(stdout: str) -> Any:
    """The handler's response: stdout holds it alone (logs and metrics go to stderr)."""
    return json.loads(stdout)


@pytest.mark.parametrize("event", ["sqs-put.json", "s3-put.json", "eventbridge-put.json"])
def test_a_sample_put_event_writes_the_verdict_row(moto_endpoint, aws, tmp_path, event):
    # Given the sample event's object in the emulator
    # When the sample event is invoked through the command
    proc = invoke(moto_endpoint, EVENTS / event, tmp_path)
    # Then it succeeds and the row holds the decision for the decoded key
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"message":"created event decided"' in proc.stderr  # structured logs on stderr
    item = row(aws)
    assert item is not None, proc.stdout
    assert item["status"]["S"] == "decided"
    assert item["eligible"]["M"] == {"ai_training": {"BOOL": True}, "genai_training": {"BOOL": True}}
    assert item["rights"]["M"]["artist"]["S"] == "Björk"
    if event.startswith("sqs"):
        assert last_json(proc.stdout) == {"batchItemFailures": []}


def test_a_delete_after_the_put_revokes(moto_endpoint, aws, tmp_path):
    assert invoke(moto_endpoint, EVENTS / "sqs-put.json", tmp_path).returncode == 0
    proc = invoke(moto_endpoint, EVENTS / "sqs-delete.json", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    item = row(aws)
    assert item["status"]["S"] == "deleted"
    assert item["reasons"]["M"]["ai_training"]["L"] == [{"S": "DELETED"}]


def test_the_sqs_test_event_is_acknowledged(moto_endpoint, aws, tmp_path):
    proc = invoke(moto_endpoint, EVENTS / "sqs-test-event.json", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout) == {"batchItemFailures": []}
    assert row(aws) is None


@pytest.mark.parametrize("event", ["sqs-put.json", "s3-put.json"])
def test_a_failing_handler_exits_1(moto_endpoint, aws, tmp_path, event):
    # Given a table that does not exist, so the write fails after retries
    proc = invoke(moto_endpoint, EVENTS / event, tmp_path, FLAGS_TABLE_NAME="no-such-table")
    # Then the command reports the failure the way Lambda would retry it
    assert proc.returncode == 1, proc.stdout + proc.stderr
    if event.startswith("sqs"):
        assert len(last_json(proc.stdout)["batchItemFailures"]) == 1
    else:
        assert "RecordsFailed" in proc.stdout


def test_an_invalid_policy_exits_2_naming_the_field(moto_endpoint, aws, tmp_path):
    policy = tmp_path / "bad.json"
    policy.write_text(json.dumps({"policy_id": "x", "terms": [{"version": "v", "effective": "2024-13-01", "grants": []}]}))
    proc = invoke(moto_endpoint, EVENTS / "sqs-put.json", tmp_path, POLICY_URI=str(policy))
    assert proc.returncode == 2
    assert "terms[0].effective" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert row(aws) is None


def test_a_missing_event_file_is_bad_usage(moto_endpoint, tmp_path):
    proc = invoke(moto_endpoint, tmp_path / "nope.json", tmp_path)
    assert proc.returncode == 2 and "nope.json" in proc.stderr
