"""Read an S3 object through ranged GETs, as a seekable file object.

mutagen seeks around a file (header at the front, ID3v1/APEv2 at the end, an MP4
`moov` wherever it lies) and reads a few kilobytes. `RangedObjectReader` turns those
reads into a handful of `GetObject` calls with a `Range` header, so a 1 GB upload
costs a few hundred kilobytes of transfer, never the whole object:

- the first GET (`bytes=0-49151`) also yields the user metadata, the size (from
  `Content-Range`), the ETag and the VersionId: no separate HEAD;
- a read that touches the last `tail_bytes` of the object fetches that whole tail
  (ID3v1, APEv2, Lyrics3 and trailing chunks in one request);
- any other miss fetches the bytes wanted plus `readahead_bytes`, so a large read
  (a whole tag) is one GET and the small read that follows it is a hit;
- fetched ranges sit in a cache bounded by `max_cache_bytes` (least recently used
  segments are dropped first). Segments never overlap (a fetch stops where a cached
  one begins) and are indexed by their start, so a lookup is a binary search: a
  file of a million small structures costs O(log n) per read, not a scan.

Every GET is pinned to the object the event names (its `versionId`, else its ETag
through `If-Match`); later GETs pin to what the first one returned. If the object
has gone or changed, the first GET raises `ObjectSuperseded`; a later GET failing
for any reason raises `SourceReadError` (the event is retried, and then the first
GET decides whether it is superseded).
"""

from __future__ import annotations

import bisect
import io
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from gatekeeper.dal import StoredObject
from gatekeeper.errors import ObjectSuperseded, SourceReadError
from gatekeeper.models import ObjectEvent

KIB = 1024

