"""Consent propagation: an account with 10,000 uploads withdraws its generative opt-in.

On a moto server (a child process, real HTTP), the flags table holds 10,000 rows
of one account, all eligible for both purposes (decided with the object's
`genai-opt-in=true`, the account having no record), and 1,000 rows of another
account. The measured step is what `gatekeeper consent set U --no-genai-opt-in`
does: the record is written, then every row of the account is re-decided from its
stored `inputs` through the uploader index and rewritten conditionally. Reported:
the time from the record's write to the last row flipped, rows per second, and the
DynamoDB requests per row (by operation; S3 requests too, which must be zero).

The baseline, in the same process and against the same server, is writing the same
10,000 rows once with the upload path's conditional `PutItem` on the same number of threads: the ratio says
what a re-decision costs beyond the write it cannot avoid. With `--one-worker`, the change
back on one thread shows what the workers buy.

`python -m bench.consent [--rows N] [--one-worker] [--json FILE]`; `make bench` runs it too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from gatekeeper.dal import VerdictRow
from gatekeeper.dal.consent_table import CachedConsents, ConsentTable
from gatekeeper.dal.consent_table import create_table as create_consent_table
from gatekeeper.dal.flags_table import FlagsTable, create_table
from gatekeeper.downstream.consent import propagate
from gatekeeper.downstream.reevaluate import UPLOADER_WORKERS, Reevaluator
from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import DecisionInputs, PlatformMetadata
from gatekeeper.samples import make_audio
from gatekeeper.tags import extract

from bench.motoserver import moto_endpoint

ON = dt.date(2026, 1, 15)
ACCOUNT, OTHER = "bench-account", "bench-other"
BUCKET = "gatekeeper-bench-consent"
FLAGS, CONSENT = "gatekeeper-bench-flags", "gatekeeper-bench-consent"


class Requests:
    """Counts a client's requests by service and operation."""

    def __init__(self, *clients: Any) -> None:
        self.counts: Counter[str] = Counter()
        for client in clients:
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[f"{model.service_model.service_name}:{model.name}"] += 1

    def reset(self) -> None:
        self.counts.clear()


@dataclass
class Figures:
    rows: int
    workers: int
    seconds_to_last_flip: float
    rows_per_second: float
    requests_per_row: float
    requests: dict[str, int]
    s3_requests: int
    flipped: int
    other_account_untouched: bool
    baseline_put_seconds: float
    ratio_to_baseline: float
    one_worker_seconds: float | None
    speedup_of_workers: float | None


def seed_row(inputs: DecisionInputs, uploader: str, n: int) -> VerdictRow:
    policy = load_policy_file(DEFAULT_POLICY_PATH)
    metadata = replace(inputs.metadata, uploader_id=uploader)
    row_inputs = replace(inputs, metadata=metadata)
    return VerdictRow(
        bucket=BUCKET, key=f"{uploader}/{n:06d}.mp3", version_id=None, etag=f'"{n:032x}"', size=4096,
        sequencer=f"{n:016X}", inputs=row_inputs, verdict=decide(row_inputs, policy, ON),
        decided_at="2026-01-15T00:00:00.000Z",
    )  # fmt: skip


def sample_inputs() -> DecisionInputs:
    """A real decision's inputs: a generated MP3's tags, the object's metadata opted in."""
    audio = make_audio("mp3", tags={"title": "bench", "artist": "bench"})
    metadata = PlatformMetadata.from_user_metadata(
        {"uploader-id": ACCOUNT, "terms-version": "2025-05-14", "genai-opt-in": "true"}
    )
    return DecisionInputs(metadata=metadata, extraction=extract(io.BytesIO(audio)))


def put_all(table: FlagsTable, rows: list[VerdictRow], workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        assert all(pool.map(table.put_verdict, rows))
    return time.perf_counter() - started


def clients(endpoint: str, workers: int) -> tuple[Any, Any]:
    config = Config(max_pool_connections=max(10, workers + 2), retries={"mode": "standard", "max_attempts": 5})
    common = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "bench",
              "aws_secret_access_key": "bench", "config": config}  # fmt: skip
    return boto3.client("dynamodb", **common), boto3.client("s3", **common)


