"""ASF/WMA attributes: `Title`, `Author`, `Copyright`, `WM/Publisher`, `WM/ISRC`, free names.

Attribute names are matched case-insensitively after dropping a `WM/` prefix, so
`WM/Publisher`, `WM/ISRC`, `WM/Barcode` and free names such as `TDM_RESERVATION`
share the rules of `tags.collect`. Numbers and booleans are read as their text; a
byte-array or GUID value under a rights or signal name cannot be read as text and
makes the file `UNREADABLE:asf`. The header's object count is checked against
`Limits.max_chunks` before mutagen parses the header.
"""

from __future__ import annotations

from mutagen.asf import ASF, ASFByteArrayAttribute, ASFGUIDAttribute, ASFTags

from gatekeeper.tags.chunks import read_exact
from gatekeeper.tags.collect import Collector, is_carrier_name
from gatekeeper.tags.limits import Unreadable, check_count
from gatekeeper.tags.source import SourceView

#: Content-description names whose meaning differs from the shared names.
NATIVE: dict[str, str] = {"AUTHOR": "artist"}
WM_PREFIX = "WM/"
HEADER_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def read_asf_file(stream: SourceView, collector: Collector) -> None:
    """Rights and text signals of an ASF file's header objects."""
    header = read_exact(stream, 0, 30, "asf")
    if header[:16] == HEADER_GUID:
        check_count(collector.limits, "max_chunks", int.from_bytes(header[24:28], "little"), "asf")
    stream.seek(0)
    tags = ASF(stream).tags
    if tags is not None:
        read_asf(tags, collector)


def read_asf(tags: ASFTags, collector: Collector) -> None:
    """Rights and text signals of ASF content descriptions and extended attributes."""
    for name, value in tags:
        key = name[len(WM_PREFIX) :] if name.upper().startswith(WM_PREFIX) else name
        native = NATIVE.get(key.strip().upper())
        if isinstance(value, (ASFByteArrayAttribute, ASFGUIDAttribute)):
            if native or is_carrier_name(key):
                raise Unreadable("asf", f"asf: attribute {name!r} holds {type(value).__name__}, not text")
            continue
        text = str(value.value)
        if native:
            collector.right(native, [text])
        else:
            collector.named(key, [text])
