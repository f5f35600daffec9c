"""Vorbis comments (FLAC, Ogg Vorbis, Opus, Speex, Ogg FLAC, Theora).

Every field name is free-form: `TITLE`, `ARTIST`, `LABEL` / `ORGANIZATION` /
`PUBLISHER`, `COPYRIGHT`, `ISRC`, `BARCODE` / `UPC`, `LICENSE` and the signal
tags, all case-insensitive (`tags.collect.FIELD_NAMES`).

A comment block is parsed by mutagen's `VComment` in strict mode: by default
mutagen replaces invalid UTF-8 with U+FFFD and renames a field without `=`, so a
reservation could be read mangled; here either makes the file
`UNREADABLE:vorbis_comment`. The field count is checked against `Limits.max_chunks`
before parsing.
"""

from __future__ import annotations

import struct

from mutagen._vorbis import VComment, VorbisEncodingError
from mutagen._vorbis import error as VorbisError

from gatekeeper.tags.collect import Collector
from gatekeeper.tags.limits import Limits, Unreadable, check_count

_WHAT = "vorbis_comment"


def parse_comment(data: bytes, limits: Limits, *, framing: bool) -> VComment:
    """One Vorbis comment block (`framing`: a framing bit follows, as in Ogg Vorbis), strictly."""
    if len(data) >= 4:
        vendor = int.from_bytes(data[:4], "little")
        count = data[4 + vendor : 8 + vendor]
        if len(count) == 4:
            check_count(limits, "max_chunks", int.from_bytes(count, "little"), _WHAT)
    try:
        return VComment(data, errors="strict", framing=framing)
    except (VorbisError, VorbisEncodingError, UnicodeError, struct.error, ValueError, IndexError) as exc:
        raise Unreadable(_WHAT, f"vorbis comment: {type(exc).__name__}: {exc}") from exc


def read_vorbis(comment: VComment, collector: Collector) -> None:
    """Rights and text signals of one Vorbis comment block."""
    for name, value in comment:
        collector.named(name, [value])


def read_comment(data: bytes, collector: Collector, *, framing: bool) -> None:
    """`parse_comment`, then `read_vorbis`."""
    read_vorbis(parse_comment(data, collector.limits, framing=framing), collector)
