"""XMP packets: IPTC PLUS `plus:DataMining` and TDMRep `tdm:reservation`.

The packet is attacker-controlled XML. It is parsed with defusedxml (DTDs,
entity declarations and external references refused, so no billion laughs, no
quadratic blow-up, no network) after a size check, and the parse stops as soon
as the element nesting or the element count passes its bound. Properties are
matched by namespace URI, never by prefix, wherever RDF allows them: as
attributes of any element (the `rdf:Description` shorthand), as elements with
text or an `rdf:resource`, and as `rdf:Bag`/`rdf:Seq`/`rdf:Alt` items.

A packet that cannot be parsed safely raises `Unreadable("xmp")`: a reservation
may hide in it (SPEC: `UNREADABLE:xmp`).
"""

from __future__ import annotations

import codecs
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from xml.sax.saxutils import escape, quoteattr

import defusedxml
import defusedxml.ElementTree as SafeET

from gatekeeper.logic.signals import xmp_dmi_signal, xmp_tdm_signal
from gatekeeper.tags.limits import Limits, Unreadable, check_text

PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
TDM_NS = "http://www.w3.org/ns/tdmrep/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DMI_VOCAB = "http://ns.useplus.org/ldf/vocab/"

_DATA_MINING = f"{{{PLUS_NS}}}DataMining"
_RESERVATION = f"{{{TDM_NS}}}reservation"
_RDF_RESOURCE = f"{{{RDF_NS}}}resource"
_RDF_ITEMS = (f"{{{RDF_NS}}}li", f"{{{RDF_NS}}}value")

#: Property (Clark notation) -> signal builder.
_PROPERTIES: dict[str, Callable[[str], str]] = {_DATA_MINING: xmp_dmi_signal, _RESERVATION: xmp_tdm_signal}

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_WHAT = "xmp"


def signals_from_xmp(packet: bytes, limits: Limits) -> list[str]:
    """Every `plus:DataMining` / `tdm:reservation` signal in the packet, in document order.

    Raises `Unreadable("xmp")` for a packet over `max_xmp_bytes`, one that is not
    well-formed, declares a DTD or an entity, or passes `max_xml_depth` /
    `max_xml_elements`; `Unreadable("max_text_value_chars")` for a value longer
    than that (interpreted whole, never cut) and `Unreadable("max_signals")` for
    more distinct signals than that. An empty packet (only spaces or NULs) carries nothing.
    """
    if len(packet) > limits.max_xmp_bytes:
        raise Unreadable(_WHAT, f"xmp: packet of {len(packet)} bytes exceeds max_xmp_bytes={limits.max_xmp_bytes}")
    if not packet.strip(b" \t\r\n\0"):
        return []
    text = _decode(packet)
    signals: dict[str, None] = {}  # in document order, without duplicates
    for element in _bounded_elements(text.encode("utf-8"), limits):
        for name, value in _property_values(element):
            signals[_PROPERTIES[name](check_text(value, limits))] = None
            if len(signals) > limits.max_signals:
                raise Unreadable("max_signals", f"xmp: more than max_signals={limits.max_signals} signals")
    return list(signals)


def _decode(packet: bytes) -> str:
    """The packet as text (UTF-8, or UTF-16/32 by BOM or NUL pattern), without XML declaration."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if packet.startswith(bom):
            packet, chosen = packet[len(bom) :], encoding
            break
    else:
        chosen = {b"<\0": "utf-16-le", b"\0<": "utf-16-be"}.get(packet[:2], "utf-8")
    try:
        text = packet.decode(chosen)
    except UnicodeDecodeError as exc:
        raise Unreadable(_WHAT, f"xmp: packet is not valid {chosen}") from exc
    return _XML_DECLARATION.sub("", text.strip(" \t\r\n\0"), count=1).strip()


def _bounded_elements(document: bytes, limits: Limits) -> Iterator[ET.Element]:
    """Completed elements of a hardened parse, stopping at the depth and count bounds.

    Elements are yielded on their end event (text and children complete); the
    caller must consume them as they come, as the bounds are checked in between.
    """
    depth = elements = 0
    events = SafeET.iterparse(
        io.BytesIO(document), events=("start", "end"), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        for event, element in events:
            if event == "end":
                depth -= 1
                yield element
                continue
            depth, elements = depth + 1, elements + 1
            if depth > limits.max_xml_depth:
                raise Unreadable(_WHAT, f"xmp: elements nested deeper than max_xml_depth={limits.max_xml_depth}")
            if elements > limits.max_xml_elements:
                raise Unreadable(_WHAT, f"xmp: more than max_xml_elements={limits.max_xml_elements} elements")
    except (ET.ParseError, defusedxml.DefusedXmlException, ValueError) as exc:
        raise Unreadable(_WHAT, f"xmp: unsafe or malformed packet: {type(exc).__name__}: {exc}") from exc


def _property_values(element: ET.Element) -> Iterator[tuple[str, str]]:
    """(property, value) pairs this element states: its attributes, or itself as a property."""
    for name, value in element.attrib.items():
        if name in _PROPERTIES and value.strip():
            yield name, value.strip()
    if element.tag in _PROPERTIES:
        for value in _values_of(element):
            yield element.tag, value


def _values_of(prop: ET.Element) -> Iterator[str]:
    """A property element's values: its text or `rdf:resource`, or those of its `rdf:li` / `rdf:value` items."""
    items = [node for node in prop.iter() if node.tag in _RDF_ITEMS and len(node) == 0] or [prop]
    for node in items:
        value = (node.text or "").strip() or node.get(_RDF_RESOURCE, "").strip()
        if value:
            yield value


# ---------------------------------------------------------------- writer (tests, samples, demo)


def xmp_packet(dmi: str | None = None, tdm: str | None = None, extra: str = "") -> bytes:
    """A UTF-8 XMP packet (with its `<?xpacket?>` wrapper) stating the given signals.

    `dmi` is a DMI code (`DMI-PROHIBITED-AIMLTRAINING`, written as the PLUS
    vocabulary URI) or any full value; `tdm` the `tdm:reservation` value;
    `extra` raw XML inserted inside `rdf:RDF` after the generated description.
    """
    properties = ""
    if dmi is not None:
        value = DMI_VOCAB + dmi if dmi.upper().startswith("DMI-") else dmi
        properties += f"\n   <plus:DataMining>{escape(value)}</plus:DataMining>"
    if tdm is not None:
        properties += f"\n   <tdm:reservation>{escape(tdm)}</tdm:reservation>"
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf={quoteattr(RDF_NS)}>\n'
        f'  <rdf:Description rdf:about="" xmlns:plus={quoteattr(PLUS_NS)} xmlns:tdm={quoteattr(TDM_NS)}>'
        f"{properties}\n"
        "  </rdf:Description>\n"
        f"{extra}"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode("utf-8")
