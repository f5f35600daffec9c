"""Downstream test helpers: the indexed flags table, and a catalogue decided by the real service."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper.dal import VerdictRow
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.dal.s3_source import S3ObjectSource
from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import PURPOSES, DecisionInputs, Extraction, ObjectEvent, PlatformMetadata
from gatekeeper.samples import make_audio
from gatekeeper.service import Gatekeeper
from tests.aws.support import BUCKET, next_sequencer, upload

ON = dt.date(2026, 1, 15)


@dataclass(frozen=True)
class Upload:
    """One object of the test catalogue: its key, embedded tags and platform metadata, and
    what SPEC says of it: the purposes eligible under the default policy, and whether the
    carve-out for Beta Records (`BETA_CARVE_OUT`) matches it."""

    key: str
    tags: dict[str, str]
    metadata: dict[str, str]
    eligible: frozenset[str]
    beta: bool = False

    @property
    def object_uri(self) -> str:
        return f"s3://{BUCKET}/{self.key}"


ACCEPTED = {"uploader-id": "u-1", "terms-version": "2025-05-14"}
OPTED_IN = {**ACCEPTED, "genai-opt-in": "true"}
BOTH = frozenset(PURPOSES)
AI_ONLY = frozenset({"ai_training"})
NONE: frozenset[str] = frozenset()

#: A catalogue covering the rules; `beta` marks what a carve-out for Beta Records matches.
CATALOGUE: tuple[Upload, ...] = (
    Upload("plain.mp3", {"title": "Plain", "artist": "Ann"}, ACCEPTED, AI_ONLY),
    Upload("opted in/Jóga 1+1.mp3", {"title": "Jóga", "artist": "Björk", "isrc": "GBAYE2400001"}, OPTED_IN, BOTH),
    Upload("opt-out.mp3", {"title": "Mine"}, {**OPTED_IN, "ai-opt-out": ""}, NONE),
    Upload("acme.mp3", {"label": "Acme Records"}, OPTED_IN, NONE),
    Upload("reserved.mp3", {"GENAI_TRAINING": "no"}, OPTED_IN, AI_ONLY),
    Upload("old-terms.mp3", {"label": "Beta Records"}, {**OPTED_IN, "terms-version": "2023-01-01"}, NONE, beta=True),
    Upload("beta/one.mp3", {"label": "Beta Records", "artist": "Bea"}, OPTED_IN, BOTH, beta=True),
    Upload("beta/two.mp3", {"copyright": "(P) 2024 Beta Records Ltd"}, ACCEPTED, AI_ONLY, beta=True),
    Upload("beta-ish.mp3", {"label": "Alphabeta Records"}, OPTED_IN, BOTH),
)

#: The default policy plus a carve-out for Beta Records, under a new policy id.
BETA_CARVE_OUT: dict[str, Any] = {
    "id": "beta-records",
    "rightsholder": "Beta Records",
    "match": {"labels": ["Beta Records"]},
}


def policy_with_beta(path: Path) -> Path:
    """Write the default policy with the Beta Records carve-out added to `path`."""
    document = json.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    document["policy_id"] = "terms-2025-05-beta"
    document["carve_outs"].append(BETA_CARVE_OUT)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def gatekeeper(s3: Any, table: FlagsTable) -> Gatekeeper:
    return Gatekeeper(S3ObjectSource(s3), table, PolicySource(str(DEFAULT_POLICY_PATH)), today=lambda: ON)


def decide_uploads(s3: Any, table: FlagsTable, uploads: tuple[Upload, ...] = CATALOGUE, *, fmt: str = "mp3") -> None:
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


def bulk_row(number: int, *, eligible: bool, label: str | None = None, sequenced: bool = True) -> VerdictRow:
    """A verdict row for `bulk/<number>.mp3` under the default policy, eligible for both purposes or for none."""
    metadata = {**OPTED_IN, **({} if eligible else {"ai-opt-out": "true"})}
    extraction = Extraction(format="mp3")
    extraction.add_right("label", label)
    inputs = DecisionInputs(PlatformMetadata.from_user_metadata(metadata), extraction)
    return VerdictRow(
        bucket=BUCKET,
        key=f"bulk/{number:04d}.mp3",
        version_id=None,
        etag=f"etag-{number}",
        size=100,
        sequencer=next_sequencer() if sequenced else None,
        inputs=inputs,
        verdict=decide(inputs, load_policy_file(DEFAULT_POLICY_PATH), ON),
        decided_at="2026-01-15T10:00:00.000Z",
    )
