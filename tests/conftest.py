"""Shared test setup: no test may reach real AWS."""

import os

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for _k, _v in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_METRICS_NAMESPACE": "UploadGatekeeperTests",
    "POWERTOOLS_SERVICE_NAME": "gatekeeper",
}.items():
    os.environ[_k] = _v
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "mutagen-tests-data"
EVENTS_REFERENCE = SHARED / "events-reference"


@pytest.fixture
def corpus_dir() -> Path:
    assert CORPUS.is_dir(), f"real-world corpus missing at {CORPUS}"
    return CORPUS


@pytest.fixture
def events_reference_dir() -> Path:
    assert EVENTS_REFERENCE.is_dir(), f"reference events missing at {EVENTS_REFERENCE}"
    return EVENTS_REFERENCE


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server on loopback, for code that must reach AWS through `AWS_ENDPOINT_URL`."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
