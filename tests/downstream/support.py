"""Downstream test helpers: the indexed flags table, and a catalogue decided by the real service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from gatekeeper.dal.flags_table import (
    ELIGIBLE_INDEX_PROJECTION,
    FlagsTable,
    eligible_attribute,
    eligible_index_name,
)
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.dal.s3_source import S3ObjectSource
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH
from gatekeeper.models import PURPOSES, ObjectEvent
from gatekeeper.samples import make_audio
from gatekeeper.service import Gatekeeper
from tests.aws.support import BUCKET, TABLE, upload

ON = dt.date(2026, 1, 15)


def create_indexed_flags_table(dynamodb: Any, name: str = TABLE) -> None:
    """The flags table with one sparse, sharded eligible-only index per purpose, as the template declares it."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "object_uri", "AttributeType": "S"},
            *({"AttributeName": eligible_attribute(p), "AttributeType": "S"} for p in PURPOSES),
        ],
        KeySchema=[{"AttributeName": "object_uri", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": eligible_index_name(purpose),
                "KeySchema": [
                    {"AttributeName": eligible_attribute(purpose), "KeyType": "HASH"},
                    {"AttributeName": "object_uri", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(ELIGIBLE_INDEX_PROJECTION)},
            }
            for purpose in PURPOSES
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass(frozen=True)
class Upload:
    """One object of the test catalogue: its key, embedded tags and platform metadata."""

    key: str
    tags: dict[str, str]
    metadata: dict[str, str]


def gatekeeper(s3: Any, table: FlagsTable) -> Gatekeeper:
    return Gatekeeper(S3ObjectSource(s3), table, PolicySource(str(DEFAULT_POLICY_PATH)), today=lambda: ON)


def decide_uploads(s3: Any, table: FlagsTable, uploads: list[Upload], *, fmt: str = "mp3") -> None:
    """Upload each object and decide it through the real service (ranged S3 reads, conditional writes)."""
    service = gatekeeper(s3, table)
    for item in uploads:
        change = upload(s3, item.key, make_audio(fmt, tags=item.tags), item.metadata)
        service.handle(
            ObjectEvent(
                kind="created",
                bucket=BUCKET,
                key=item.key,
                etag=change.etag,
                version_id=change.version_id,
                sequencer=change.sequencer,
                size=change.size,
            )
        )
