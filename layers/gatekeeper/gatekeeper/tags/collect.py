"""Where every format reader puts what it finds: rights values and signals, bounded, never cut.

The format modules (`tags.id3`, `tags.vorbis`, `tags.mp4`, ...) only know their
container's native names; the rules they share live here:

- a free-form or field name (Vorbis field, TXXX description, MP4 freeform name,
  APEv2 key, ASF attribute) maps to a rights field case-insensitively
  (`FIELD_NAMES`), or is a signal tag (`is_signal_tag_name`), or is ignored;
- every value is interpreted whole: a value longer than
  `Limits.max_text_value_chars`, more than `Limits.max_values_per_field`
  distinct values of one field, or more than `Limits.max_signals` distinct
  signals in a file raise `Unreadable` with the bound's name. A bound never keeps
  the first part and drops the rest, since the part dropped may be the reservation;
- values arrive as text: each reader decodes its container's encodings and fails
  closed on what cannot be read as text (`tags.id3`, `tags.mp4`, ...);
- XMP packets and C2PA manifest stores go through the hardened readers of
  `tags.xmp` / `tags.c2pa` (imported for the files that carry them), which raise
  `Unreadable` for what they cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable

from gatekeeper.logic.signals import is_signal_tag_name, tag_signal
from gatekeeper.models import Extraction
from gatekeeper.tags.limits import Limits, Unreadable, check_text

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


def is_carrier_name(name: str) -> bool:
    """Whether a free-form name carries a rights value or a signal (so its value must be read as text)."""
    key = name.strip().upper()
    return key in FIELD_NAMES or is_signal_tag_name(key)


class Collector:
    """Adds rights values and signals to one `Extraction`, within the bounds of `limits`."""

    def __init__(self, extraction: Extraction, limits: Limits) -> None:
        self.extraction = extraction
        self.limits = limits

    def right(self, field: str, values: Iterable[str]) -> None:
        """Values of a rights field (`title`, `label`, ...); blanks are skipped."""
        for value in values:
            self.extraction.add_right(field, check_text(value, self.limits))
            count = len(self.extraction.rights.get(field, ()))
            if count > self.limits.max_values_per_field:
                raise Unreadable(
                    "max_values_per_field",
                    f"more than max_values_per_field={self.limits.max_values_per_field} values of {field}",
                )

    def named(self, name: str, values: Iterable[str]) -> None:
        """Values under a field or free-form name: a rights field, a signal tag, or nothing."""
        key = name.strip().upper()
        field = FIELD_NAMES.get(key)
        if field is not None:
            self.right(field, values)
        elif is_signal_tag_name(key):
            self.signals(tag_signal(name, check_text(value, self.limits)) for value in values)

    def signals(self, signals: Iterable[str]) -> None:
        for signal in signals:
            self.extraction.add_signal(signal)
            if len(self.extraction.signals) > self.limits.max_signals:
                raise Unreadable("max_signals", f"more than max_signals={self.limits.max_signals} signals")

    def xmp(self, packet: bytes) -> None:
        """Signals of an XMP packet; an unsafe packet raises `Unreadable("xmp")`."""
        from gatekeeper.tags.xmp import signals_from_xmp  # the XML parser only for files that carry XMP

        self.signals(signals_from_xmp(packet, self.limits))

    def c2pa(self, store: bytes) -> None:
        """Signals of a C2PA manifest store; raises `Unreadable("c2pa")`."""
        from gatekeeper.tags.c2pa import signals_from_c2pa

        self.signals(signals_from_c2pa(store, self.limits))
