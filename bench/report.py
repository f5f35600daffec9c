"""The benchmark's results: one JSON document, and the table printed from it."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.corpus import KIB, MIB
from bench.decisions import Comparison, Cost, Timing

_Row = Mapping[str, Any]  # one JSON object of the results document

#: Issue 6's targets.
MIN_BYTES_RATIO = 100.0
MIN_TIME_RATIO = 20.0
MAX_IMPORT_RATIO = 1.3
MIN_DECISIONS_PER_SECOND = 50_000
MAX_REQUESTS = 3
#: "Memory flat": peak at the largest size at most this multiple of the peak at the smallest.
MAX_MEMORY_GROWTH = 1.25
#: Issue 12: sequential round trips per decision of a layout whose tags fit the first ranges.
COMMON_ROUND_TRIPS = 1
FIFTY_MB = 50 * 1000 * 1000


@dataclass(frozen=True)
class Link:
    """An S3-like link as a model: what a decision would cost on it, estimated, not measured.

    It charges each path its measured client CPU time, plus `first_byte_ms` per
    *sequential round trip* (requests sent together pay it once), plus its bytes at
    `mib_per_second`. The benchmark measures the same link for real when it can
    shape one (`bench.shaped`); this estimate is then printed beside the measured
    ratio (`model x`), and is the only S3-like figure when it cannot. Both
    parameters are assumptions, set with `BENCH_LINK_FIRST_BYTE_MS` and
    `BENCH_LINK_MIB_PER_SECOND` (the shaped link uses the same).
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
        return (
            cost.direct.cpu_seconds
            + cost.round_trips * self.first_byte_ms / 1000
            + cost.bytes_served / (self.mib_per_second * MIB)
        )


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


def _timing(timing: Timing | None) -> dict[str, float] | None:
    return None if timing is None else {"wall_ms": timing.wall_seconds * 1000, "cpu_ms": timing.cpu_seconds * 1000}


def cost_document(cost: Cost, link: Link) -> dict[str, Any]:
    return {
        "requests": cost.requests,
        "round_trips": cost.round_trips,
        "max_in_flight": cost.max_in_flight,
        "bytes_served": cost.bytes_served,
        "bytes_consumed": cost.bytes_consumed,
        "reader_requests": cost.reader_requests,
        "reader_bytes": cost.reader_bytes,
        "reader_round_trips": cost.reader_round_trips,
        "wall_ms": cost.wall_seconds * 1000,  # the headline link's (shaped when there is one)
        "cpu_ms": cost.cpu_seconds * 1000,
        "shaped": _timing(cost.shaped),
        "direct": _timing(cost.direct),
        "model_ms": link.seconds(cost) * 1000,
        "peak_memory_bytes": cost.peak_memory_bytes,
        "cpu_shares": cost.cpu_shares,
    }


def comparison_document(item: Comparison, link: Link) -> dict[str, Any]:
    gk, base = item.gatekeeper, item.baseline
    return {
        "layout": item.upload.layout.name,
        "group": item.upload.layout.group,
        "format": item.upload.layout.fmt,
        "size": item.upload.size,
        "metadata_bytes": item.upload.metadata_bytes,
        "read_budget": item.upload.read_budget,
        "gatekeeper": cost_document(gk, link),
        "baseline": cost_document(base, link),
        "ratios": {
            "bytes": ratio(base.bytes_served, gk.bytes_served),
            "wall": ratio(base.wall_seconds, gk.wall_seconds),
            "wall_shaped": ratio(base.shaped.wall_seconds, gk.shaped.wall_seconds) if base.shaped and gk.shaped else None,
            "wall_direct": ratio(base.direct.wall_seconds, gk.direct.wall_seconds),
            "cpu": ratio(base.cpu_seconds, gk.cpu_seconds),
            "model": ratio(link.seconds(base), link.seconds(gk)),
            "memory": ratio(base.peak_memory_bytes, gk.peak_memory_bytes),
        },
        "emulator_range_floor_ms": item.range_floor_seconds * 1000,
        "within_budget": item.within_budget,
        "same_verdict": item.same_verdict,
        "counts_agree": item.counts_agree,
        "round_trips_agree": item.round_trips_agree,
        "verdict": gk.verdict,
    }


