"""`python -m bench` (`make bench`): measure the gatekeeper, print a table, write JSON.

Set `BENCH_QUICK=1` for the smoke run: 1 MiB files only (no 1 MiB tags), an
8 MiB memory run in place of 1 GiB, fewer repeats. `--output` chooses the JSON file
(default `bench/results/latest.json`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from gatekeeper.dal.clients import LAMBDA_CLIENT_CONFIG
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.logic.decision import decision_date
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import ObjectEvent

from bench import imports
from bench.corpus import GIB, GIB_LAYOUT, LARGE_TAG_LAYOUTS, LAYOUTS, MIB, Layout, Upload, generate
from bench.decisions import BUCKET, DecisionBench, upload
from bench.motoserver import moto_endpoint
from bench.report import Link, comparison_document, cost_document, machine, ratio, render, targets
from bench.throughput import decision_throughput

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"

#: For putting and deleting the test objects: moto may take minutes to assemble 1 GiB.
SETUP_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=600)

#: The upload service's metadata on every benchmark object.
PLATFORM_METADATA = {"uploader-id": "bench-uploader", "terms-version": "2025-05-14", "genai-opt-in": "true"}


@dataclass(frozen=True)
class Settings:
    quick: bool
    sizes: tuple[int, ...]  # per-decision comparison sizes
    large_tag_size: int | None  # file size for LARGE_TAG_LAYOUTS (None: skipped)
    memory_sizes: tuple[int, int]  # gatekeeper-only memory run: small, large
    repeats: int  # timed runs per measurement (medians)
    import_repeats: int
    decision_inputs: int
    decision_rounds: int

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        if env.get("BENCH_QUICK", "").strip() not in ("", "0"):
            return cls(True, (MIB,), None, (MIB, 8 * MIB), 2, 2, 2_000, 2)
        return cls(False, (MIB, 50 * MIB), 8 * MIB, (MIB, GIB), 5, 11, 20_000, 5)

    def uploads(self) -> list[tuple[Layout, int]]:
        """Every (layout, size) of the per-decision comparison."""
        plan = [(layout, size) for size in self.sizes for layout in LAYOUTS]
        if self.large_tag_size:
            plan += [(layout, self.large_tag_size) for layout in LARGE_TAG_LAYOUTS]
        return plan


def run(settings: Settings, link: Link) -> dict[str, Any]:
    """Every measurement of issue 6, as one JSON-ready document."""
    on = decision_date()
    policy = load_policy_file(DEFAULT_POLICY_PATH)
    document: dict[str, Any] = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": settings.quick,
        "machine": machine(),
        "settings": settings.__dict__,
        "decision_date": on.isoformat(),
        "policy_id": policy.policy_id,
        "link": link.__dict__,
    }
    throughput = decision_throughput(policy, on, inputs=settings.decision_inputs, rounds=settings.decision_rounds)
    document["throughput"] = throughput.__dict__
    document["cold_import"] = cold_import(settings.import_repeats)
    with moto_endpoint() as endpoint, tempfile.TemporaryDirectory(prefix="gatekeeper-bench-") as scratch:
        setup = emulator_client(endpoint, SETUP_CLIENT_CONFIG)
        setup.create_bucket(Bucket=BUCKET)
        bench = DecisionBench(emulator_client(endpoint), PolicySource(str(DEFAULT_POLICY_PATH)), repeats=settings.repeats)
        directory = Path(scratch)
        document["decisions"] = [
            comparison_document(_with_upload(setup, layout, size, directory, bench.compare), link)
            for layout, size in settings.uploads()
        ]
        document["memory"] = memory_run(setup, bench, settings.memory_sizes, directory, link)
    document["targets"] = targets(document)
    return document


def emulator_client(endpoint: str, config: Config = LAMBDA_CLIENT_CONFIG) -> Any:
    """An S3 client bound to the emulator with inert credentials (by default configured as the Lambda's)."""
    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    return session.client("s3", endpoint_url=endpoint, config=config)


Measured = TypeVar("Measured")


def _with_upload(
    setup: Any, layout: Layout, size: int, directory: Path, measure: Callable[[Upload, ObjectEvent], Measured]
) -> Measured:
    """Generate and upload one file, measure it, then delete it everywhere."""
    item = generate(layout, size, directory)
    try:
        event = upload(setup, item, PLATFORM_METADATA)
        return measure(item, event)
    finally:
        setup.delete_object(Bucket=BUCKET, Key=item.key)
        item.path.unlink()


def memory_run(setup: Any, bench: DecisionBench, sizes: tuple[int, int], directory: Path, link: Link) -> dict[str, Any]:
    """The gatekeeper alone on a small and a large object of the same layout."""
    runs = []
    for size in sizes:
        cost = _with_upload(setup, GIB_LAYOUT, size, directory, lambda _item, event: bench.measure(bench.gatekeeper, event))
        runs.append({"size": size, **cost_document(cost, link)})
    small, large = runs
    return {
        "layout": GIB_LAYOUT.name,
        "runs": runs,
        "growth": ratio(large["peak_memory_bytes"], small["peak_memory_bytes"]) or 0.0,
    }


def cold_import(repeats: int) -> dict[str, Any]:
    samples = imports.cold_imports(repeats)
    medians = imports.medians(samples)
    boto3_cpu = medians[imports.BOTO3.name].cpu_seconds
    return {
        "repeats": repeats,
        "medians": {name: sample.__dict__ for name, sample in medians.items()},
        "samples": {name: [sample.__dict__ for sample in values] for name, values in samples.items()},
        "ratio": medians[imports.HANDLER.name].cpu_seconds / boto3_cpu,
        "ratio_traced": medians[imports.HANDLER_TRACED.name].cpu_seconds / boto3_cpu,
        "ratio_wall": medians[imports.HANDLER.name].wall_seconds / medians[imports.BOTO3.name].wall_seconds,
        "profile": imports.import_profile(imports.HANDLER),
        "stages": imports.import_stages(repeats),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    args = parser.parse_args(argv)
    document = run(Settings.from_env(), Link.from_env())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(render(document))
    print(f"\nJSON: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
