"""`gatekeeper consent init|set|show` against a moto *server*: the account's record
changes, and `set` re-decides that account's uploads at once (`--no-apply` leaves it
to the propagation function)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from gatekeeper.dal.flags_table import create_table
from gatekeeper.samples import make_audio
from tests.cli.support import run_gatekeeper

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "gatekeeper-uploads-example"
KEY = "uploads/Björk – Jóga (live) 1+1.mp3"
TABLE = "gatekeeper-flags-consent-cli"
CONSENT = "gatekeeper-consent-cli"
URI = f"s3://{BUCKET}/{KEY}"


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[dict[str, Any]]:
    """The sample event's object (its metadata opted in to generative training) and an empty flags table."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_audio("mp3", tags={"title": "Jóga"}),
                  Metadata={"uploader-id": "u-7", "terms-version": "2025-05-14", "genai-opt-in": "true"})  # fmt: skip
    create_table(dynamodb, TABLE)
    yield {"s3": s3, "dynamodb": dynamodb}
    for table in (TABLE, CONSENT):
        if table in dynamodb.list_tables()["TableNames"]:
            dynamodb.delete_table(TableName=table)
    for version in s3.list_object_versions(Bucket=BUCKET).get("Versions", []):
        s3.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=BUCKET)


def gatekeeper(endpoint: str, home: Path, *args: str) -> Any:
    return run_gatekeeper(endpoint, home, TABLE, *args, CONSENT_TABLE_NAME=CONSENT)


def reasons(aws: dict[str, Any]) -> dict[str, list[str]]:
    item = aws["dynamodb"].get_item(TableName=TABLE, Key={"object_uri": {"S": URI}})["Item"]
    return {purpose: [r["S"] for r in value["L"]] for purpose, value in item["reasons"]["M"].items()}


def test_an_account_withdraws_its_opt_in_and_its_upload_is_redecided(moto_endpoint, aws, tmp_path):
    # Given the consent table, and an upload decided under the object's genai opt-in
    init = gatekeeper(moto_endpoint, tmp_path, "consent", "init")
    assert init.returncode == 0 and "created" in init.stdout, init.stderr
    assert "already exists" in gatekeeper(moto_endpoint, tmp_path, "consent", "init").stdout
    decided = gatekeeper(moto_endpoint, tmp_path, "invoke", "--event", str(ROOT / "events" / "s3-put.json"))
    assert decided.returncode == 0, decided.stderr
    assert reasons(aws)["genai_training"] == ["GRANTED_BY_TERMS:2025-05-14"]
    # When the account's record says it has not opted in
    proc = gatekeeper(moto_endpoint, tmp_path, "consent", "set", "u-7", "--no-genai-opt-in")
    # Then `set` prints the record and re-decides the account's upload at once
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("u-7: ai_opt_out=false genai_opt_in=false updated_at=20")
    assert "1 upload(s) of u-7 re-decided: 1 rewritten" in proc.stdout
    assert reasons(aws) == {"ai_training": ["GRANTED_BY_TERMS:2025-05-14"], "genai_training": ["OPT_IN_REQUIRED"]}
    # And `show --json` reads the record back
    shown = json.loads(gatekeeper(moto_endpoint, tmp_path, "consent", "show", "u-7", "--json").stdout)
    assert (shown["uploader_id"], shown["ai_opt_out"], shown["genai_opt_in"]) == ("u-7", False, False)


def test_no_apply_changes_only_the_record(moto_endpoint, aws, tmp_path):
    assert gatekeeper(moto_endpoint, tmp_path, "consent", "init").returncode == 0
    assert gatekeeper(moto_endpoint, tmp_path, "invoke", "--event", str(ROOT / "events" / "s3-put.json")).returncode == 0
    proc = gatekeeper(moto_endpoint, tmp_path, "consent", "set", "u-7", "--ai-opt-out", "--no-apply")
    assert proc.returncode == 0, proc.stderr
    assert "re-decided" not in proc.stdout
    assert reasons(aws)["ai_training"] == ["GRANTED_BY_TERMS:2025-05-14"]  # left to the function
    # A later decision of the same upload reads the account's record
    song = tmp_path / "song.mp3"
    song.write_bytes(make_audio("mp3", tags={"title": "Jóga"}))
    decide = gatekeeper(moto_endpoint, tmp_path, "decide", "--meta", "uploader-id=u-7", "--meta",
                        "terms-version=2025-05-14", "--json", str(song))  # fmt: skip
    assert json.loads(decide.stdout.splitlines()[0])["reasons"]["ai_training"] == ["UPLOADER_OPT_OUT"], decide.stderr


def test_a_missing_table_or_uploader_is_a_usage_error(moto_endpoint, aws, tmp_path):
    unset = run_gatekeeper(moto_endpoint, tmp_path, TABLE, "consent", "show", "u-7")
    assert unset.returncode == 2 and "CONSENT_TABLE_NAME is not set" in unset.stderr
    blank = gatekeeper(moto_endpoint, tmp_path, "consent", "set", "  ", "--ai-opt-out")
    assert blank.returncode == 2 and "an uploader id is needed" in blank.stderr
    assert gatekeeper(moto_endpoint, tmp_path, "consent", "init").returncode == 0
    none = gatekeeper(moto_endpoint, tmp_path, "consent", "show", "u-nobody")
    assert none.returncode == 0 and "no account record" in none.stdout
