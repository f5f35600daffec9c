"""The downstream commands as an operator runs them: separate processes against `AWS_ENDPOINT_URL` (a moto server)."""

from __future__ import annotations

import csv
import io
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
from tests.downstream.support import policy_with_beta

ROOT = Path(__file__).resolve().parents[2]
EVENT = ROOT / "events" / "s3-batch-operations.json"
BUCKET = "gatekeeper-uploads-example"
KEY = "uploads/Björk – Jóga (live) 1+1.mp3"
TABLE = "gatekeeper-flags-downstream-cli"


@pytest.fixture
def catalogue(moto_endpoint: str) -> Iterator[None]:
    """The sample event's object, by Beta Records, in a bucket; an empty flags table with its indexes."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    metadata = {"uploader-id": "u-7", "terms-version": "2025-05-14", "genai-opt-in": "true"}
    body = make_audio("mp3", tags={"title": "Jóga", "artist": "Björk", "label": "Beta Records"})
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body, Metadata=metadata)
    create_table(dynamodb, TABLE)
    yield
    dynamodb.delete_table(TableName=TABLE)
    s3.delete_object(Bucket=BUCKET, Key=KEY)
    s3.delete_bucket(Bucket=BUCKET)


def gatekeeper(moto_endpoint: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_gatekeeper(moto_endpoint, home, TABLE, *args)


def test_backfill_export_and_reevaluate_against_an_endpoint(moto_endpoint: str, catalogue: None, tmp_path: Path) -> None:
    # Given the sample S3 Batch Operations invocation for an object in the emulator
    # When it is invoked locally
    proc = gatekeeper(moto_endpoint, tmp_path, "invoke", "--event", str(EVENT))
    # Then the one task succeeded
    assert proc.returncode == 0, proc.stderr
    response: dict[str, Any] = json.loads(proc.stdout)
    assert [r["resultCode"] for r in response["results"]] == ["Succeeded"]

    # When the ai_training manifest is exported as CSV
    proc = gatekeeper(moto_endpoint, tmp_path, "export", "--purpose", "ai_training", "--format", "csv")
    # Then it lists the object with its attribution
    assert proc.returncode == 0, proc.stderr
    [entry] = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert (entry["object_uri"], entry["rights.artist"], entry["rights.label"]) == (
        f"s3://{BUCKET}/{KEY}",
        "Björk",
        "Beta Records",
    )
    assert proc.stderr.strip() == "1 object(s) eligible for ai_training"

    # When the table is re-evaluated under a carve-out for Beta Records
    policy = policy_with_beta(tmp_path / "policy.json")
    proc = gatekeeper(moto_endpoint, tmp_path, "reevaluate", "--policy", str(policy), "--segments", "2", "--json")
    # Then the row flipped, and the manifest is empty
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["flips"]["ai_training"] == {"to_ineligible": 1}
    proc = gatekeeper(moto_endpoint, tmp_path, "export", "--purpose", "ai_training")
    assert (proc.returncode, proc.stdout) == (0, "")
