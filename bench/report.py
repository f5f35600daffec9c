"""The benchmark's results: one JSON document, and the table printed from it."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.corpus import KIB, MIB
from bench.decisions import Comparison, Cost

#: Issue 6's targets.
MIN_BYTES_RATIO = 100.0
MIN_TIME_RATIO = 20.0
MAX_IMPORT_RATIO = 1.3
MIN_DECISIONS_PER_SECOND = 50_000
MAX_REQUESTS = 3
#: "Memory flat": peak at the largest size at most this multiple of the peak at the smallest.
MAX_MEMORY_GROWTH = 1.25


@dataclass(frozen=True)
class Link:
    """An S3-like network, which loopback lacks: an estimate, not a measurement.

    On loopback a 50 MB GET takes tens of milliseconds and moto copies the whole
    object for every ranged GET, so measured wall times say little about S3. The
    estimate charges each path its measured client CPU time, plus `first_byte_ms`
    per request (made one after another, as the reader does) plus its bytes at
    `mib_per_second`. Both parameters are assumptions, set with
    `BENCH_LINK_FIRST_BYTE_MS` and `BENCH_LINK_MIB_PER_SECOND`.
    """

    first_byte_ms: float = 20.0
    mib_per_second: float = 90.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Link:
        env = os.environ if environ is None else environ
        return cls(
            float(env.get("BENCH_LINK_FIRST_BYTE_MS") or cls.first_byte_ms),
            float(env.get("BENCH_LINK_MIB_PER_SECOND") or cls.mib_per_second),
        )

    def seconds(self, cost: Cost) -> float:
        return cost.cpu_seconds + cost.requests * self.first_byte_ms / 1000 + cost.bytes_served / (self.mib_per_second * MIB)


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "executable": sys.executable,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def cost_document(cost: Cost, link: Link) -> dict[str, Any]:
    return {
        "requests": cost.requests,
        "bytes_served": cost.bytes_served,
        "bytes_consumed": cost.bytes_consumed,
        "reader_requests": cost.reader_requests,
        "reader_bytes": cost.reader_bytes,
        "wall_ms": cost.wall_seconds * 1000,
        "cpu_ms": cost.cpu_seconds * 1000,
        "link_ms": link.seconds(cost) * 1000,
        "peak_memory_bytes": cost.peak_memory_bytes,
        "cpu_shares": cost.cpu_shares,
    }


def comparison_document(item: Comparison, link: Link) -> dict[str, Any]:
    gk, base = item.gatekeeper, item.baseline
    return {
        "layout": item.upload.layout.name,
        "format": item.upload.layout.fmt,
        "size": item.upload.size,
        "metadata_bytes": item.upload.metadata_bytes,
        "read_budget": item.upload.read_budget,
        "gatekeeper": cost_document(gk, link),
        "baseline": cost_document(base, link),
        "ratios": {
            "bytes": ratio(base.bytes_served, gk.bytes_served),
            "wall": ratio(base.wall_seconds, gk.wall_seconds),
            "cpu": ratio(base.cpu_seconds, gk.cpu_seconds),
            "link": ratio(link.seconds(base), link.seconds(gk)),
            "memory": ratio(base.peak_memory_bytes, gk.peak_memory_bytes),
        },
        "moto_range_floor_ms": item.range_floor_seconds * 1000,
        "within_budget": item.within_budget,
        "same_verdict": item.same_verdict,
        "counts_agree": gk.reader_requests == gk.requests and gk.reader_bytes == gk.bytes_consumed,
        "verdict": gk.verdict,
    }


def targets(document: Mapping[str, Any]) -> dict[str, bool | None]:
    """Each target of issue 6: met (True), missed (False) or not measured (None)."""
    decisions = document["decisions"]
    largest = max((d["size"] for d in decisions), default=0)
    at_largest = [d for d in decisions if d["size"] == largest and largest >= 50 * 1000 * 1000]
    memory = document.get("memory")
    imports = document.get("cold_import")
    throughput = document.get("throughput")
    return {
        "read_budget_and_requests": all(d["within_budget"] for d in decisions) if decisions else None,
        "bytes_ratio_at_50mb": all((d["ratios"]["bytes"] or 0) >= MIN_BYTES_RATIO for d in at_largest) if at_largest else None,
        "time_ratio_at_50mb_loopback": all((d["ratios"]["wall"] or 0) >= MIN_TIME_RATIO for d in at_largest) if at_largest else None,
        "time_ratio_at_50mb_s3_link_estimate": all((d["ratios"]["link"] or 0) >= MIN_TIME_RATIO for d in at_largest)
        if at_largest
        else None,
        "memory_flat": memory["growth"] <= MAX_MEMORY_GROWTH if memory else None,
        "cold_import": imports["ratio"] <= MAX_IMPORT_RATIO if imports else None,
        "decision_throughput": throughput["decisions_per_second"] >= MIN_DECISIONS_PER_SECOND if throughput else None,
    }


# ---------------------------------------------------------------- text


def _size(value: float) -> str:
    if value >= MIB:
        return f"{value / MIB:.1f}M"
    if value >= KIB:
        return f"{value / KIB:.0f}K"
    return f"{value:.0f}B"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}x" if value >= 10 else f"{value:.1f}x"


def _table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))) for line in lines)


def decisions_table(decisions: Iterable[Mapping[str, Any]]) -> str:
    header = ["layout", "size", "tag", "budget", "GK bytes", "req", "GK ms", "GK cpu", "GK mem", "GK s3%",
              "BL bytes", "BL ms", "BL cpu", "BL mem", "bytes x", "wall x", "cpu x", "link x", "floor ms", "ok"]  # fmt: skip
    rows = []
    for d in decisions:
        gk, base, r = d["gatekeeper"], d["baseline"], d["ratios"]
        ok = d["within_budget"] and d["same_verdict"] and d["counts_agree"]
        rows.append(
            [d["layout"], _size(d["size"]), _size(d["metadata_bytes"]), _size(d["read_budget"]),
             _size(gk["bytes_served"]), str(gk["requests"]), f"{gk['wall_ms']:.1f}", f"{gk['cpu_ms']:.1f}",
             _size(gk["peak_memory_bytes"]), f"{gk['cpu_shares']['s3_calls']:.0%}", _size(base["bytes_served"]),
             f"{base['wall_ms']:.1f}", f"{base['cpu_ms']:.1f}", _size(base["peak_memory_bytes"]), _times(r["bytes"]),
             _times(r["wall"]), _times(r["cpu"]), _times(r["link"]), f"{d['moto_range_floor_ms']:.1f}",
             "yes" if ok else "NO"]  # fmt: skip
        )
    return _table(header, rows)


def render(document: Mapping[str, Any]) -> str:
    """The whole report as text."""
    m = document["machine"]
    parts = [
        f"Benchmark {document['generated_at']}  ({m['nproc']} x {m['cpu_model']}, Python {m['python']})"
        + ("  [BENCH_QUICK]" if document["quick"] else ""),
        "",
        "Per decision: gatekeeper (GK, ranged GETs) vs baseline (BL, GET whole object, then mutagen)",
        decisions_table(document["decisions"]),
        f"  ms: wall on loopback moto (median); cpu: client CPU; s3%: share of GK CPU in S3 calls; floor: moto's"
        f" 1-byte ranged GET of the object; link x: estimate at {document['link']['first_byte_ms']:.0f} ms first byte,"
        f" {document['link']['mib_per_second']:.0f} MiB/s",
    ]
    memory = document.get("memory")
    if memory:
        runs = ", ".join(f"{_size(r['size'])}: {_size(r['peak_memory_bytes'])} peak, {r['requests']} req, "
                         f"{_size(r['bytes_served'])} served" for r in memory["runs"])  # fmt: skip
        parts += ["", f"Memory ({memory['layout']}): {runs}; growth {memory['growth']:.2f}x"]
    imports = document.get("cold_import")
    if imports:
        medians = ", ".join(
            f"{name} {m['cpu_seconds'] * 1000:.0f} ms CPU / {m['wall_seconds'] * 1000:.0f} ms wall"
            for name, m in imports["medians"].items()
        )
        profile = ", ".join(f"{name} {seconds * 1000:.0f}" for name, seconds in imports["profile"])
        parts += ["", f"Cold import (medians of {imports['repeats']}): {medians}",
                  f"  handler / boto3 CPU = {imports['ratio']:.2f}x (tracing off), {imports['ratio_traced']:.2f}x (tracing on);"
                  f" wall {imports['ratio_wall']:.2f}x (tracing off)",
                  f"  handler self time by package, ms: {profile}"]  # fmt: skip
    throughput = document.get("throughput")
    if throughput:
        parts += ["", f"Decisions: {throughput['decisions_per_second']:,.0f}/s per CPU second "
                      f"({throughput['wall_decisions_per_second']:,.0f}/s wall), {throughput['inputs']:,} distinct inputs"]  # fmt: skip
    verdicts = ", ".join(f"{name} {'met' if met else 'n/a' if met is None else 'MISSED'}" for name, met in document["targets"].items())
    parts += ["", f"Targets: {verdicts}"]
    return "\n".join(parts)
