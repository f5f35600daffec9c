"""Per-decision cost: the gatekeeper's ranged reads against a whole-object baseline.

Both paths run the gatekeeper's own service (`gatekeeper.service.Gatekeeper`):
open the object the event names, read its tags (`gatekeeper.tags.extract`),
decide every purpose. They differ only in the object source:

- gatekeeper: `gatekeeper.dal.s3_source.S3ObjectSource`, ranged GETs on demand
  (the head and the suffix together on open);
- baseline: `WholeObjectSource`, what comparable gatekeepers do: one GET of the
  whole object, then mutagen (through the same `extract`) on the bytes in memory.

The verdict table is left out of both (`_NoTable` keeps nothing), so the numbers
are those of reading and deciding. Each measurement is one decision, against up
to two endpoints of the same S3 server (`bench.shaped`):

- the **shaped** link (first-byte latency and bandwidth, the headline): S3
  traffic from botocore event hooks (`bench.traffic`: requests, bytes, and
  sequential round trips counted from the calls in flight), cross-checked against
  the reader's own `ReadStats` (requests, bytes, `round_trips`); wall and client
  CPU time, medians of `repeats` runs after a warm-up (three times as many for
  the gatekeeper, whose short times are the noisier);
- the **direct** (unshaped) link: the same times, then peak Python memory of one
  run under `tracemalloc` and where the client's CPU goes (`cpu_shares`, from
  `cProfile` over a few runs: S3 calls, the decision core, the rest), which the
  link does not change. Without a shaped link (`bench.shaped` unavailable) every
  figure is measured on the direct one, which is then loopback.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

from gatekeeper.dal import FlagsStore, PolicyProvider, StoredObject, VerdictRow
from gatekeeper.dal.s3_source import S3ObjectSource
from gatekeeper.models import ObjectEvent
from gatekeeper.service import Gatekeeper, Outcome, Result

from bench.corpus import Upload
from bench.traffic import S3Traffic

BUCKET = "gatekeeper-bench-uploads"
#: The gatekeeper's timed runs are this many times the baseline's (`repeats`).
GATEKEEPER_RUNS_FACTOR = 3


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


class RecordingSource(S3ObjectSource):
    """The gatekeeper's source, remembering the reader it opened last (for its `ReadStats`)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.last: Any = None

    def open(self, event: ObjectEvent) -> StoredObject:
        stored = super().open(event)
        self.last = stored.body
        return stored


@dataclass(frozen=True)
class Timing:
    """Medians of one decision's times on one link."""

    wall_seconds: float
    cpu_seconds: float  # client process only (all its threads)


@dataclass(frozen=True)
class Cost:
    """What one decision cost one path."""

    requests: int  # HTTP requests sent (botocore hooks)
    bytes_served: int
    bytes_consumed: int
    round_trips: int  # sequential round trips: waves of calls in flight together (hooks)
    max_in_flight: int  # most calls in flight at once
    reader_requests: int | None  # the reader's own counts (gatekeeper only)
    reader_bytes: int | None
    reader_round_trips: int | None
    shaped: Timing | None  # on the shaped link (None: shaping unavailable)
    direct: Timing  # on the unshaped link (loopback when shaping is unavailable)
    peak_memory_bytes: int
    cpu_shares: dict[str, float]  # part of the client's CPU time: s3_calls, decide, tags_and_service
    verdict: dict[str, list[str]]  # purpose -> reasons, to compare the two paths

    @property
    def headline(self) -> Timing:
        """The shaped link's times when there is one, else the direct link's."""
        return self.shaped or self.direct

    @property
    def wall_seconds(self) -> float:
        return self.headline.wall_seconds

    @property
    def cpu_seconds(self) -> float:
        return self.headline.cpu_seconds


@dataclass(frozen=True)
class Comparison:
    """The gatekeeper and the baseline on one upload."""

    upload: Upload
    gatekeeper: Cost
    baseline: Cost
    range_floor_seconds: float  # the emulator's median time for a 1-byte ranged GET of this object (direct)

    @property
    def within_budget(self) -> bool:
        """Issue 6: at most max(256 KiB, tag + 64 KiB) served and at most 3 S3 requests."""
        return self.gatekeeper.bytes_served <= self.upload.read_budget and self.gatekeeper.requests <= 3

    @property
    def counts_agree(self) -> bool:
        """The hooks' requests and bytes are the reader's own."""
        gk = self.gatekeeper
        return (gk.reader_requests, gk.reader_bytes) == (gk.requests, gk.bytes_consumed)

    @property
    def round_trips_agree(self) -> bool:
        """The round trips the hooks saw (calls in flight together) are those the reader counted.

        They can differ only one way: GETs the reader sent together that did not
        overlap (on loopback a response can land before its companion is sent).
        """
        return self.gatekeeper.reader_round_trips == self.gatekeeper.round_trips

    @property
    def same_verdict(self) -> bool:
        return self.gatekeeper.verdict == self.baseline.verdict


