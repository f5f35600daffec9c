"""MP4/M4A: every `ilst` (`©nam`, `©ART`, `©pub`, `cprt`, freeform `----:<mean>:<name>`) and every carrier uuid box.

Freeform names (`----:com.apple.iTunes:LABEL`, `...:ISRC`, `...:BARCODE`,
`...:TDM_RESERVATION`, ...) are matched case-insensitively whatever their mean.
`tags.mp4boxes` walks the box tree (bounded) and finds every `ilst`, however
many `moov`, `udta` or `meta` boxes hold one, and every XMP / C2PA uuid box;
each `ilst` is parsed by mutagen's own `MP4Tags`.

A value is read as text by its data type, never by guessing: UTF-8 (and the
text-like types), UTF-16, Shift-JIS, and big-endian integers as their decimal
form (`TDM_RESERVATION` stored as the integer 1 reads `1`). A rights or signal
atom whose value is of another type (an image, a float, ...), that does not
decode, or that mutagen could not parse (it keeps such atoms aside) makes the
file `UNREADABLE:mp4`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mutagen.mp4 import MP4, MP4FreeForm, MP4Tags
from mutagen.mp4._atom import Atom

from gatekeeper.tags.collect import Collector, is_carrier_name
from gatekeeper.tags.limits import Unreadable
from gatekeeper.tags.mp4boxes import C2PA_UUID, XMP_UUID, mp4_carriers
from gatekeeper.tags.source import SourceView

#: Native atoms -> rights field.
ATOMS: dict[str, str] = {"\xa9nam": "title", "\xa9ART": "artist", "\xa9pub": "label", "cprt": "copyright"}
FREEFORM = "----"

#: `data` atom types (ISO/IEC 14496-12 well-known types, as iTunes writes them) -> text codec.
TEXT_TYPES: dict[int, str] = {
    0: "utf-8",  # implicit: text for the atoms read here
    1: "utf-8",
    2: "utf-16-be",
    3: "shift_jis",
    4: "utf-8",  # UTF-8 sort
    5: "utf-16-be",  # UTF-16 sort
    6: "utf-8",  # HTML
    7: "utf-8",  # XML
    9: "utf-8",  # ISRC
    15: "utf-8",  # URL
    25: "utf-8",  # UPC
}
SIGNED_INTEGER_TYPES = frozenset({21, 65, 66, 67, 74})
UNSIGNED_INTEGER_TYPES = frozenset({22, 75, 76, 77, 78})

_WHAT = "mp4"


def _fail(message: str) -> Unreadable:
    return Unreadable(_WHAT, f"mp4: {message}")


def data_text(data_type: int, payload: bytes, name: str) -> str:
    """One `data` atom value of a rights or signal atom, as text; what cannot be read as text fails."""
    if data_type in TEXT_TYPES:
        try:
            return payload.decode(TEXT_TYPES[data_type])
        except UnicodeDecodeError as exc:
            raise _fail(f"{name!r}: value is not valid {TEXT_TYPES[data_type]}") from exc
    if data_type in SIGNED_INTEGER_TYPES or data_type in UNSIGNED_INTEGER_TYPES:
        if len(payload) not in (1, 2, 3, 4, 8):
            raise _fail(f"{name!r}: an integer value of {len(payload)} bytes")
        return str(int.from_bytes(payload, "big", signed=data_type in SIGNED_INTEGER_TYPES))
    raise _fail(f"{name!r}: a value of data type {data_type} cannot be read as text")


def _data_atoms(raw: bytes, name: str) -> Iterator[tuple[int, bytes]]:
    """(type, payload) of the `data` atoms in an item atom's payload."""
    position = 0
    while position < len(raw):
        length = int.from_bytes(raw[position : position + 4], "big")
        if length < 16 or position + length > len(raw) or raw[position + 4 : position + 8] != b"data":
            raise _fail(f"{name!r}: malformed data atom at {position}")
        yield int.from_bytes(raw[position + 9 : position + 12], "big"), raw[position + 16 : position + length]
        position += length


def _freeform_parts(raw: bytes) -> tuple[str, bytes]:
    """(name, the data atoms) of a freeform atom's payload: `mean`, `name`, then `data` atoms."""
    position = 0
    found: dict[bytes, bytes] = {}
    for part in (b"mean", b"name"):
        length = int.from_bytes(raw[position : position + 4], "big")
        if length < 12 or raw[position + 4 : position + 8] != part or position + length > len(raw):
            raise _fail(f"malformed freeform atom ({part.decode()} expected at {position})")
        found[part] = raw[position + 12 : position + length]
        position += length
    try:
        return found[b"name"].decode("utf-8"), raw[position:]
    except UnicodeDecodeError as exc:
        raise _fail("a freeform name that is not UTF-8") from exc


class _IlstPath:
    """What `MP4Tags.load` asks of mutagen's `Atoms`: the path moov..meta/ilst, for one given `ilst`."""

    def __init__(self, meta: Any, ilst: Any) -> None:
        self._path = [meta, ilst]

    def path(self, *names: bytes) -> list[Any]:
        return self._path


def _freeform_name(key: str) -> str:
    return key.rpartition(":")[2]


def read_ilst(stream: SourceView, meta_at: int, ilst_at: int, collector: Collector) -> None:
    """Rights and text signals of one `ilst` (of the `meta` box at `meta_at`)."""
    stream.seek(meta_at)
    meta = Atom(stream, level=1)
    ilst = next(child for child in meta.children if child.offset == ilst_at)
    tags = MP4Tags(_IlstPath(meta, ilst), stream)
    for key, values in tags.items():
        if key in ATOMS:
            collector.right(ATOMS[key], [str(value) for value in values])
        elif key.startswith(FREEFORM + ":") and is_carrier_name(_freeform_name(key)):
            name = _freeform_name(key)
            texts = [data_text(value.dataformat, bytes(value), key) for value in values if isinstance(value, MP4FreeForm)]
            collector.named(name, texts)
    for key, failed in tags._failed_atoms.items():
        for raw in failed:
            _read_failed(key, raw, collector)


def _read_failed(key: str, raw: bytes, collector: Collector) -> None:
    """An atom mutagen could not parse: read it if it carries a rights value or a signal, else ignore it."""
    if key in ATOMS:
        collector.right(ATOMS[key], [data_text(kind, payload, key) for kind, payload in _data_atoms(raw, key)])
    elif key == FREEFORM:
        name, data = _freeform_parts(raw)
        if is_carrier_name(name):
            collector.named(name, [data_text(kind, payload, name) for kind, payload in _data_atoms(data, name)])


def read_mp4(stream: SourceView, collector: Collector) -> None:
    """Every `ilst` of the file, then every XMP and C2PA uuid box."""
    carriers = mp4_carriers(stream, collector.limits)
    stream.seek(0)
    MP4(stream)  # the container as mutagen reads it (its tree is the one just bounded)
    for meta_at, ilst_at in carriers.ilst:
        read_ilst(stream, meta_at, ilst_at, collector)
    for packet in carriers.uuid.get(XMP_UUID, ()):
        collector.xmp(packet)
    for store in carriers.uuid.get(C2PA_UUID, ()):
        collector.c2pa(store)
