"""The reference catalogue, kept in step with the reference bucket (SPEC "The audio itself").

Rightsholders deliver reference recordings to the reference bucket under
`references/<carve-out id>/<reference id>`: the reference id is the key after that
prefix, the carve-out the policy's id of the agreement. Every object put there is
decoded whole, fingerprinted and indexed (`content_id.index_reference`); putting
it again replaces it; removing it removes the reference.

The object read is the *current* one at its key, pinned by the event's ETag (never
an older version by id): a put delivered after the removal of its object finds
nothing and is superseded, so an out-of-order pair of events never resurrects a
removed reference. A removal removes the reference only if it is the one of that
carve-out (two carve-outs' objects under one reference id cannot remove each
other's) and the key has no current object any more (deleting a noncurrent version,
or a removal delivered after a later put, leaves the reference indexed).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gatekeeper.dal import ReferenceCatalogue
from gatekeeper.errors import ObjectSuperseded
from gatekeeper.models import ObjectEvent

REFERENCE_PREFIX = "references/"


class CatalogueOutcome(StrEnum):
    INDEXED = "indexed"
    REMOVED = "removed"
    SUPERSEDED = "superseded"  # the object has gone or changed since the event
    IGNORED = "ignored"  # not under references/<carve-out>/, or a removal of another carve-out's reference
    UNREADABLE = "unreadable"  # not audio that decodes whole: not indexed (retrying would not help)


@dataclass(frozen=True)
class ReferenceKey:
    carve_out: str
    reference_id: str


def reference_key(key: str) -> ReferenceKey | None:
    """The carve-out and reference id of a reference bucket key, or None when it is not one."""
    if not key.startswith(REFERENCE_PREFIX):
        return None
    carve_out, _, reference_id = key[len(REFERENCE_PREFIX) :].partition("/")
    if not carve_out or ":" in carve_out or not reference_id or reference_id.endswith("/"):
        return None
    return ReferenceKey(carve_out, reference_id)


@dataclass(frozen=True)
class CatalogueResult:
    outcome: CatalogueOutcome
    event: ObjectEvent
    detail: str = ""


class Catalogue:
    """Indexes the reference bucket's objects: `handle(event)` per S3 event of that bucket."""

    def __init__(self, s3: Any, index: ReferenceCatalogue) -> None:
        self._s3 = s3
        self._index = index

    def handle(self, event: ObjectEvent) -> CatalogueResult:
        found = reference_key(event.key)
        if found is None:
            return CatalogueResult(CatalogueOutcome.IGNORED, event, "not under references/<carve-out id>/")
        if event.kind == "removed":
            return self._remove(event, found)
        return self._add(event, found)

    def _remove(self, event: ObjectEvent, found: ReferenceKey) -> CatalogueResult:
        current = self._index.get(found.reference_id)
        if current is None or current.carve_out != found.carve_out:
            return CatalogueResult(CatalogueOutcome.IGNORED, event, "no such reference of this carve-out")
        if self._has_current_object(event):
            # A noncurrent version deleted (by hand or a lifecycle rule), or a removal
            # delivered after a later put: the key still holds the reference.
            return CatalogueResult(CatalogueOutcome.IGNORED, event, "the key still has a current object")
        self._index.remove(found.reference_id)
        return CatalogueResult(CatalogueOutcome.REMOVED, event)

    def _has_current_object(self, event: ObjectEvent) -> bool:
        """Whether the key has a current object now (a delete marker or no object: it has not)."""
        from botocore.exceptions import ClientError

        from gatekeeper.dal.s3_source import SUPERSEDED_CODES

        try:
            self._s3.head_object(Bucket=event.bucket, Key=event.key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in SUPERSEDED_CODES or code in ("404", "405"):  # HEAD errors carry the status as their code
                return False
            raise
        return True

    def _add(self, event: ObjectEvent, found: ReferenceKey) -> CatalogueResult:
        from gatekeeper import content_id  # numpy and PyAV: only the indexing function needs them

        current = ObjectEvent(kind="created", bucket=event.bucket, key=event.key, etag=event.etag)
        with tempfile.TemporaryFile() as spool:
            try:
                self._download(current, spool)
            except ObjectSuperseded as exc:
                return CatalogueResult(CatalogueOutcome.SUPERSEDED, event, str(exc))
            spool.seek(0)
            try:
                content_id.index_reference(
                    spool, self._index, found.reference_id, found.carve_out, source=f"s3://{event.bucket}/{event.key}"
                )
            except content_id.ReferenceUnreadable as exc:
                return CatalogueResult(CatalogueOutcome.UNREADABLE, event, str(exc))
        return CatalogueResult(CatalogueOutcome.INDEXED, event)

    def _download(self, event: ObjectEvent, spool: Any) -> None:
        """The current object at the key (pinned by the event's ETag), whole, into `spool`."""
        from botocore.exceptions import ClientError

        from gatekeeper.dal.s3_source import SUPERSEDED_CODES

        extra = {"IfMatch": f'"{event.etag}"'} if event.etag else {}
        try:
            response = self._s3.get_object(Bucket=event.bucket, Key=event.key, **extra)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in SUPERSEDED_CODES:
                raise ObjectSuperseded(f"{event.bucket}/{event.key}: {code}") from exc
            raise
        for chunk in response["Body"].iter_chunks(1 << 20):
            spool.write(chunk)
