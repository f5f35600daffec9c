"""APEv2: a tag block at the end of a file (Monkey's Audio, WavPack, Musepack, TAK, OptimFROG, MP3, ...).

Every key is free-form and case-insensitive: `Title`, `Artist`, `Label`,
`Publisher`, `Copyright`, `ISRC`, `Barcode`, `UPC`, `License` and the signal
tags. Text values may hold several values separated by NUL. A binary item under a
name that carries a rights value or a signal cannot be read as text: the file is
`UNREADABLE:apev2`. mutagen parses the tag (`mutagen.apev2.APEv2`) from a window
holding exactly the tag block (`tags.outer` finds it), after its item count is
checked against `Limits.max_chunks`.
"""

from __future__ import annotations

from mutagen.apev2 import BINARY, EXTERNAL, TEXT, APEv2

from gatekeeper.tags.collect import Collector, is_carrier_name
from gatekeeper.tags.limits import Unreadable, check_count
from gatekeeper.tags.source import SourceView

APE_FOOTER = 32


def read_apev2_block(block: SourceView, collector: Collector) -> None:
    """Rights and text signals of the APEv2 tag filling `block`."""
    footer = block.read_at(block.size - APE_FOOTER, APE_FOOTER)
    check_count(collector.limits, "max_chunks", int.from_bytes(footer[16:20], "little"), "apev2")
    block.seek(0)
    read_apev2(APEv2(block), collector)


def read_apev2(tags: APEv2, collector: Collector) -> None:
    """Rights and text signals of one parsed APEv2 tag."""
    for key, value in tags.items():
        if value.kind == TEXT:
            collector.named(key, list(value))
        elif value.kind == EXTERNAL:
            collector.named(key, [value.value])
        elif value.kind == BINARY and is_carrier_name(key):
            raise Unreadable("apev2", f"apev2: item {key!r} is binary, not text")
