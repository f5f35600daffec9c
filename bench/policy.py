"""`python -m bench.policy`: how long loading a large policy document takes, and how much memory.

Each measurement is a fresh interpreter that reads one generated policy file the way
the function does (`PolicySource(path).policy()`: the bounded read, strict JSON,
validation and compilation) and prints its CPU seconds, wall seconds and peak
resident memory. The documents are SPEC's example policy with one carve-out holding
N labels or N ISRCs, or with N carve-outs of one label each (`carve_outs=N`; `bytes=N`:
as many as reach N bytes).

    python -m bench.policy                    # 100k, 300k, 1M labels and ISRCs; 16 MiB; 100 MB
    python -m bench.policy labels=30000 isrcs=30000 bytes=104857600
    GATEKEEPER_POLICY_MAX_BYTES=30000000 python -m bench.policy labels=1000000

A size over `GATEKEEPER_POLICY_MAX_BYTES` (default 16 MiB) is refused before it is
read (1M labels make 25 MB); the variable may be set to measure a larger document.
No timing is asserted by any test (tests/bench/test_policy_bench.py runs it small).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.logic.policy import DEFAULT_POLICY_PATH

DEFAULT_RUNS = ("labels=100000", "labels=300000", "labels=1000000", "isrcs=100000", "isrcs=300000",
                "isrcs=1000000", f"bytes={16 * 1024 * 1024}", "bytes=100000000")

_MEASURE = """
import json, os, sys, time
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.models import PolicyError
cpu, wall = time.process_time(), time.perf_counter()
try:
    policy = PolicySource.from_env(environ={**os.environ, "POLICY_URI": sys.argv[1]}).policy()
    values = sum(len(c.labels) + len(c.isrcs) for c in policy.carve_outs)
    outcome = f"valid: {len(policy.carve_outs)} carve-outs, {values} match values"
except PolicyError as exc:
    outcome = f"refused: {exc}".replace(sys.argv[1], "FILE")
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
# VmHWM: this process's own peak (ru_maxrss would include the parent's, which built the document)
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) * 1024
print(json.dumps({"cpu_seconds": cpu, "wall_seconds": wall, "peak_rss_bytes": peak, "outcome": outcome}))
"""


def label(number: int) -> str:
    return f"Label {number:07d} Records"


def isrc(number: int) -> str:
    """A distinct, well-formed ISRC per number (country QZ, registrant from the millions)."""
    return f"QZ{number // 100_000:03d}25{number % 100_000:05d}"


def carve_out(number: int) -> dict:
    return {"id": f"agreement-{number:07d}", "match": {"labels": [label(number)]}}


def document(*, labels: int = 0, isrcs: int = 0, carve_outs: int = 0) -> dict:
    doc = json.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    if labels or isrcs:
        doc["carve_outs"].append(
            {"id": "bulk", "match": {"labels": [label(n) for n in range(labels)], "isrcs": [isrc(n) for n in range(isrcs)]}}
        )
    doc["carve_outs"] += [carve_out(n) for n in range(carve_outs)]
    return doc


def write_document(path: Path, *, labels: int = 0, isrcs: int = 0, carve_outs: int = 0, size: int | None = None) -> int:
    """Write a policy file; with `size`, as many carve-outs as reach it. Its size in bytes."""
    if size is not None:
        per_carve_out = len(json.dumps(carve_out(0))) + 2  # the object and ", "
        carve_outs = max(0, (size - len(json.dumps(document()))) // per_carve_out)
    with path.open("w", encoding="utf-8") as out:
        json.dump(document(labels=labels, isrcs=isrcs, carve_outs=carve_outs), out)
    return path.stat().st_size


@dataclass(frozen=True)
class Measurement:
    run: str
    document_bytes: int
    cpu_seconds: float
    wall_seconds: float
    peak_rss_bytes: int
    outcome: str


def measure(run: str, directory: Path, *, timeout: float = 900.0) -> Measurement:
    kind, _, value = run.partition("=")
    path = directory / "policy.json"
    number = int(value)
    size = write_document(path, size=number) if kind == "bytes" else write_document(path, **{kind: number})
    try:
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, check=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return Measurement(run, size, timeout, timeout, 0, f"did not finish in {timeout:.0f} s")
    finally:
        path.unlink()
    return Measurement(run, size, **json.loads(result.stdout.splitlines()[-1]))


def main(argv: list[str]) -> int:
    runs = argv or list(DEFAULT_RUNS)
    timeout = float(os.environ.get("BENCH_POLICY_TIMEOUT", "900"))
    print(f"{'run':<18} {'bytes':>11} {'cpu s':>8} {'wall s':>8} {'peak RSS':>10}  outcome")
    with tempfile.TemporaryDirectory(prefix="gatekeeper-policy-bench-") as scratch:
        for run in runs:
            m = measure(run, Path(scratch), timeout=timeout)
            print(
                f"{m.run:<18} {m.document_bytes:>11} {m.cpu_seconds:>8.2f} {m.wall_seconds:>8.2f} "
                f"{m.peak_rss_bytes / 2**20:>8.0f} MB  {m.outcome[:90]}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
