"""Per-decision cost: the gatekeeper's ranged reads against a whole-object baseline.

Both paths run the gatekeeper's own service (`gatekeeper.service.Gatekeeper`):
open the object the event names, read its tags (`gatekeeper.tags.extract`),
decide every purpose. They differ only in the object source:

- gatekeeper: `gatekeeper.dal.s3_source.S3ObjectSource`, ranged GETs on demand;
- baseline: `WholeObjectSource`, what comparable gatekeepers do: GET the whole
  object, then run mutagen (through the same `extract`) on the bytes in memory.

The verdict table is left out of both (`_NoTable` keeps nothing), so the numbers
are those of reading and deciding. Each measurement is one decision:

- S3 traffic, from botocore event hooks on the client (`bench.traffic`) and, for
  the gatekeeper, cross-checked against the reader's own `ReadStats`;
- wall and client CPU time, medians of `repeats` runs after a warm-up (the moto
  server runs in another process, so CPU time is the client's alone);
- peak Python memory of one run under `tracemalloc`;
- where the client's CPU time goes (`cpu_shares`), from `cProfile` over a few runs:
  S3 calls (botocore request, response and body reading), the decision core, and
  the rest (tag reading with mutagen, the service).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from gatekeeper.dal import FlagsStore, PolicyProvider, StoredObject, VerdictRow
from gatekeeper.dal.s3_source import S3ObjectSource
from gatekeeper.models import ObjectEvent
from gatekeeper.service import Gatekeeper, Outcome, Result

from bench.corpus import Upload
from bench.traffic import S3Traffic

BUCKET = "gatekeeper-bench-uploads"


class WholeObjectSource:
    """The baseline source: one GET of the whole object, read into memory."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def open(self, event: ObjectEvent) -> StoredObject:
        response = self._client.get_object(Bucket=event.bucket, Key=event.key)
        data = response["Body"].read()
        return StoredObject(
            bucket=event.bucket,
            key=event.key,
            version_id=response.get("VersionId"),
            etag=str(response.get("ETag") or "").strip('"') or None,
            size=len(data),
            metadata=dict(response.get("Metadata") or {}),
            body=io.BytesIO(data),
        )


class _NoTable:
    """Accepts every verdict and keeps none: the benchmark leaves DynamoDB out."""

    def fit(self, row: VerdictRow) -> VerdictRow:
        return row  # nothing is stored, so every row fits

    def put_verdict(self, row: VerdictRow) -> bool:
        return True


@dataclass(frozen=True)
class Cost:
    """What one decision cost one path."""

    requests: int
    bytes_served: int
    bytes_consumed: int
    reader_requests: int | None  # the reader's own count (gatekeeper only)
    reader_bytes: int | None
    wall_seconds: float  # median
    cpu_seconds: float  # median, client process only
    peak_memory_bytes: int
    cpu_shares: dict[str, float]  # part of the client's CPU time: s3_calls, decide, tags_and_service
    verdict: dict[str, list[str]]  # purpose -> reasons, to compare the two paths


@dataclass(frozen=True)
class Comparison:
    """The gatekeeper and the baseline on one upload."""

    upload: Upload
    gatekeeper: Cost
    baseline: Cost
    range_floor_seconds: float  # moto's median time for a 1-byte ranged GET of this object

    @property
    def within_budget(self) -> bool:
        """Issue 6: at most max(256 KiB, tag + 64 KiB) served and at most 3 S3 requests."""
        return self.gatekeeper.bytes_served <= self.upload.read_budget and self.gatekeeper.requests <= 3

    @property
    def same_verdict(self) -> bool:
        return self.gatekeeper.verdict == self.baseline.verdict


