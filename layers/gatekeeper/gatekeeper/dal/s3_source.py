"""Read an S3 object through ranged GETs, as a seekable file object.

mutagen and the tag readers seek around a file (header at the front, ID3v1/APEv2
at the end, an MP4 `moov` wherever it lies) and read a few kilobytes.
`RangedObjectReader` turns those reads into a handful of `GetObject` calls with a
`Range` header, so a 1 GB upload costs a few hundred kilobytes of transfer, never
the whole object, and on S3 — where a request's first byte, not its bytes, is
what a decision waits for — as few *sequential* round trips as possible:

- opening sends the head range (`bytes=0-49151`) and a suffix range
  (`bytes=-16384`, which needs no size) at once, so tags at the front and at the
  end (ID3v1, APEv2, a trailing `id3 ` chunk, a small trailing `moov`) arrive in
  one round trip. Either response also yields the user metadata, the size (from
  `Content-Range`), the ETag and the VersionId: no separate HEAD. An object the
  event says is no larger than both ranges is fetched whole, in one GET;
- any other miss fetches the bytes wanted plus `readahead_bytes`, so a large read
  (a whole tag) is one GET and the small read that follows it is a hit; a miss
  in the second half of the object within `tail_gap_bytes` of the cached tail
  fetches everything up to it, so a structure at the end of the file (a large
  `moov`, a 1 MiB ID3 chunk) is one GET rather than one per box it holds;
- fetched ranges sit in a cache bounded by `max_cache_bytes` (least recently used
  segments are dropped first). Segments never overlap (a fetch stops where a cached
  one begins) and are indexed by their start, so a lookup is a binary search: a
  file of a million small structures costs O(log n) per read, not a scan.

Every GET is pinned to the object the event names (its `versionId`, else its ETag
through `If-Match`); later GETs pin to what the first ones returned, and two first
responses that describe different objects (an unpinned read racing an overwrite)
are a transient failure. If the object has gone or changed, opening raises
`ObjectSuperseded`; a later GET failing for any reason raises `SourceReadError`
(the event is retried, and then the first GETs decide whether it is superseded).

`stats` counts requests, body bytes and sequential round trips (requests sent
together count once).
"""

from __future__ import annotations

import bisect
import io
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
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
    """What reading cost: GET requests made, body bytes received, and sequential round trips."""

    requests: int = 0
    bytes_fetched: int = 0
    round_trips: int = 0


@dataclass(frozen=True)
class ReadPlan:
    """How much to fetch per request and how much of it to keep.

    The defaults keep a decision within issue 6's budget of max(256 KiB, tag size +
    64 KiB) read: the head and the suffix fetched on open are at most 64 KiB
    together, so whichever end the tag lies at, the bytes of the other end and the
    read past the tag (`readahead_bytes`) over-fetch at most 64 KiB.
    """

    first_bytes: int = 48 * KIB
    tail_bytes: int = 16 * KIB
    readahead_bytes: int = 16 * KIB
    tail_gap_bytes: int = 2 * 1024 * KIB
    max_cache_bytes: int = 8 * 1024 * KIB


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """The threads that send a reader's first ranges together (made on first use, so after a snapshot restore)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ranged-get")
        return _pool


def _quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class _Response:
    """A GET's body and what it says of the object."""

    start: int
    data: bytes
    size: int
    version_id: str | None
    etag: str | None
    metadata: dict[str, str]


