"""ID3v2 and ID3v1 (MP3, WAV, AIFF, DSF, DSDIFF, TrueAudio, and FLAC/AAC with a prepended ID3v2 tag).

Native frames: `TIT2` title, `TPE1` artist, `TPUB` label, `TCOP` copyright,
`TSRC` ISRC, `WCOP` licence (mutagen upgrades ID3v2.2/2.3 frame names and merges
ID3v1 fields into the same frames). Other names come from `TXXX` descriptions
(`TXXX:LABEL`, `TXXX:BARCODE`, `TXXX:TDM_RESERVATION`, ...). XMP is an ID3v2
`PRIV` frame owned by `XMP`; C2PA a `GEOB` frame with a C2PA MIME type.
"""

from __future__ import annotations

from typing import BinaryIO

from mutagen.id3 import ID3, ID3NoHeaderError

from gatekeeper.tags.c2pa import find_c2pa_in_id3
from gatekeeper.tags.collect import Collector

#: Native ID3v2.4 text frames -> rights field.
TEXT_FRAMES: dict[str, str] = {"TIT2": "title", "TPE1": "artist", "TPUB": "label", "TCOP": "copyright", "TSRC": "isrc"}
XMP_OWNER = "XMP"


def read_id3(tags: ID3, collector: Collector) -> None:
    """Rights, text signals, XMP and C2PA signals of one ID3 tag."""
    for frame_id, field in TEXT_FRAMES.items():
        for frame in tags.getall(frame_id):
            collector.right(field, frame.text)
    collector.right("license", (frame.url for frame in tags.getall("WCOP")))
    for frame in tags.getall("TXXX"):
        collector.named(frame.desc, frame.text)
    for frame in tags.getall("PRIV"):
        if frame.owner == XMP_OWNER:
            collector.xmp(frame.data)
    collector.c2pa(find_c2pa_in_id3(tags))


def read_prepended_id3(source: BinaryIO, collector: Collector) -> None:
    """An ID3v2 tag before another container's header (FLAC, AAC), which mutagen's reader skips."""
    source.seek(0)
    if source.read(3) != b"ID3":
        return
    source.seek(0)
    try:
        tags = ID3(source, load_v1=False)
    except ID3NoHeaderError:
        return
    read_id3(tags, collector)