def measure(rows: int = 10_000, other_rows: int = 1_000, workers: int = UPLOADER_WORKERS, one_worker: bool = False) -> Figures:
    policy = load_policy_file(DEFAULT_POLICY_PATH)
    inputs = sample_inputs()
    with moto_endpoint() as endpoint:
        dynamodb, s3 = clients(endpoint, workers)
        create_table(dynamodb, FLAGS)
        create_consent_table(dynamodb, CONSENT)
        flags, consents = FlagsTable(dynamodb, FLAGS), ConsentTable(dynamodb, CONSENT)
        mine = [seed_row(inputs, ACCOUNT, n) for n in range(rows)]
        theirs = [seed_row(inputs, OTHER, n) for n in range(other_rows)]
        # Baseline: the rows written once, as the upload path writes them, on the same threads
        baseline = put_all(flags, mine, workers)
        put_all(flags, theirs, workers)
        assert all(row.verdict.eligible["genai_training"] for row in mine)

        counter = Requests(dynamodb, s3)
        started = time.perf_counter()
        consents.set(ACCOUNT, genai_opt_in=False)  # what `gatekeeper consent set` does, then propagates
        summary = propagate(flags, consents, policy, ON, ACCOUNT)
        seconds = time.perf_counter() - started
        requests = dict(counter.counts)

        flipped = sum(1 for item in flags.rows_of(ACCOUNT) if item["eligible"]["genai_training"] is False)
        untouched = all(item["eligible"]["genai_training"] is True for item in flags.rows_of(OTHER))
        one_seconds = None
        if one_worker:  # the same change back, on one thread
            consents.set(ACCOUNT, genai_opt_in=True)
            started = time.perf_counter()
            Reevaluator(flags, policy, ON, consents=CachedConsents(consents)).run_uploader(ACCOUNT, workers=1)
            one_seconds = time.perf_counter() - started
    assert summary.outcomes["rewritten"] == rows, summary.to_dict()
    dynamo_requests = sum(v for k, v in requests.items() if k.startswith("dynamodb:"))
    return Figures(
        rows=rows, workers=workers, seconds_to_last_flip=round(seconds, 3),
        rows_per_second=round(rows / seconds, 1), requests_per_row=round(dynamo_requests / rows, 4),
        requests=requests, s3_requests=sum(v for k, v in requests.items() if k.startswith("s3:")),
        flipped=flipped, other_account_untouched=untouched, baseline_put_seconds=round(baseline, 3),
        ratio_to_baseline=round(seconds / baseline, 2), one_worker_seconds=None if one_seconds is None else round(one_seconds, 3),
        speedup_of_workers=None if one_seconds is None else round(one_seconds / seconds, 2),
    )  # fmt: skip


def render(figures: Figures) -> str:
    f = figures
    lines = [
        f"consent propagation: one account, {f.rows:,} uploads, genai opt-in withdrawn ({f.workers} workers, moto server)",
        f"  record write to last row flipped  {f.seconds_to_last_flip:8.2f} s   ({f.flipped:,} of {f.rows:,} flipped; "
        f"the other account {'untouched' if f.other_account_untouched else 'CHANGED'})",
        f"  rows per second                   {f.rows_per_second:8.1f}",
        f"  DynamoDB requests per row         {f.requests_per_row:8.4f}   "
        + ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(f.requests.items())),
        f"  S3 requests (audio read)          {f.s3_requests:8d}",
        f"  ratio to writing the rows once    {f.ratio_to_baseline:8.2f}x  (baseline {f.baseline_put_seconds:.2f} s of puts)",
    ]
    if f.one_worker_seconds is not None:
        lines.append(f"  one worker                        {f.one_worker_seconds:8.2f} s   ({f.speedup_of_workers:.2f}x slower)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--one-worker", action="store_true", help="also time the change back on one thread")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    figures = measure(args.rows, one_worker=args.one_worker)
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
