"""APEv2 (Monkey's Audio, WavPack, Musepack, TAK, OptimFROG, and trailing tags on MP3/TrueAudio).

Every key is free-form and case-insensitive: `Title`, `Artist`, `Label`,
`Publisher`, `Copyright`, `ISRC`, `Barcode`, `UPC`, `License` and the signal
tags. Text values may hold several values separated by NUL; binary items are skipped.
"""

from __future__ import annotations

from typing import BinaryIO

from mutagen.apev2 import EXTERNAL, TEXT, APENoHeaderError, APEv2

from gatekeeper.tags.collect import Collector


def read_apev2(tags: APEv2, collector: Collector) -> None:
    """Rights and text signals of one APEv2 tag."""
    for key, value in tags.items():
        if value.kind == TEXT:
            collector.named(key, list(value))
        elif value.kind == EXTERNAL:
            collector.named(key, [str(value)])


def read_trailing_apev2(source: BinaryIO, collector: Collector) -> None:
    """An APEv2 tag at the end of a file whose main tag is ID3 (absent: nothing)."""
    source.seek(0)
    try:
        tags = APEv2(source)
    except APENoHeaderError:
        return
    read_apev2(tags, collector)
