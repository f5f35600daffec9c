"""MP4/M4A atoms: `©nam`, `©ART`, `©pub`, `cprt`, freeform `----:<mean>:<name>`, and top-level uuid boxes.

Freeform names (`----:com.apple.iTunes:LABEL`, `...:ISRC`, `...:BARCODE`,
`...:TDM_RESERVATION`, ...) are matched case-insensitively whatever their mean.
XMP and C2PA live in top-level `uuid` boxes, found by `tags.mp4boxes`.
"""

from __future__ import annotations

from typing import BinaryIO

from mutagen.mp4 import MP4FreeForm, MP4Tags

from gatekeeper.tags.collect import Collector
from gatekeeper.tags.mp4boxes import C2PA_UUID, XMP_UUID, read_mp4_uuid_boxes

#: Native atoms -> rights field.
ATOMS: dict[str, str] = {"\xa9nam": "title", "\xa9ART": "artist", "\xa9pub": "label", "cprt": "copyright"}
FREEFORM = "----:"


def read_mp4(tags: MP4Tags, collector: Collector) -> None:
    """Rights and text signals of an `ilst`."""
    for key, values in tags.items():
        if key in ATOMS:
            collector.right(ATOMS[key], _texts(values))
        elif key.startswith(FREEFORM):
            collector.named(key.rpartition(":")[2], _texts(values))


def read_mp4_boxes(source: BinaryIO, collector: Collector) -> None:
    """XMP and C2PA signals of the top-level uuid boxes."""
    boxes = read_mp4_uuid_boxes(source, collector.limits)
    collector.xmp(boxes.get(XMP_UUID))
    collector.c2pa(boxes.get(C2PA_UUID))


def _texts(values: object) -> list[object]:
    """Text values of an atom; numbers, covers and other binary data are skipped."""
    if not isinstance(values, list):
        return []
    return [bytes(v) if isinstance(v, MP4FreeForm) else v for v in values if isinstance(v, (str, MP4FreeForm))]