class DecisionBench:
    """Runs decisions against one S3 endpoint with a counting client."""

    def __init__(self, client: Any, policies: PolicyProvider, *, repeats: int) -> None:
        self._client = client
        self._traffic = S3Traffic()
        self._traffic.attach(client.meta.events)
        self._repeats = repeats
        table = cast(FlagsStore, _NoTable())
        self.gatekeeper = Gatekeeper(S3ObjectSource(client), table, policies)
        self.baseline = Gatekeeper(WholeObjectSource(client), table, policies)

    def compare(self, upload: Upload, event: ObjectEvent) -> Comparison:
        return Comparison(
            upload=upload,
            gatekeeper=self.measure(self.gatekeeper, event),
            baseline=self.measure(self.baseline, event),
            range_floor_seconds=self.range_floor(event),
        )

    def measure(self, service: Gatekeeper, event: ObjectEvent) -> Cost:
        """One decision's traffic, its median times, and its peak memory."""
        decide = _checked(service, event)
        decide()  # warm-up: connection pool, first use of the format's reader
        self._traffic.reset()
        result = decide()
        traffic = (self._traffic.requests, self._traffic.bytes_served, self._traffic.bytes_consumed)
        walls, cpus = self._times(decide)
        return Cost(
            requests=traffic[0],
            bytes_served=traffic[1],
            bytes_consumed=traffic[2],
            reader_requests=result.requests,
            reader_bytes=result.bytes_fetched,
            wall_seconds=statistics.median(walls),
            cpu_seconds=statistics.median(cpus),
            peak_memory_bytes=peak_memory(decide),
            cpu_shares=cpu_shares(decide, runs=3),
            verdict=dict(result.verdict.reasons) if result.verdict else {},
        )

    def range_floor(self, event: ObjectEvent) -> float:
        """The emulator's own cost of one ranged GET of this object (moto copies it whole)."""

        def one_byte() -> None:
            self._client.get_object(Bucket=event.bucket, Key=event.key, Range="bytes=0-0")["Body"].read()

        return statistics.median(self._times(one_byte)[0])

    def _times(self, run: Callable[[], object]) -> tuple[list[float], list[float]]:
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(self._repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            cpus.append(time.process_time() - cpu)
            walls.append(time.perf_counter() - wall)
        return walls, cpus


def _checked(service: Gatekeeper, event: ObjectEvent) -> Callable[[], Result]:
    def decide() -> Result:
        result = service.handle(event)
        if result.outcome is not Outcome.DECIDED:
            raise RuntimeError(f"{event.key}: {result.outcome.value} ({result.detail})")
        return result

    return decide


def peak_memory(run: Callable[[], object]) -> int:
    """Peak bytes Python allocated while `run` ran (what it allocated before is not traced)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


#: (file suffix, function) whose cumulative time is each share of `cpu_shares`.
_SHARES: dict[str, tuple[tuple[str, str], ...]] = {
    "s3_calls": (("botocore/client.py", "_make_api_call"), ("botocore/response.py", "read")),
    "decide": (("gatekeeper/logic/decision.py", "decide"),),
}


def cpu_shares(run: Callable[[], object], *, runs: int) -> dict[str, float]:
    """Shares of the CPU time of `runs` runs spent in S3 calls, deciding, and the rest."""
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(runs):
        run()
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = max(_total_time(stats), 1e-12)
    shares = {name: _cumulative(stats, places) / total for name, places in _SHARES.items()}
    shares["tags_and_service"] = max(0.0, 1.0 - sum(shares.values()))
    return shares


def _total_time(stats: dict[tuple[str, int, str], tuple[Any, ...]]) -> float:
    """Total profiled time: the sum of every function's own time."""
    return sum(entry[2] for entry in stats.values())


def _cumulative(stats: dict[tuple[str, int, str], tuple[Any, ...]], places: tuple[tuple[str, str], ...]) -> float:
    return sum(
        entry[3]
        for (filename, _line, function), entry in stats.items()
        if any(filename.endswith(suffix) and function == name for suffix, name in places)
    )


def upload(client: Any, item: Upload, metadata: dict[str, str]) -> ObjectEvent:
    """Put a generated file into the bench bucket; the creation event S3 would send."""
    client.upload_file(str(item.path), BUCKET, item.key, ExtraArgs={"Metadata": metadata})
    head = client.head_object(Bucket=BUCKET, Key=item.key)
    return ObjectEvent(
        kind="created",
        bucket=BUCKET,
        key=item.key,
        etag=str(head["ETag"]).strip('"'),
        size=int(head["ContentLength"]),
        sequencer=f"{time.time_ns():016X}",
    )
