"""Bounds on every attacker-controlled structure the readers parse.

Every number is configuration: `Limits.from_env()` reads `GATEKEEPER_LIMIT_<NAME>`
(upper-case field name, integer) so operators can tune them without a deploy of
code. Exceeding a bound is a fail-closed verdict (`UNREADABLE:<detail>`), never a
crash, never an unbounded read, and never a silent cut: a bound does not keep the
first part of a structure and drop the rest, because what is dropped may be the
reservation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


class Unreadable(Exception):
    """The file cannot be read safely; `detail` becomes `UNREADABLE:<detail>`."""

    def __init__(self, detail: str = "", message: str | None = None):
        super().__init__(message or detail or "unreadable")
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    max_xmp_bytes: int = 1 << 20  # one XMP packet
    max_xml_depth: int = 64  # element nesting in an XMP packet
    max_xml_elements: int = 20_000  # elements in an XMP packet
    max_c2pa_bytes: int = 4 << 20  # one C2PA manifest store
    max_c2pa_depth: int = 32  # JUMBF box / CBOR nesting
    max_tag_bytes: int = 16 << 20  # one tag block (ID3v2, APEv2, Vorbis comment, ...)
    max_frame_bytes: int = 4 << 20  # one frame/atom/chunk we read the payload of (inflated too)
    max_text_value_chars: int = 4096  # one text value (rights and signals), interpreted whole
    max_values_per_field: int = 64  # distinct values of one rights field in a file
    max_signals: int = 64  # distinct AI-use signals in a file
    max_chunks: int = 10_000  # entries of one structure: chunks, boxes, atoms, frames, blocks, items, pages
    max_box_depth: int = 32  # nesting of MP4 atoms / RIFF lists walked
    max_boxes: int = 50_000  # MP4 boxes walked in all, every level of the box tree
    max_tag_blocks: int = 64  # tag blocks in a file: outer tags, ID3 chunks, ilst boxes, Ogg streams, ...
    max_read_bytes: int = 64 << 20  # total bytes the readers may pull from the source

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f"GATEKEEPER_LIMIT_{f.name.upper()}")
            if raw is None or not raw.strip():
                continue
            try:
                value = int(raw)
            except ValueError as exc:
                raise ValueError(f"GATEKEEPER_LIMIT_{f.name.upper()}: not an integer {raw!r}") from exc
            if value <= 0:
                raise ValueError(f"GATEKEEPER_LIMIT_{f.name.upper()}: must be positive, got {value}")
            values[f.name] = value
        return cls(**values)


DEFAULT_LIMITS = Limits()


def check_count(limits: Limits, bound: str, count: int, what: str) -> None:
    """Fail closed when `count` entries of a structure exceed the bound named `bound`.

    `Unreadable(what)`, with a message naming the bound: the structure is refused
    whole rather than read in part.
    """
    limit = getattr(limits, bound)
    if count > limit:
        raise Unreadable(what, f"{what}: more than {bound}={limit} entries")


def check_text(value: str, limits: Limits) -> str:
    """`value` as it will be interpreted (NULs as spaces), refused whole when over `max_text_value_chars`."""
    if len(value) > limits.max_text_value_chars:
        raise Unreadable(
            "max_text_value_chars",
            f"a value of {len(value)} characters exceeds max_text_value_chars={limits.max_text_value_chars}",
        )
    return value.replace("\0", " ")
