"""Where every format reader puts what it finds: rights values and signals, bounded.

The format modules (`tags.id3`, `tags.vorbis`, `tags.mp4`, ...) only know their
container's native names; the rules they share live here:

- a free-form or field name (Vorbis field, TXXX description, MP4 freeform name,
  APEv2 key, ASF attribute) maps to a rights field case-insensitively
  (`FIELD_NAMES`), or is a signal tag (`is_signal_tag_name`), or is ignored;
- every value is cut to `Limits.max_text_value_chars`, at most
  `Limits.max_values_per_field` values are kept per field (and signals in all),
  so a tag block of a million values costs a bounded amount;
- XMP packets and C2PA manifest stores go through the hardened readers of
  `tags.xmp` / `tags.c2pa`, which raise `Unreadable` for what they cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable

from gatekeeper.logic.signals import is_signal_tag_name, tag_signal
from gatekeeper.models import Extraction
from gatekeeper.tags.c2pa import signals_from_c2pa
from gatekeeper.tags.limits import Limits
from gatekeeper.tags.xmp import signals_from_xmp

#: Field and free-form names (upper case) -> rights field (SPEC "Embedded tags").
FIELD_NAMES: dict[str, str] = {
    "TITLE": "title",
    "ARTIST": "artist",
    "LABEL": "label",
    "ORGANIZATION": "label",
    "PUBLISHER": "label",
    "COPYRIGHT": "copyright",
    "ISRC": "isrc",
    "BARCODE": "upc",
    "UPC": "upc",
    "LICENSE": "license",
}


class Collector:
    """Adds bounded rights values and signals to one `Extraction`."""

    def __init__(self, extraction: Extraction, limits: Limits) -> None:
        self.extraction = extraction
        self.limits = limits

    def right(self, field: str, values: Iterable[object]) -> None:
        """Values of a rights field (`title`, `label`, ...); blanks are skipped."""
        for value in values:
            if len(self.extraction.rights.get(field, ())) >= self.limits.max_values_per_field:
                return
            self.extraction.add_right(field, self._text(value))

    def named(self, name: str, values: Iterable[object]) -> None:
        """Values under a field or free-form name: a rights field, a signal tag, or nothing."""
        key = name.strip().upper()
        field = FIELD_NAMES.get(key)
        if field is not None:
            self.right(field, values)
        elif is_signal_tag_name(key):
            self.signals(tag_signal(name, self._text(value)) for value in values)

    def signals(self, signals: Iterable[str]) -> None:
        for signal in signals:
            if len(self.extraction.signals) >= self.limits.max_values_per_field:
                return
            self.extraction.add_signal(signal[: self.limits.max_text_value_chars])

    def xmp(self, packet: bytes | None) -> None:
        """Signals of an XMP packet (absent: nothing); an unsafe packet raises `Unreadable("xmp")`."""
        if packet is not None:
            self.signals(signals_from_xmp(packet, self.limits))

    def c2pa(self, store: bytes | None) -> None:
        """Signals of a C2PA manifest store (absent: nothing); raises `Unreadable("c2pa")`."""
        if store is not None:
            self.signals(signals_from_c2pa(store, self.limits))

    def _text(self, value: object) -> str:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return str(value).replace("\0", " ")[: self.limits.max_text_value_chars]
