"""Random schedules of S3 operations, delivered shuffled with duplicates, and their model.

A schedule creates, overwrites and deletes a few keys, in a versioned or an
unversioned bucket; each operation yields one event (`Change`) with an increasing
sequencer. Events are delivered at random points (S3 in whatever state it is then),
out of order and some of them more than once. However they arrive, the table must
end as the model says: for each key, the event with the highest sequencer wins.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gatekeeper.dal import StoredObject
from gatekeeper.errors import ObjectSuperseded
from gatekeeper.models import ObjectEvent
from gatekeeper.samples import make_audio
from tests.aws.support import Change, next_sequencer, remove, upload

PLATFORM = {"uploader-id": "u-sim", "terms-version": "2025-05-14"}

#: Upload contents whose verdicts differ, so the table shows which upload won.
CONTENTS: dict[str, bytes] = {
    "granted": make_audio("mp3", tags={"title": "granted"}),
    "carve-out": make_audio("mp3", tags={"label": "Acme Records"}),
    "reserved": make_audio("flac", tags={"AI_TRAINING": "no"}),
}


class Bucket(Protocol):
    versioned: bool

    def put(self, key: str, body: bytes) -> Change: ...

    def delete(self, key: str) -> Change: ...


@dataclass
class _Version:
    version_id: str | None
    body: bytes | None  # None: a delete marker
    etag: str | None
    metadata: dict[str, str]


class SimulatedBucket:
    """An in-memory S3 bucket with S3's read semantics, for thousands of fast schedules.

    As `ObjectSource`: a versioned read returns that version if it still exists; an
    unversioned read succeeds only while the current object has the event's ETag;
    otherwise the event is superseded (S3's 404 / 412).
    """

    def __init__(self, name: str, *, versioned: bool) -> None:
        self.name = name
        self.versioned = versioned
        self._keys: dict[str, list[_Version]] = {}
        self._version_ids = iter(range(1, 1 << 30))

    def put(self, key: str, body: bytes) -> Change:
        version_id = f"v{next(self._version_ids)}" if self.versioned else None
        etag = hashlib.md5(body).hexdigest()
        versions = self._keys.setdefault(key, [])
        if not self.versioned:
            versions.clear()
        versions.append(_Version(version_id, body, etag, dict(PLATFORM)))
        return Change("created", self.name, key, next_sequencer(), etag=etag, version_id=version_id, size=len(body))

    def delete(self, key: str) -> Change:
        versions = self._keys.setdefault(key, [])
        if not self.versioned:
            versions.clear()
            return Change("removed", self.name, key, next_sequencer())
        marker = f"v{next(self._version_ids)}"
        versions.append(_Version(marker, None, None, {}))
        return Change("removed", self.name, key, next_sequencer(), version_id=marker, delete_marker=True)

    def open(self, event: ObjectEvent) -> StoredObject:
        versions = self._keys.get(event.key, [])
        if event.version_id:
            found = next((v for v in versions if v.version_id == event.version_id and v.body is not None), None)
        else:
            current = versions[-1] if versions else None
            found = current if current and current.body is not None and current.etag == event.etag else None
        if found is None or found.body is None:
            raise ObjectSuperseded(f"{event.object_uri}: gone or changed")
        return StoredObject(
            bucket=self.name,
            key=event.key,
            version_id=found.version_id,
            etag=found.etag,
            size=len(found.body),
            metadata=dict(found.metadata),
            body=io.BytesIO(found.body),
        )


class MotoBucket:
    """The same operations on a (moto) S3 bucket through boto3."""

    def __init__(self, s3: Any, name: str, *, versioned: bool) -> None:
        self._s3 = s3
        self.name = name
        self.versioned = versioned

    def put(self, key: str, body: bytes) -> Change:
        return upload(self._s3, key, body, dict(PLATFORM), bucket=self.name)

    def delete(self, key: str) -> Change:
        return remove(self._s3, key, bucket=self.name)


@dataclass
class Schedule:
    """One run: the events made, in the order they were delivered."""

    seed: int
    changes: list[Change] = field(default_factory=list)
    delivered: list[Change] = field(default_factory=list)
    contents: dict[str, str] = field(default_factory=dict)  # sequencer of a create -> content name

    def winners(self) -> dict[str, Change]:
        """The model: per key, the event with the highest sequencer."""
        best: dict[str, Change] = {}
        for change in self.changes:
            if change.key not in best or change.sequencer > best[change.key].sequencer:
                best[change.key] = change
        return best


def run_schedule(
    rng: random.Random,
    bucket: Bucket,
    deliver: Callable[[Change], None],
    *,
    prefix: str,
    max_keys: int = 3,
    max_operations: int = 6,
) -> Schedule:
    """Operate on a few keys, delivering events at random points, shuffled, some twice."""
    schedule = Schedule(seed=rng.randrange(1 << 30))
    keys = [f"{prefix}/key {n}+é.mp3" for n in range(rng.randint(1, max_keys))]
    pending: list[Change] = []
    for _ in range(rng.randint(1, max_operations)):
        key = rng.choice(keys)
        if rng.random() < 0.3:
            change = bucket.delete(key)
        else:
            content = rng.choice(sorted(CONTENTS))
            change = bucket.put(key, CONTENTS[content])
            schedule.contents[change.sequencer] = content
        schedule.changes.append(change)
        pending.append(change)
        if rng.random() < 0.2:  # a duplicate delivery later on
            pending.append(change)
        while pending and rng.random() < 0.3:  # deliver something now, in any order
            _deliver(schedule, deliver, pending.pop(rng.randrange(len(pending))))
    rng.shuffle(pending)
    for change in pending:
        _deliver(schedule, deliver, change)
    return schedule


def _deliver(schedule: Schedule, deliver: Callable[[Change], None], change: Change) -> None:
    deliver(change)
    schedule.delivered.append(change)


def mismatches(
    schedule: Schedule, read_row: Callable[[str], dict[str, Any] | None], expected_reasons: dict[str, dict]
) -> list[str]:
    """How the table differs from the model (empty when it converged)."""
    problems = []
    for key, winner in schedule.winners().items():
        item = read_row(f"s3://{winner.bucket}/{key}")
        where = f"{key} (winner {winner.kind} {winner.sequencer})"
        if item is None:
            problems.append(f"{where}: no row")
            continue
        if item.get("sequencer") != winner.sequencer:
            problems.append(f"{where}: row at sequencer {item.get('sequencer')}")
        if winner.kind == "removed":
            if item["status"] != "deleted":
                problems.append(f"{where}: status {item['status']}")
            continue
        content = schedule.contents[winner.sequencer]
        if (item["status"], item.get("etag"), item.get("version_id")) != ("decided", winner.etag, winner.version_id):
            problems.append(f"{where}: row {item['status']} {item.get('etag')} {item.get('version_id')}")
        elif item["reasons"] != expected_reasons[content]:
            problems.append(f"{where}: reasons {item['reasons']} are not those of {content}")
    return problems