class RangedObjectReader(io.RawIOBase):
    """A read-only, seekable view of one S3 object version, fetched in ranges."""

    def __init__(self, client: Any, event: ObjectEvent, *, plan: ReadPlan | None = None) -> None:
        super().__init__()
        self._client = client
        self.bucket = event.bucket
        self.key = event.key
        self.plan = plan or ReadPlan()
        self.stats = ReadStats()
        self._stats_lock = threading.Lock()
        self._cache_lock = threading.Lock()  # the segments, their starts and recency (read_at from threads)
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
        self._open(event.size)
        # Later GETs are pinned to exactly what the first ones read.
        self._pin_version = self.version_id
        self._pin_etag = None if self.version_id else self.etag

    # ------------------------------------------------------------ fetching

    def _open(self, announced_size: int | None) -> None:
        """The first round trip: the head and the tail together, their identity and metadata."""
        plan = self.plan
        if announced_size is not None and announced_size <= plan.first_bytes + plan.tail_bytes:
            responses = [self._first_get(f"bytes=0-{max(announced_size, 1) - 1}")]
        else:
            # The suffix on another thread, the head on this one: both requests in flight at once.
            tail: Future[_Response] = _executor().submit(self._first_get, f"bytes=-{plan.tail_bytes}")
            try:
                head = self._first_get(f"bytes=0-{plan.first_bytes - 1}")
            except BaseException:
                tail.cancel()  # when already sent, it ends on its own and its answer is dropped
                raise
            responses = [head, tail.result()]
        self._count_round_trip()
        head = responses[0]
        for other in responses[1:]:
            if (other.version_id, other.etag, other.size) != (head.version_id, head.etag, head.size):
                raise SourceReadError(f"GET {self.bucket}/{self.key}: the object changed between its first two ranges")
        self.size, self.version_id, self.etag, self.metadata = head.size, head.version_id, head.etag, head.metadata
        for response in responses:
            self._remember_new(response.start, response.data)

    def _first_get(self, byte_range: str | None) -> _Response:
        """GET the event's object; gone or changed means the event is superseded."""
        try:
            response = self._get(byte_range)
        except ClientError as exc:
            code = _error_code(exc)
            if code in SUPERSEDED_CODES:
                raise ObjectSuperseded(f"{self.bucket}/{self.key}: {code}") from exc
            if code == "InvalidRange" and byte_range:
                # A range on an empty object is unsatisfiable (416): GET it whole instead.
                return self._first_get(None)
            raise SourceReadError(f"GET {self.bucket}/{self.key}: {exc}") from exc
        data = self._body(response)
        start, size = self._placement(response, len(data))
        return _Response(
            start=start,
            data=data,
            size=size,
            version_id=response.get("VersionId"),
            etag=str(response.get("ETag") or "").strip('"') or None,
            metadata=dict(response.get("Metadata") or {}),
        )

    def _get(self, byte_range: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if byte_range:
            params["Range"] = byte_range
        if self._pin_version:
            params["VersionId"] = self._pin_version
        elif self._pin_etag:
            params["IfMatch"] = _quoted(self._pin_etag)
        with self._stats_lock:
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
        with self._stats_lock:
            self.stats.bytes_fetched += len(data)
        return data

    def _count_round_trip(self) -> None:
        with self._stats_lock:
            self.stats.round_trips += 1

    @staticmethod
    def _placement(response: dict[str, Any], received: int) -> tuple[int, int]:
        """(where the body starts in the object, the object's size), from `Content-Range` when ranged."""
        match = _CONTENT_RANGE.match(str(response.get("ContentRange") or ""))
        if match and match.group(3) != "*":
            return int(match.group(1)), int(match.group(3))
        return 0, int(response.get("ContentLength", received))

    def _fetch(self, start: int, end: int) -> bytes:
        """GET bytes [start, end) (a later GET: any failure is transient); the caller caches them."""
        try:
            data = self._body(self._get(f"bytes={start}-{end - 1}"))
        except ClientError as exc:
            raise SourceReadError(f"GET {self.bucket}/{self.key} bytes {start}-{end - 1}: {exc}") from exc
        self._count_round_trip()
        if len(data) != end - start:
            raise SourceReadError(f"GET {self.bucket}/{self.key}: short read at {start} ({len(data)} of {end - start})")
        return data

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
            following = self._starts[index]
            if self._runs_into_tail(pos, following):
                end = following  # a structure at the end of the file: all of it at once
            end = min(end, following)
        return start, end

    def _runs_into_tail(self, pos: int, following: int) -> bool:
        """Whether a miss at `pos` is the start of a structure that fills the file up to its cached tail.

        Only a miss in the second half of the object, with at most `tail_gap_bytes`
        (and no more than the cache holds) left before the tail, is taken as one.
        """
        size, plan = self.size, self.plan
        is_tail = following + len(self._segments[following]) == size
        gap = following - pos
        return is_tail and pos >= size // 2 and gap <= min(plan.tail_gap_bytes, plan.max_cache_bytes)

    # ------------------------------------------------------------ cache

    @property
    def cached_bytes(self) -> int:
        """Bytes held in the cache now (bounded by the plan's `max_cache_bytes`)."""
        return self._cached_bytes

    def _remember_new(self, origin: int, data: bytes) -> None:
        """Cache a first response, trimmed to what no segment holds yet (the head and the tail may overlap)."""
        start, end = origin, origin + len(data)
        for other in list(self._starts):
            other_end = other + len(self._segments[other])
            if other <= start < other_end:
                start = other_end
            elif start < other < end:
                end = other
        if start < end:
            self._remember(start, data[start - origin : end - origin])

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

    def read_at(self, pos: int, count: int) -> bytes:
        """Up to `count` bytes at `pos`, leaving the file position alone: safe from several threads.

        The cache is consulted and updated under a lock, the GETs are made outside
        it, so the misses of different threads (the audio decoder's windows) are
        fetched at the same time; bytes two threads fetched at once are kept once.
        """
        self._checkClosed()
        return self._read_at(pos, max(0, min(count, self.size - pos)))

    def _read_at(self, pos: int, count: int) -> bytes:
        parts: list[bytes] = []
        while count > 0:
            with self._cache_lock:
                hit = self._cached(pos)
                window = self._fetch_window(pos, count) if hit is None else None
            if window is not None:
                data = self._fetch(*window)
                with self._cache_lock:
                    self._remember_new(window[0], data)
                continue
            assert hit is not None
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
