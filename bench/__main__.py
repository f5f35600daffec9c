"""`python -m bench` (`make bench`): measure the gatekeeper, print a table, write JSON.

Decisions run against a moto server behind a shaped link (`bench.shaped`: a
network namespace, 20 ms first byte, 90 MiB/s), with the unshaped path to the
same server beside it; where a link cannot be shaped (not root, no network
namespaces) the run falls back to loopback and says so. Environment:

- `BENCH_QUICK=1`: the smoke run: 1 MiB files only (no 1 MiB tags), an 8 MiB
  memory run in place of 1 GiB, fewer repeats, an 8 MiB shaping check;
- `BENCH_SHAPING=auto|on|off` (default auto: shape when possible, else fall back);
- `BENCH_LINK_FIRST_BYTE_MS`, `BENCH_LINK_MIB_PER_SECOND`: the link (20, 90);
- `BENCH_MOTO_STOCK_GETS=1`: stock moto GETs (see `bench.motoserver`).

`--output` chooses the JSON file (default `bench/results/latest.json`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from gatekeeper.dal.clients import LAMBDA_CLIENT_CONFIG
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.logic.decision import decision_date
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import ObjectEvent

from bench import consent, hostile, imports
from bench.corpus import COMMON_LAYOUTS, GIB, GIB_LAYOUT, LARGE_TAG_LAYOUTS, LAYOUTS, MIB, Layout, Upload, generate
from bench.decisions import BUCKET, DecisionBench, upload
from bench.report import Link, comparison_document, cost_document, machine, ratio, render, targets
from bench.shaped import Shaping, s3_endpoints, verify
from bench.throughput import decision_throughput

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"
HOSTILE_BUCKET = "gatekeeper-bench-hostile"

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
    shaping_mode: str = "auto"  # BENCH_SHAPING
    check_bulk_bytes: int = 50 * MIB  # the shaping check's large GET
    check_repeats: int = 11
    consent_rows: int = 10_000  # the account of the consent propagation run

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = (env.get("BENCH_SHAPING") or "auto").strip().lower()
        if env.get("BENCH_QUICK", "").strip() not in ("", "0"):
            return cls(True, (MIB,), None, (MIB, 8 * MIB), 2, 2, 2_000, 2, mode, 8 * MIB, 5, 300)
        return cls(False, (MIB, 50 * MIB), 8 * MIB, (MIB, GIB), 5, 11, 20_000, 5, mode, 50 * MIB, 21, 10_000)

    def uploads(self) -> list[tuple[Layout, int]]:
        """Every (layout, size) of the per-decision comparison: common layouts first, then cover art."""
        layouts = [layout for layout in (*LAYOUTS, *COMMON_LAYOUTS) if layout.group == "common"]
        layouts += [layout for layout in LAYOUTS if layout.group != "common"]
        plan = [(layout, size) for size in self.sizes for layout in layouts]
        if self.large_tag_size:
            plan += [(layout, self.large_tag_size) for layout in LARGE_TAG_LAYOUTS]
        return plan


def run(settings: Settings, link: Link) -> dict[str, Any]:
    """Every measurement of issues 6 and 12, as one JSON-ready document."""
    on = decision_date()
    policy = load_policy_file(DEFAULT_POLICY_PATH)
    document: dict[str, Any] = {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": settings.quick,
        "machine": machine(),
        "settings": settings.__dict__,
        "decision_date": on.isoformat(),
        "policy_id": policy.policy_id,
        "emulator": "moto (stock GETs)" if _stock_gets() else "moto, GETs served from the buffer (bench.motoserver)",
    }
    throughput = decision_throughput(policy, on, inputs=settings.decision_inputs, rounds=settings.decision_rounds)
    document["throughput"] = throughput.__dict__
    document["cold_import"] = cold_import(settings.import_repeats)
    shaping = Shaping(link.first_byte_ms, link.mib_per_second)
    with s3_endpoints(shaping, settings.shaping_mode) as endpoints, tempfile.TemporaryDirectory(
        prefix="gatekeeper-bench-"
    ) as scratch:
        setup = emulator_client(endpoints.direct, SETUP_CLIENT_CONFIG)
        setup.create_bucket(Bucket=BUCKET)
        shaped = emulator_client(endpoints.shaped) if endpoints.shaped else None
        document["link"] = {
            **link.__dict__,
            "shaped": shaped is not None,
            "unavailable": endpoints.unavailable,
            "setup": endpoints.link.describe() if endpoints.link else None,
            "verification": (
                verify(
                    shaped,
                    setup,
                    BUCKET,
                    shaping,
                    bulk_bytes=settings.check_bulk_bytes,
                    repeats=settings.check_repeats,
                )
                if shaped is not None
                else None
            ),
        }
        bench = DecisionBench(
            emulator_client(endpoints.direct),
            PolicySource(str(DEFAULT_POLICY_PATH)),
            repeats=settings.repeats,
            shaped_client=shaped,
        )
        directory = Path(scratch)
        document["decisions"] = [
            comparison_document(_with_upload(setup, layout, size, directory, bench.compare), link)
            for layout, size in settings.uploads()
        ]
        document["memory"] = memory_run(setup, bench, settings.memory_sizes, directory, link)
        setup.create_bucket(Bucket=HOSTILE_BUCKET)
        document["hostile"] = hostile.run(emulator_client(endpoints.direct), HOSTILE_BUCKET)
    document["consent"] = asdict(consent.measure(rows=settings.consent_rows))
    document["targets"] = targets(document)
    return document


def _stock_gets() -> bool:
    return os.environ.get("BENCH_MOTO_STOCK_GETS", "").strip() not in ("", "0")


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
        cost = _with_upload(setup, GIB_LAYOUT, size, directory, lambda _item, event: bench.measure("gatekeeper", event))
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
        "ratio_eager": medians[imports.HANDLER_EAGER.name].cpu_seconds / boto3_cpu,
        "ratio_wall": medians[imports.HANDLER.name].wall_seconds / medians[imports.BOTO3.name].wall_seconds,
        "profile": imports.import_profile(imports.HANDLER),
        "stages": imports.import_stages(repeats),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    args = parser.parse_args(argv)
    # A termination request unwinds like Ctrl-C, so the shaped link is always taken down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    document = run(Settings.from_env(), Link.from_env())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(render(document))
    print(f"\nJSON: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
