"""The benchmark's moto server answers GETs as stock moto does, reading only what it sends."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.motoserver import STREAM_PIECE_BYTES, moto_endpoint

BUCKET = "motoserver-test"
DATA = random.Random(5).randbytes(3 * STREAM_PIECE_BYTES + 12_345)  # streamed in several pieces
RANGES = (
    None,
    "bytes=0-0",
    "bytes=0-49151",
    "bytes=-16384",
    "bytes=100-",
    f"bytes={len(DATA) - 10}-{len(DATA) + 500}",  # runs past the end
    f"bytes=-{len(DATA) + 1000}",  # a suffix longer than the object
    f"bytes={len(DATA)}-",  # starts past the end: 416
    "bytes=-0",  # an empty suffix: 416
    "bytes=0-1,5-6",  # several ranges: stock moto sends the whole object
    "bytes=abc",  # malformed: the whole object
    "bytes=10-5",  # inverted: the whole object
)


def _client(endpoint: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    return session.client("s3", endpoint_url=endpoint)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    """Given the benchmark's server and a stock moto server, each holding the same objects."""
    patch = pytest.MonkeyPatch()
    clients = {}
    with moto_endpoint() as ours:
        patch.setenv("BENCH_MOTO_STOCK_GETS", "1")
        with moto_endpoint() as stock:
            patch.undo()
            for name, endpoint in (("ours", ours), ("stock", stock)):
                client = _client(endpoint)
                client.create_bucket(Bucket=BUCKET)
                client.put_object(Bucket=BUCKET, Key="data", Body=DATA, Metadata={"uploader-id": "u1"})
                client.put_object(Bucket=BUCKET, Key="empty", Body=b"")
                clients[name] = client
            yield clients


def _answer(client: Any, key: str, byte_range: str | None, **extra: Any) -> tuple[Any, ...]:
    params: dict[str, Any] = {"Bucket": BUCKET, "Key": key, **extra}
    if byte_range:
        params["Range"] = byte_range
    try:
        response = client.get_object(**params)
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"])
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response.get("ContentRange"),
        response["ContentLength"],
        response["ETag"],
        response["Metadata"],
        response["Body"].read(),
    )


@pytest.mark.parametrize("byte_range", RANGES, ids=str)
@pytest.mark.parametrize("key", ["data", "empty"])
def test_a_get_answers_as_stock_moto(servers: dict[str, Any], key: str, byte_range: str | None) -> None:
    # When the same GET goes to both servers
    ours, stock = (_answer(servers[name], key, byte_range) for name in ("ours", "stock"))
    # Then status, range, length, ETag, metadata and bytes are the same
    assert ours == stock


def test_a_whole_object_streamed_in_pieces_is_the_object(servers: dict[str, Any]) -> None:
    # When the whole object is fetched (streamed in 1 MiB pieces), then it is every byte, in order
    assert servers["ours"].get_object(Bucket=BUCKET, Key="data")["Body"].read() == DATA


def test_conditions_still_hold(servers: dict[str, Any]) -> None:
    # When a ranged GET names an ETag the object does not have, then both refuse it alike
    ours, stock = (
        _answer(servers[name], "data", "bytes=0-9", IfMatch='"0123456789abcdef0123456789abcdef"')
        for name in ("ours", "stock")
    )
    assert ours == stock and ours[0] == "error"
