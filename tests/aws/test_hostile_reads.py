"""Hostile files (`bench.hostile`) through the ranged S3 reader: refused after a handful of GETs."""

from __future__ import annotations

from typing import Any

import pytest

from bench.hostile import HOSTILE
from gatekeeper.dal.s3_source import S3ObjectSource
from gatekeeper.models import ObjectEvent
from gatekeeper.tags import extract
from tests.aws.support import BUCKET, upload

NAMES = ["flac: 1,000,000 PADDING blocks", "mp4: 1,000,000 top-level boxes", "wav: 200,000 empty chunks"]


@pytest.mark.parametrize("name", NAMES)
def test_through_the_ranged_reader_a_hostile_file_costs_few_gets(name: str, s3: Any) -> None:
    # Given a hostile file uploaded to S3
    data = HOSTILE[name][0]()
    change = upload(s3, "hostile.bin", data)
    event = ObjectEvent(kind="created", bucket=BUCKET, key=change.key, etag=change.etag, size=change.size)
    # When the gatekeeper reads it through ranged GETs
    stored = S3ObjectSource(s3).open(event)
    extraction = extract(stored.body)
    # Then it fails closed after a handful of GETs and a fraction of the file (the first 10,000 structures)
    assert extraction.unreadable == HOSTILE[name][1]
    assert stored.body.stats.requests <= 12, stored.body.stats
    assert stored.body.stats.bytes_fetched < len(data) / 4
