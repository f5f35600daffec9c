"""Medians of several benchmark runs, printed as one report: `python -m bench.combine A.json B.json C.json`.

The machine is shared and noisy, so the documented numbers are medians over
full runs. Every number in the documents (per row, per link check, per import
candidate, ...) becomes the median of that number across the runs; everything
else (names, flags, verdicts) is the first run's; the targets are evaluated
again on the medians. The runs must have measured the same rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.report import render, targets


def median_of(values: Sequence[Any]) -> Any:
    """The element-wise median of documents of the same shape."""
    first = values[0]
    if isinstance(first, bool) or first is None or isinstance(first, str):
        return first
    if isinstance(first, (int, float)):
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        middle = statistics.median(numbers)
        return type(first)(middle) if isinstance(first, int) and float(middle).is_integer() else middle
    if isinstance(first, dict):
        return {key: median_of([v[key] for v in values if isinstance(v, dict) and key in v]) for key in first}
    if isinstance(first, list):
        if _named_pairs(first) and all(_named_pairs(v) for v in values):  # [[name, number], ...]: by name
            named = [dict(map(tuple, v)) for v in values]
            return [[name, median_of([n[name] for n in named if name in n])] for name, _ in first]
        if not all(isinstance(v, list) and len(v) == len(first) for v in values):
            return first
        return [median_of([v[i] for v in values]) for i in range(len(first))]
    return first


def _named_pairs(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) for item in value)
    )


def combine(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    layouts = [[(d["layout"], d["size"]) for d in document["decisions"]] for document in documents]
    if any(rows != layouts[0] for rows in layouts):
        raise SystemExit("the runs measured different rows")
    combined = median_of(documents)
    combined["runs"] = [document["generated_at"] for document in documents]
    combined["generated_at"] = f"median of {len(documents)} runs, {documents[0]['generated_at']} to {documents[-1]['generated_at']}"
    combined["targets"] = targets(combined)
    return combined


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.combine", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="result JSON files of `python -m bench`")
    parser.add_argument("--output", type=Path, help="write the combined JSON here")
    args = parser.parse_args(argv)
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in args.runs]
    combined = combine(documents)
    if args.output:
        args.output.write_text(json.dumps(combined, indent=2) + "\n", encoding="utf-8")
    print(render(combined))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