#: Error codes meaning "the object the event names is gone or is another one now".
SUPERSEDED_CODES = frozenset(
    {"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "404", "PreconditionFailed", "412", "MethodNotAllowed"}
)

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass
class ReadStats:
    """What reading cost: GET requests made and body bytes received."""

    requests: int = 0
    bytes_fetched: int = 0


@dataclass(frozen=True)
class ReadPlan:
    """How much to fetch per request and how much of it to keep.

    The defaults keep a decision within issue 6's budget of max(256 KiB, tag size +
    64 KiB) read: when the tag lies at the end of the object, the first GET is
    audio the readers never use and a read past the tag over-fetches at most
    `readahead_bytes`, so `first_bytes + readahead_bytes` is at most 64 KiB.
    """

    first_bytes: int = 48 * KIB
    tail_bytes: int = 16 * KIB
    readahead_bytes: int = 16 * KIB
    max_cache_bytes: int = 8 * 1024 * KIB


def _quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class RangedObjectReader(io.RawIOBase):
    """A read-only, seekable view of one S3 object version, fetched in ranges."""

    def __init__(self, client: Any, event: ObjectEvent, *, plan: ReadPlan | None = None) -> None:
        super().__init__()
        self._client = client
        self.bucket = event.bucket
        self.key = event.key
        self.plan = plan or ReadPlan()
        self.stats = ReadStats()
        self._pin_version = event.version_id
        self._pin_etag = None if event.version_id else event.etag
        self._segments: dict[int, bytes] = {}  # start -> bytes; never overlapping
        self._starts: list[int] = []  # the segments' starts, sorted (binary search)
        self._recency: OrderedDict[int, None] = OrderedDict()  # starts, least recently used first
        self._cached_bytes = 0
        self._pos = 0
        self.size = 0
        self.version_id: str | None = None
        self.etag: str | None = None
        self.metadata: dict[str, str] = {}
        self._open()
        # Later GETs are pinned to exactly what the first one read.
        self._pin_version = self.version_id
        self._pin_etag = None if self.version_id else self.etag

    # ------------------------------------------------------------ fetching

    def _open(self) -> None:
        """The first GET: the object's head, its identity and its metadata."""
        response = self._first_get(f"bytes=0-{self.plan.first_bytes - 1}")
        data = self._body(response)
        self._remember(0, data)
        self.size = self._object_size(response, len(data))
        self.version_id = response.get("VersionId")
        self.etag = str(response.get("ETag") or "").strip('"') or None
        self.metadata = dict(response.get("Metadata") or {})

    def _first_get(self, byte_range: str | None) -> dict[str, Any]:
        """GET the event's object; gone or changed means the event is superseded."""
        try:
            return self._get(byte_range)
        except ClientError as exc:
            code = _error_code(exc)
            if code in SUPERSEDED_CODES:
                raise ObjectSuperseded(f"{self.bucket}/{self.key}: {code}") from exc
            if code == "InvalidRange" and byte_range:
                # A range on an empty object is unsatisfiable (416): GET it whole instead.
                return self._first_get(None)
            raise SourceReadError(f"GET {self.bucket}/{self.key}: {exc}") from exc

    def _get(self, byte_range: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if byte_range:
            params["Range"] = byte_range
        if self._pin_version:
            params["VersionId"] = self._pin_version
        elif self._pin_etag:
            params["IfMatch"] = _quoted(self._pin_etag)
        self.stats.requests += 1
        try:
            return self._client.get_object(**params)
        except BotoCoreError as exc:
            raise SourceReadError(f"GET {self.bucket}/{self.key}: {exc}") from exc

    def _body(self, response: dict[str, Any]) -> bytes:
        try:
            data = response["Body"].read()
        except (BotoCoreError, OSError) as exc:
            raise SourceReadError(f"GET {self.bucket}/{self.key}: body: {exc}") from exc
        self.stats.bytes_fetched += len(data)
        return data

    @staticmethod
    def _object_size(response: dict[str, Any], received: int) -> int:
        match = _CONTENT_RANGE.match(str(response.get("ContentRange") or ""))
        if match and match.group(3) != "*":
            return int(match.group(3))
        return int(response.get("ContentLength", received))

    def _fetch(self, start: int, end: int) -> None:
        """GET bytes [start, end) into the cache (a later GET: any failure is transient)."""
        try:
            data = self._body(self._get(f"bytes={start}-{end - 1}"))
        except ClientError as exc:
            raise SourceReadError(f"GET {self.bucket}/{self.key} bytes {start}-{end - 1}: {exc}") from exc
        if len(data) != end - start:
            raise SourceReadError(f"GET {self.bucket}/{self.key}: short read at {start} ({len(data)} of {end - start})")
        self._remember(start, data)

    def _fetch_window(self, pos: int, wanted: int) -> tuple[int, int]:
        """The range to fetch for a miss at `pos` wanting `wanted` bytes, up to the next cached segment."""
        size, plan = self.size, self.plan
        if size - pos <= plan.tail_bytes:
            start, end = max(0, size - plan.tail_bytes), size
        else:
            start, end = pos, min(size, pos + wanted + plan.readahead_bytes)
            if size - end <= plan.tail_bytes:
                end = size
        # Cached bytes are not fetched twice: the window starts after a segment covering
        # its start and stops where the next one begins (pos itself is a miss).
        index = bisect.bisect_right(self._starts, pos)
        if index:
            before = self._starts[index - 1]
            start = max(start, before + len(self._segments[before]))
        if index < len(self._starts):
            end = min(end, self._starts[index])
        return start, end

    # ------------------------------------------------------------ cache

    @property
    def cached_bytes(self) -> int:
        """Bytes held in the cache now (bounded by the plan's `max_cache_bytes`)."""
        return self._cached_bytes

    def _remember(self, start: int, data: bytes) -> None:
        """Cache a fetched range (callers never fetch bytes a segment already holds)."""
        if not data:
            return
        if start in self._segments:
            self._forget(start)
        bisect.insort(self._starts, start)
        self._segments[start] = data
        self._recency[start] = None
        self._cached_bytes += len(data)
        while self._cached_bytes > self.plan.max_cache_bytes and len(self._segments) > 1:
            self._forget(next(iter(self._recency)))

    def _forget(self, start: int) -> None:
        data = self._segments.pop(start)
        del self._recency[start]
        del self._starts[bisect.bisect_left(self._starts, start)]
        self._cached_bytes -= len(data)

    def _cached(self, pos: int) -> tuple[int, bytes] | None:
        """The segment holding byte `pos`, if any (a binary search over the sorted starts)."""
        index = bisect.bisect_right(self._starts, pos)
        if not index:
            return None
        start = self._starts[index - 1]
        data = self._segments[start]
        if pos >= start + len(data):
            return None
        self._recency.move_to_end(start)
        return start, data

    def _read_at(self, pos: int, count: int) -> bytes:
        parts: list[bytes] = []
        while count > 0:
            hit = self._cached(pos)
            if hit is None:
                self._fetch(*self._fetch_window(pos, count))
                continue
            start, data = hit
            piece = data[pos - start : pos - start + count]
            parts.append(piece)
            pos += len(piece)
            count -= len(piece)
        return b"".join(parts)

    # ------------------------------------------------------------ io.RawIOBase

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        self._checkClosed()
        remaining = max(0, self.size - self._pos)
        count = remaining if size is None or size < 0 else min(size, remaining)
        data = self._read_at(self._pos, count)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._segments.clear()
        self._starts.clear()
        self._recency.clear()
        self._cached_bytes = 0
        super().close()


class S3ObjectSource:
    """`ObjectSource` over an S3 client: opens the exact object an event names."""

    def __init__(self, client: Any, *, plan: ReadPlan | None = None) -> None:
        self._client = client
        self._plan = plan or ReadPlan()

    def open(self, event: ObjectEvent) -> StoredObject:
        reader = RangedObjectReader(self._client, event, plan=self._plan)
        return StoredObject(
            bucket=reader.bucket,
            key=reader.key,
            version_id=reader.version_id,
            etag=reader.etag,
            size=reader.size,
            metadata=reader.metadata,
            body=reader,  # type: ignore[arg-type]  # a RawIOBase is a binary file object
        )
