"""Vorbis comments (FLAC, Ogg Vorbis, Opus, Speex, Ogg FLAC, Theora).

Every field name is free-form: `TITLE`, `ARTIST`, `LABEL` / `ORGANIZATION` /
`PUBLISHER`, `COPYRIGHT`, `ISRC`, `BARCODE` / `UPC`, `LICENSE` and the signal
tags, all case-insensitive (`tags.collect.FIELD_NAMES`). FLAC may also carry a
C2PA manifest store in an `APPLICATION` block with id `c2pa`.
"""

from __future__ import annotations

from mutagen._vorbis import VComment
from mutagen.flac import FLAC

from gatekeeper.tags.c2pa import c2pa_from_flac_application
from gatekeeper.tags.collect import Collector

FLAC_APPLICATION_BLOCK = 2


def read_vorbis(comment: VComment, collector: Collector) -> None:
    """Rights and text signals of one Vorbis comment block."""
    for name, value in comment:
        collector.named(name, [value])


def read_flac_c2pa(audio: FLAC, collector: Collector) -> None:
    """C2PA signals of a FLAC `APPLICATION` block with id `c2pa`."""
    for block in audio.metadata_blocks:
        if block.code == FLAC_APPLICATION_BLOCK:
            collector.c2pa(c2pa_from_flac_application(block.data))
