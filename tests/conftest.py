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
