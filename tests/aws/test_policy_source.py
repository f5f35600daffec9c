"""The policy source: a file or an S3 object, validated, cached with a TTL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.errors import PolicyUnavailable
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
        (f"s3://{BUCKET}/{POLICY_KEY}", b"{not json", "not valid JSON"),
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


# ---------------------------------------------------------------- the loader's bounds, on S3


def test_a_key_repeated_in_the_s3_policy_is_refused_not_last_one_wins(s3: Any) -> None:
    # Given SPEC's policy on S3 with `"carve_outs": []` repeated after the real carve-outs
    text = DEFAULT_POLICY_PATH.read_text().rstrip().removesuffix("}") + ', "carve_outs": []}'
    put_policy(s3, text.encode())
    # Then it is refused (the last one winning would drop every carve-out)
    with pytest.raises(PolicyError, match=r"^policy: key 'carve_outs' appears twice in one object$"):
        PolicySource(f"s3://{BUCKET}/{POLICY_KEY}", s3_client=s3).policy()


def _count_body_reads(s3: Any) -> list[int]:
    """The sizes of every read of a GetObject body through this client."""
    reads: list[int] = []

    def wrap(parsed: dict[str, Any], **_: Any) -> None:
        body = parsed["Body"]
        original = body.read

        def read(amount: int | None = None) -> bytes:
            data = original(amount)
            reads.append(len(data))
            return data

        body.read = read

    s3.meta.events.register("after-call.s3.GetObject", wrap)
    return reads


def test_an_s3_policy_over_the_bound_is_refused_by_its_length_without_reading_it(s3: Any) -> None:
    # Given a policy object larger than the source's bound
    body = json.dumps(document()).encode()
    put_policy(s3, body)
    reads = _count_body_reads(s3)
    source = PolicySource(f"s3://{BUCKET}/{POLICY_KEY}", s3_client=s3, max_bytes=len(body) - 1)
    # Then its ContentLength refuses it, and not a byte of the body was read
    over = rf"^s3://{BUCKET}/{POLICY_KEY}: {len(body)} bytes, over the size bound of {len(body) - 1} bytes"
    with pytest.raises(PolicyError, match=over):
        source.policy()
    assert reads == []
    # And within the bound it is read once, at most one byte over the bound at a time
    assert PolicySource(f"s3://{BUCKET}/{POLICY_KEY}", s3_client=s3, max_bytes=len(body)).policy().policy_id
    assert reads == [len(body)]


def test_the_size_bound_comes_from_the_environment(s3: Any) -> None:
    put_policy(s3, document())
    env = {"POLICY_URI": f"s3://{BUCKET}/{POLICY_KEY}", "GATEKEEPER_POLICY_MAX_BYTES": "100"}
    with pytest.raises(PolicyError, match="over the size bound of 100 bytes"):
        PolicySource.from_env(s3_client=s3, environ=env).policy()


def _failing_get(s3: Any, code: str, status: int) -> None:
    def fail(**_: Any) -> None:
        raise s3.exceptions.ClientError(
            {"Error": {"Code": code, "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
        )

    s3.meta.events.register("before-parameter-build.s3.GetObject", fail)


@pytest.mark.parametrize(
    ("code", "status"), [("SlowDown", 503), ("InternalError", 500), ("ThrottlingException", 400), ("Odd", 502)]
)
def test_a_transient_s3_failure_is_policy_unavailable(s3: Any, code: str, status: int) -> None:
    # Given S3 still failing after botocore's retries, for a reason that passes
    put_policy(s3, document())
    _failing_get(s3, code, status)
    # Then the policy is unavailable (retry later), not invalid
    with pytest.raises(PolicyUnavailable, match=code):
        PolicySource(f"s3://{BUCKET}/{POLICY_KEY}", s3_client=s3).policy()


def test_access_denied_is_an_unreadable_policy(s3: Any) -> None:
    put_policy(s3, document())
    _failing_get(s3, "AccessDenied", 403)
    with pytest.raises(PolicyError, match=rf"^s3://{BUCKET}/{POLICY_KEY}: cannot read \(AccessDenied: no\)$"):
        PolicySource(f"s3://{BUCKET}/{POLICY_KEY}", s3_client=s3).policy()


def test_no_connection_is_policy_unavailable() -> None:
    # Given an S3 endpoint nothing listens on, one attempt
    client = boto3.client(
        "s3", endpoint_url="http://127.0.0.1:9", config=Config(retries={"total_max_attempts": 1}, connect_timeout=1)
    )
    with pytest.raises(PolicyUnavailable, match="Could not connect"):
        PolicySource("s3://policies/policy.json", s3_client=client).policy()
