"""Bounds on every attacker-controlled structure the readers parse.

Every number is configuration: `Limits.from_env()` reads `GATEKEEPER_LIMIT_<NAME>`
(upper-case field name, integer) so operators can tune them without a deploy of
code. Exceeding a bound is a fail-closed verdict (`UNREADABLE:<detail>`), never a
crash and never an unbounded read.
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
    max_frame_bytes: int = 4 << 20  # one frame/atom/chunk we read the payload of
    max_text_value_chars: int = 4096  # one text value kept in rights/signals
    max_values_per_field: int = 64  # values kept per rights field
    max_chunks: int = 10_000  # chunks/boxes/atoms walked in one container level
    max_box_depth: int = 32  # nesting of MP4 atoms / RIFF lists walked
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
