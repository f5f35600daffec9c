"""ASF/WMA attributes: `Title`, `Author`, `Copyright`, `WM/Publisher`, `WM/ISRC`, free names.

Attribute names are matched case-insensitively after dropping a `WM/` prefix, so
`WM/Publisher`, `WM/ISRC`, `WM/Barcode` and free names such as `TDM_RESERVATION`
share the rules of `tags.collect`. Byte-array and GUID values are skipped.
"""

from __future__ import annotations

from mutagen.asf import ASFByteArrayAttribute, ASFGUIDAttribute, ASFTags

from gatekeeper.tags.collect import Collector

#: Content-description names whose meaning differs from the shared names.
NATIVE: dict[str, str] = {"AUTHOR": "artist"}
WM_PREFIX = "WM/"


def read_asf(tags: ASFTags, collector: Collector) -> None:
    """Rights and text signals of ASF content descriptions and extended attributes."""
    for name, value in tags:
        if isinstance(value, (ASFByteArrayAttribute, ASFGUIDAttribute)):
            continue
        key = name[len(WM_PREFIX) :] if name.upper().startswith(WM_PREFIX) else name
        text = str(value.value)
        if key.strip().upper() in NATIVE:
            collector.right(NATIVE[key.strip().upper()], [text])
        else:
            collector.named(key, [text])