class _Path:
    """One client (one link) and the two services over it."""

    def __init__(self, client: Any, policies: PolicyProvider) -> None:
        self.client = client
        self.traffic = S3Traffic()
        self.traffic.attach(client.meta.events)
        table = cast(FlagsStore, _NoTable())
        self.source = RecordingSource(client)
        self.services = {
            "gatekeeper": Gatekeeper(self.source, table, policies),
            "baseline": Gatekeeper(WholeObjectSource(client), table, policies),
        }


class DecisionBench:
    """Runs decisions against one S3 server, through a direct client and (optionally) a shaped one."""

    def __init__(self, client: Any, policies: PolicyProvider, *, repeats: int, shaped_client: Any = None) -> None:
        self._client = client
        self._repeats = repeats
        self._direct = _Path(client, policies)
        self._shaped = _Path(shaped_client, policies) if shaped_client is not None else None

    @property
    def shaped(self) -> bool:
        return self._shaped is not None

    @property
    def gatekeeper(self) -> Gatekeeper:
        """The gatekeeper's service on the direct link (for profiling one decision)."""
        return self._direct.services["gatekeeper"]

    @property
    def baseline(self) -> Gatekeeper:
        return self._direct.services["baseline"]

    def compare(self, upload: Upload, event: ObjectEvent) -> Comparison:
        return Comparison(
            upload=upload,
            gatekeeper=self.measure("gatekeeper", event),
            baseline=self.measure("baseline", event),
            range_floor_seconds=self.range_floor(event),
        )

    def measure(self, name: str, event: ObjectEvent) -> Cost:
        """One decision of path `name` ("gatekeeper" or "baseline"): traffic, median times, peak memory."""
        counted = self._shaped or self._direct
        decide = _checked(counted.services[name], event)
        decide()  # warm-up: connection pool, first use of the format's reader
        counted.traffic.reset()
        counted.source.last = None
        result = decide()
        traffic = counted.traffic.snapshot()  # the timed runs below count on
        stats = replace(counted.source.last.stats) if name == "gatekeeper" else None
        # A gatekeeper decision is short and its time noisier: three times the runs (cheap).
        runs = self._repeats * (GATEKEEPER_RUNS_FACTOR if name == "gatekeeper" else 1)
        shaped = self._timing(decide, runs) if self._shaped else None
        direct_decide = _checked(self._direct.services[name], event)
        if self._shaped:
            direct_decide()  # warm-up on this link too
        direct = self._timing(direct_decide, runs)
        return Cost(
            requests=traffic.requests,
            bytes_served=traffic.bytes_served,
            bytes_consumed=traffic.bytes_consumed,
            round_trips=traffic.waves,
            max_in_flight=traffic.max_in_flight,
            reader_requests=result.requests,
            reader_bytes=result.bytes_fetched,
            reader_round_trips=stats.round_trips if stats else None,
            shaped=shaped,
            direct=direct,
            peak_memory_bytes=peak_memory(direct_decide),
            cpu_shares=cpu_shares(direct_decide, runs=3),
            verdict=dict(result.verdict.reasons) if result.verdict else {},
        )

    def range_floor(self, event: ObjectEvent) -> float:
        """The emulator's own cost of one ranged GET of this object, on the direct link."""

        def one_byte() -> None:
            self._client.get_object(Bucket=event.bucket, Key=event.key, Range="bytes=0-0")["Body"].read()

        return statistics.median(self._times(one_byte)[0])

    def _timing(self, run: Callable[[], object], runs: int) -> Timing:
        walls, cpus = self._times(run, runs)
        return Timing(statistics.median(walls), statistics.median(cpus))

    def _times(self, run: Callable[[], object], runs: int | None = None) -> tuple[list[float], list[float]]:
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(runs or self._repeats):
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
