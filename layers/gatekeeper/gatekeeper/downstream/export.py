"""Training-run manifests: every object eligible for a purpose, with its attribution.

Read from the purpose's sparse eligible-only index (see `gatekeeper.dal.flags_table`),
page by page and written as they come, so memory stays constant whatever the
size of the catalogue.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, TextIO

#: The attribution of one manifest entry (SPEC "Command line", `export`).
MANIFEST_FIELDS: tuple[str, ...] = ("object_uri", "bucket", "key", "version_id", "etag", "rights", "policy_id")
#: The keys of a row's `rights` map, each a CSV column `rights.<name>`.
RIGHTS_KEYS: tuple[str, ...] = (
    "uploader_id",
    "partner_id",
    "title",
    "artist",
    "label",
    "copyright",
    "isrc",
    "upc",
    "license",
    "format",
)


class EligibleIndex(Protocol):
    def eligible(self, purpose: str) -> Iterator[Mapping[str, Any]]: ...


def manifest_entries(index: EligibleIndex, purpose: str) -> Iterator[dict[str, Any]]:
    """The manifest entries of every object eligible for `purpose`, lazily."""
    for item in index.eligible(purpose):
        yield {name: item[name] for name in MANIFEST_FIELDS if name in item}


def write_jsonl(entries: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """One JSON object a line; the number written."""
    count = 0
    for entry in entries:
        out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def csv_columns() -> list[str]:
    """The CSV header: the identity fields, then one column per rights key."""
    return [name for name in MANIFEST_FIELDS if name != "rights"] + [f"rights.{key}" for key in RIGHTS_KEYS]


def write_csv(entries: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """A header, then one row an object, `rights` flattened into `rights.<key>` columns; the number written."""
    writer = csv.DictWriter(out, fieldnames=csv_columns(), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for entry in entries:
        rights = entry.get("rights") or {}
        writer.writerow({**entry, **{f"rights.{key}": value for key, value in rights.items()}})
        count += 1
    return count


FORMATS: dict[str, Callable[[Iterable[Mapping[str, Any]], TextIO], int]] = {"jsonl": write_jsonl, "csv": write_csv}


def export(index: EligibleIndex, purpose: str, out: TextIO, *, fmt: str = "jsonl") -> int:
    """Write the manifest of `purpose` to `out` in `fmt` (`jsonl` or `csv`); the number of objects."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return FORMATS[fmt](manifest_entries(index, purpose), out)
