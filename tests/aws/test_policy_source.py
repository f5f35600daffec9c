"""The policy source: a file or an S3 object, validated, cached with a TTL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH
from gatekeeper.models import PolicyError
from tests.aws.support import BUCKET

POLICY_KEY = "config/policy.json"


def document(policy_id: str = "terms-2025-05") -> dict[str, Any]:
    doc = json.loads(DEFAULT_POLICY_PATH.read_text())
    doc["policy_id"] = policy_id
    return doc


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def put_policy(s3: Any, doc: Any) -> None:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    s3.put_object(Bucket=BUCKET, Key=POLICY_KEY, Body=body)


def test_file_policy_is_loaded_and_validated(tmp_path: Path) -> None:
    # Given a policy file on disk
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document("from-file")))
    # When the source is asked for the policy, then it is the parsed document
    assert PolicySource(str(path)).policy().policy_id == "from-file"


def test_s3_policy_is_cached_for_its_ttl(s3: Any) -> None:
    # Given a policy on S3 and a source with a 300 s TTL
    put_policy(s3, document("first"))
    clock = Clock()
    source = PolicySource(f"s3://{BUCKET}/{POLICY_KEY}", s3_client=s3, ttl_seconds=300, clock=clock)
    assert source.policy().policy_id == "first"
    # When the operator replaces it
    put_policy(s3, document("second"))
    # Then the cached one serves until the TTL passes, then the new one takes effect
    clock.now += 299
    assert source.policy().policy_id == "first"
    clock.now += 1
    assert source.policy().policy_id == "second"


def test_invalid_policy_names_the_field_every_time(s3: Any) -> None:
    # Given a policy with an impossible date
    doc = document()
    doc["terms"][0]["effective"] = "2024-02-30"
    put_policy(s3, doc)
    source = PolicySource(f"s3://{BUCKET}/{POLICY_KEY}", s3_client=s3, ttl_seconds=300)
    # When it is loaded, twice
    for _ in range(2):
        with pytest.raises(PolicyError) as problem:
            source.policy()
        # Then it is refused with a one-line message naming the field
        assert "terms[0].effective" in str(problem.value)
        assert "\n" not in str(problem.value)


@pytest.mark.parametrize(
    ("uri", "body", "message"),
    [
        (f"s3://{BUCKET}/missing.json", None, "no such object"),
        (f"s3://{BUCKET}/{POLICY_KEY}", b"{not json", "not a JSON document"),
        ("s3://only-a-bucket", None, "not an s3://bucket/key address"),
    ],
)
def test_unusable_s3_policy_is_a_policy_error(s3: Any, uri: str, body: bytes | None, message: str) -> None:
    # Given a policy address that leads to no valid document
    if body is not None:
        put_policy(s3, body)
    # Then asking for the policy fails with a PolicyError saying why
    with pytest.raises(PolicyError, match=message):
        PolicySource(uri, s3_client=s3).policy()


def test_configuration_from_the_environment(tmp_path: Path) -> None:
    # Given POLICY_URI and a TTL in the environment
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document("env")))
    clock_free = PolicySource.from_env(environ={"POLICY_URI": str(path), "GATEKEEPER_POLICY_TTL_SECONDS": "5"})
    # Then the source uses them
    assert clock_free.policy().policy_id == "env"
    # And a missing POLICY_URI or a bad TTL is a PolicyError naming the variable
    with pytest.raises(PolicyError, match="POLICY_URI"):
        PolicySource.from_env(environ={})
    with pytest.raises(PolicyError, match="GATEKEEPER_POLICY_TTL_SECONDS"):
        PolicySource.from_env(environ={"POLICY_URI": str(path), "GATEKEEPER_POLICY_TTL_SECONDS": "soon"})