def targets(document: Mapping[str, Any]) -> dict[str, bool | None]:
    """Each target of issues 6 and 12: met (True), missed (False) or not measured (None)."""
    decisions = document["decisions"]
    at_50mb = [d for d in decisions if d["size"] >= FIFTY_MB]
    common = [d for d in decisions if d.get("group") == "common"]
    cover_art_50mb = [d for d in at_50mb if d.get("group") == "cover-art"]
    common_50mb = [d for d in at_50mb if d.get("group") == "common"]
    shaped = bool(document.get("link", {}).get("shaped"))
    memory = document.get("memory")
    imports = document.get("cold_import")
    throughput = document.get("throughput")
    return {
        "read_budget_and_requests": all(d["within_budget"] for d in decisions) if decisions else None,
        "bytes_ratio_at_50mb": _all_at_least(at_50mb, "bytes", MIN_BYTES_RATIO),
        "one_round_trip_common_layouts": (
            all(d["gatekeeper"]["round_trips"] == COMMON_ROUND_TRIPS for d in common) if common else None
        ),
        "shaped_wall_ratio_at_50mb_common": _all_at_least(common_50mb, "wall_shaped", MIN_TIME_RATIO) if shaped else None,
        "shaped_wall_ratio_at_50mb_cover_art": (
            _all_at_least(cover_art_50mb, "wall_shaped", MIN_TIME_RATIO) if shaped else None
        ),
        "model_ratio_at_50mb": _all_at_least(at_50mb, "model", MIN_TIME_RATIO),
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


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


#: The per-decision table: heading and cell of each column.
_COLUMNS: tuple[tuple[str, Callable[[_Row], str]], ...] = (
    ("layout", lambda d: d["layout"]),
    ("size", lambda d: _size(d["size"])),
    ("tag", lambda d: _size(d["metadata_bytes"])),
    ("budget", lambda d: _size(d["read_budget"])),
    ("GK bytes", lambda d: _size(d["gatekeeper"]["bytes_served"])),
    ("req", lambda d: str(d["gatekeeper"]["requests"])),
    ("rt", lambda d: str(d["gatekeeper"]["round_trips"]) + ("" if d.get("round_trips_agree", True) else "*")),
    ("GK ms", lambda d: _ms(d["gatekeeper"]["wall_ms"])),
    ("BL ms", lambda d: _ms(d["baseline"]["wall_ms"])),
    ("bytes x", lambda d: _times(d["ratios"]["bytes"])),
    ("wall x", lambda d: _times(d["ratios"]["wall"])),
    ("model x", lambda d: _times(d["ratios"]["model"])),
    ("direct x", lambda d: _times(d["ratios"]["wall_direct"])),
    ("GK cpu", lambda d: f"{d['gatekeeper']['cpu_ms']:.1f}"),
    ("BL cpu", lambda d: f"{d['baseline']['cpu_ms']:.1f}"),
    ("GK mem", lambda d: _size(d["gatekeeper"]["peak_memory_bytes"])),
    ("BL mem", lambda d: _size(d["baseline"]["peak_memory_bytes"])),
    ("GK s3%", lambda d: f"{d['gatekeeper']['cpu_shares']['s3_calls']:.0%}"),
    ("floor", lambda d: f"{d['emulator_range_floor_ms']:.1f}"),
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
        f" wall {imports['ratio_wall']:.2f}x (tracing off);"
        f" before lazy format loading {imports.get('ratio_eager', 0):.2f}x (every reader at import)",
        f"  handler self time by package, ms: {profile}",
        f"  CPU ms by group, in import order (cumulative stages, medians): {stages}",
    ]


def _throughput_lines(throughput: _Row) -> list[str]:
    lines = [
        f"Decisions: {throughput['decisions_per_second']:,.0f}/s per CPU second"
        f" ({throughput['wall_decisions_per_second']:,.0f}/s wall), {throughput['inputs']:,} distinct inputs, one core"
    ]
    if throughput.get("reference"):
        per_unit = throughput["decisions_per_reference_unit"]
        lines.append(
            f"  reference workload {throughput['reference']}: {throughput['reference_units_per_second']:,.0f} units"
            f" per CPU second, alternating rounds: {per_unit:.3f} decisions per reference unit"
            f" (a decision costs {1 / per_unit if per_unit else 0:.2f} units; compare this across machines)"
        )
    return lines


def _link_lines(link: _Row) -> list[str]:
    if not link.get("shaped"):
        return [
            f"Link: NOT SHAPED ({link.get('unavailable')}): wall times are on loopback moto;"
            f" the S3-like figure is the estimate (model x, {link['first_byte_ms']:g} ms first byte per round trip,"
            f" {link['mib_per_second']:g} MiB/s)"
        ]
    setup, check = link["setup"], link["verification"]
    lines = [
        f"Link: shaped, {setup['namespace']}: {setup['rate']}; first byte: {setup['delay']}"
        f" (target {link['first_byte_ms']:g} ms, {link['mib_per_second']:g} MiB/s)"
    ]
    if check:
        lines.append(
            f"  check: 1-byte GET {check['tiny_get_ms']['shaped']:.1f} ms shaped vs {check['tiny_get_ms']['direct']:.1f}"
            f" ms direct (+{check['added_first_byte_ms']:.1f} ms);"
            f" {_size(check['bulk_bytes'])} GET {check['bulk_get_ms']['shaped']:.0f} ms:"
            f" {check['shaped_mib_per_second']:.1f} MiB/s shaped"
            f" ({check['direct_mib_per_second']:.0f} MiB/s direct)"
            + ("" if check["latency_on_target"] and check["rate_on_target"] else "  [OFF TARGET]")
        )
    return lines


def _range(values: list[float]) -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    return _times(low) if _times(low) == _times(high) else f"{_times(low)}-{_times(high)}"


def _issue_12_lines(document: _Row) -> list[str]:
    decisions = document["decisions"]
    lines = ["Issue 12:"]
    common = [d for d in decisions if d.get("group") == "common"]
    more = [f"{d['layout']} {_size(d['size'])}: {d['gatekeeper']['round_trips']}" for d in common if d["gatekeeper"]["round_trips"] != 1]
    lines.append(
        f"  round trips per decision, common layouts (small tags): 1 on"
        f" {sum(d['gatekeeper']['round_trips'] == 1 for d in common)} of {len(common)} rows"
        + (f"; more: {', '.join(more)}" if more else "")
    )
    for group in ("cover-art", "1m-tag"):
        rows = [d for d in decisions if d.get("group") == group]
        if rows:
            trips = sorted({d["gatekeeper"]["round_trips"] for d in rows})
            lines.append(f"  round trips, {group} layouts: {', '.join(map(str, trips))}")
    key = "wall_shaped" if document["link"].get("shaped") else "model"
    label = "shaped wall" if key == "wall_shaped" else "ESTIMATED (model)"
    for group in ("common", "cover-art"):
        for size_rows in _by_size(d for d in decisions if d.get("group") == group):
            by_trips: dict[int, list[_Row]] = {}
            for row in size_rows:
                by_trips.setdefault(row["gatekeeper"]["round_trips"], []).append(row)
            parts = [
                f"{trips} round trip{'s' if trips > 1 else ''} {_range([d['ratios'][key] or 0 for d in rows])}"
                + (f" (model {_range([d['ratios']['model'] or 0 for d in rows])})" if key == "wall_shaped" else "")
                for trips, rows in sorted(by_trips.items())
            ]
            lines.append(f"  {label} ratio, {group}, {round(size_rows[0]['size'] / MIB)} MiB: {'; '.join(parts)}")
    check = document["link"].get("verification")
    if check:
        tiny = check["tiny_get_ms"]["shaped"]
        link_ms = document["link"]["first_byte_ms"]
        common_rows = [d for d in decisions if d.get("group") == "common"] or decisions
        largest = _by_size(common_rows)[-1]
        bound = _range([d["baseline"]["wall_ms"] / tiny for d in largest])
        lines.append(
            f"  a one-round-trip decision costs about the shaped link's own 1-byte GET ({tiny:.1f} ms here, of which"
            f" {link_ms:g} ms is the shaping): at {round(largest[0]['size'] / MIB)} MiB that puts wall x near {bound}"
        )
    return lines


def _by_size(rows: Iterable[_Row]) -> list[list[_Row]]:
    """Rows grouped by file size, sizes within 25 % of a group's smallest together
    (a generated file is only about the size asked: a 50 MiB Ogg is 50.6 MiB)."""
    groups: list[list[_Row]] = []
    for row in sorted(rows, key=lambda row: row["size"]):
        if groups and row["size"] <= groups[-1][0]["size"] * 1.25:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else "met" if met else "MISSED"


def render(document: _Row) -> str:
    """The whole report as text."""
    m = document["machine"]
    link = document["link"]
    headline = "shaped link" if link.get("shaped") else "loopback (NOT SHAPED)"
    parts = [
        f"Benchmark {document['generated_at']}  ({m['nproc']} x {m['cpu_model']}, Python {m['python']})"
        + ("  [BENCH_QUICK]" if document["quick"] else ""),
        *_link_lines(link),
        "",
        "Per decision: gatekeeper (GK, ranged GETs) vs baseline (BL, one GET of the whole object, then mutagen)",
        decisions_table(document["decisions"]),
        f"  req: GETs; rt: sequential round trips (GETs in flight together count once; *: the reader counted"
        f" fewer, its GETs sent together did not overlap); ms: wall, median, {headline};"
        " wall x: BL ms / GK ms; model x: the estimate (client CPU + first byte per round trip + bytes at the rate);"
        " direct x: wall ratio on the unshaped link; cpu: client CPU ms; s3%: share of GK CPU in S3 calls;"
        " floor: the emulator's 1-byte ranged GET of the object, ms",
    ]
    parts += ["", *_issue_12_lines(document)]
    if document.get("memory"):
        parts += ["", _memory_line(document["memory"])]
    if document.get("cold_import"):
        parts += ["", *_import_lines(document["cold_import"])]
    if document.get("throughput"):
        parts += ["", *_throughput_lines(document["throughput"])]
    if document.get("hostile"):
        from bench.hostile import render as hostile_lines

        parts += ["", hostile_lines(document["hostile"])]
    if document.get("consent"):
        from bench.consent import Figures, render as consent_lines

        parts += ["", consent_lines(Figures(**document["consent"]))]
    verdicts = ", ".join(f"{name} {_verdict(met)}" for name, met in document["targets"].items())
    parts += ["", f"Targets: {verdicts}"]
    return "\n".join(parts)
