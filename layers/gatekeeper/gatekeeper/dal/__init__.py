"""Adapters to the outside systems, behind small interfaces.

The service (`gatekeeper.service`) talks only to these Protocols, so the decision
path can run against S3/DynamoDB (the `s3_source`, `flags_table` and
`policy_source` modules), a moto emulator, or fakes in tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from gatekeeper.models import AccountConsent, DecisionInputs, ObjectEvent, Policy, Verdict

__all__ = ["ConsentStore", "FlagsStore", "ObjectSource", "PolicyProvider", "ReferenceCatalogue", "ReferenceIndex", "StoredObject", "VerdictRow"]


@dataclass
class StoredObject:
    """The exact object version an event names, opened for reading.

    `metadata` is the S3 user metadata as boto3 returns it; `body` is a seekable,
    read-only file object that fetches bytes on demand. Close it when done.
    """

    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    size: int
    metadata: dict[str, str]
    body: BinaryIO


@dataclass(frozen=True)
class VerdictRow:
    """A verdict for one upload, as the flags table stores it.

    `sequencer` orders the events of one key; None for events that carry none
    (S3 Batch Operations), which may only add a row or refresh the same upload's.
    """

    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    size: int | None
    sequencer: str | None
    inputs: DecisionInputs
    verdict: Verdict
    decided_at: str

    @property
    def object_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class ObjectSource(Protocol):
    def open(self, event: ObjectEvent) -> StoredObject:
        """Open the object the event names.

        Raises `ObjectSuperseded` when it is gone or has changed, and
        `SourceReadError` when reading failed for a transient reason.
        """
        ...


class FlagsStore(Protocol):
    """The verdict table. Every write is conditional; False means superseded."""

    def fit(self, row: VerdictRow) -> VerdictRow:
        """The row as it will be stored: itself, or a fail-closed row when it would not fit the store."""
        ...

    def put_verdict(self, row: VerdictRow) -> bool: ...

    def replace_verdict(self, row: VerdictRow) -> bool: ...

    def revoke(self, event: ObjectEvent, *, policy_id: str, decided_at: str) -> bool: ...

    def get(self, object_uri: str) -> Mapping[str, Any] | None: ...

    def scan(self, segment: int = 0, total_segments: int = 1) -> Iterator[Mapping[str, Any]]: ...


class ReferenceIndex(Protocol):
    """The reference catalogue's fingerprint index (content identification): `fingerprint_index`."""

    def postings(self, keys: Sequence[int]) -> Mapping[int, Sequence[tuple[int, int]]]:
        """(reference number, point) pairs of each hash key; absent and hot keys map to nothing."""
        ...

    def resolve(self, numbers: Iterable[int]) -> Mapping[int, Any]:
        """The references (`reference_id`, `carve_out`) behind reference numbers; removed ones are absent."""
        ...


class ReferenceCatalogue(ReferenceIndex, Protocol):
    """The index as the catalogue's keeper sees it: references added, looked up and removed."""

    def get(self, reference_id: str) -> Any | None: ...

    def add(
        self,
        reference_id: str,
        carve_out: str,
        postings: Iterable[tuple[int, int]],
        *,
        duration_s: float | None = None,
        source: str | None = None,
    ) -> Any: ...

    def remove(self, reference_id: str) -> bool: ...


class ConsentStore(Protocol):
    """The account consent table (`consent_table`): an uploader's record as it is now, or None."""

    def get(self, uploader_id: str) -> AccountConsent | None: ...


class PolicyProvider(Protocol):
    def policy(self) -> Policy:
        """The current, validated policy; raises `PolicyError` when it is invalid."""
        ...
