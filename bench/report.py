"""The benchmark's results: one JSON document, and the table printed from it."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.corpus import KIB, MIB
from bench.decisions import Comparison, Cost

_Row = Mapping[str, Any]  # one JSON object of the results document

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
        "bytes_ratio_at_50mb": _all_at_least(at_largest, "bytes", MIN_BYTES_RATIO),
        "time_ratio_at_50mb_loopback": _all_at_least(at_largest, "wall", MIN_TIME_RATIO),
        "time_ratio_at_50mb_s3_link_estimate": _all_at_least(at_largest, "link", MIN_TIME_RATIO),
        "memory_flat": memory["growth"] <= MAX_MEMORY_GROWTH if memory else None,
        "cold_import": imports["ratio"] <= MAX_IMPORT_RATIO if imports else None,
        "decision_throughput": throughput["decisions_per_second"] >= MIN_DECISIONS_PER_SECOND if throughput else None,
    }


def _all_at_least(rows: list[_Row], name: str, minimum: float) -> bool | None:
    """Whether every row's ratio `name` reaches `minimum` (None: no rows measured)."""
    return all((row["ratios"][name] or 0) >= minimum for row in rows) if rows else None


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
    return "\n".join(
        "  ".join(
            cell.rjust(width) if column else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    )


#: The per-decision table: heading and cell of each column.
_COLUMNS: tuple[tuple[str, Callable[[_Row], str]], ...] = (
    ("layout", lambda d: d["layout"]),
    ("size", lambda d: _size(d["size"])),
    ("tag", lambda d: _size(d["metadata_bytes"])),
    ("budget", lambda d: _size(d["read_budget"])),
    ("GK bytes", lambda d: _size(d["gatekeeper"]["bytes_served"])),
    ("req", lambda d: str(d["gatekeeper"]["requests"])),
    ("GK ms", lambda d: f"{d['gatekeeper']['wall_ms']:.1f}"),
    ("GK cpu", lambda d: f"{d['gatekeeper']['cpu_ms']:.1f}"),
    ("GK mem", lambda d: _size(d["gatekeeper"]["peak_memory_bytes"])),
    ("GK s3%", lambda d: f"{d['gatekeeper']['cpu_shares']['s3_calls']:.0%}"),
    ("BL bytes", lambda d: _size(d["baseline"]["bytes_served"])),
    ("BL ms", lambda d: f"{d['baseline']['wall_ms']:.1f}"),
    ("BL cpu", lambda d: f"{d['baseline']['cpu_ms']:.1f}"),
    ("BL mem", lambda d: _size(d["baseline"]["peak_memory_bytes"])),
    ("bytes x", lambda d: _times(d["ratios"]["bytes"])),
    ("wall x", lambda d: _times(d["ratios"]["wall"])),
    ("cpu x", lambda d: _times(d["ratios"]["cpu"])),
    ("link x", lambda d: _times(d["ratios"]["link"])),
    ("floor ms", lambda d: f"{d['moto_range_floor_ms']:.1f}"),
    ("ok", lambda d: "yes" if d["within_budget"] and d["same_verdict"] and d["counts_agree"] else "NO"),
)


def decisions_table(decisions: Iterable[_Row]) -> str:
    return _table([name for name, _ in _COLUMNS], ([cell(d) for _, cell in _COLUMNS] for d in decisions))


def _memory_line(memory: _Row) -> str:
    runs = ", ".join(
        f"{_size(r['size'])}: {_size(r['peak_memory_bytes'])} peak, {r['requests']} req, {_size(r['bytes_served'])} served"
        for r in memory["runs"]
    )
    return f"Memory ({memory['layout']}): {runs}; growth {memory['growth']:.2f}x"


def _import_lines(imports: _Row) -> list[str]:
    medians = ", ".join(
        f"{name} {m['cpu_seconds'] * 1000:.0f} ms CPU / {m['wall_seconds'] * 1000:.0f} ms wall"
        for name, m in imports["medians"].items()
    )
    profile = ", ".join(f"{name} {seconds * 1000:.0f}" for name, seconds in imports["profile"])
    stages = ", ".join(f"{name} {seconds * 1000:.0f}" for name, seconds in imports["stages"])
    return [
        f"Cold import (medians of {imports['repeats']}): {medians}",
        f"  handler / boto3 CPU = {imports['ratio']:.2f}x (tracing off), {imports['ratio_traced']:.2f}x (tracing on);"
        f" wall {imports['ratio_wall']:.2f}x (tracing off)",
        f"  handler self time by package, ms: {profile}",
        f"  CPU ms by group, in import order (cumulative stages, medians): {stages}",
    ]


def _throughput_line(throughput: _Row) -> str:
    return (
        f"Decisions: {throughput['decisions_per_second']:,.0f}/s per CPU second"
        f" ({throughput['wall_decisions_per_second']:,.0f}/s wall), {throughput['inputs']:,} distinct inputs"
    )


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else "met" if met else "MISSED"


def render(document: _Row) -> str:
    """The whole report as text."""
    m = document["machine"]
    link = document["link"]
    parts = [
        f"Benchmark {document['generated_at']}  ({m['nproc']} x {m['cpu_model']}, Python {m['python']})"
        + ("  [BENCH_QUICK]" if document["quick"] else ""),
        "",
        "Per decision: gatekeeper (GK, ranged GETs) vs baseline (BL, GET whole object, then mutagen)",
        decisions_table(document["decisions"]),
        "  ms: wall on loopback moto (median); cpu: client CPU; s3%: share of GK CPU in S3 calls;"
        " floor: moto's 1-byte ranged GET of the object;"
        f" link x: estimate at {link['first_byte_ms']:.0f} ms first byte, {link['mib_per_second']:.0f} MiB/s",
    ]
    if document.get("memory"):
        parts += ["", _memory_line(document["memory"])]
    if document.get("cold_import"):
        parts += ["", *_import_lines(document["cold_import"])]
    if document.get("throughput"):
        parts += ["", _throughput_line(document["throughput"])]
    verdicts = ", ".join(f"{name} {_verdict(met)}" for name, met in document["targets"].items())
    parts += ["", f"Targets: {verdicts}"]
    return "\n".join(parts)
