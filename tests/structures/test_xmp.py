"""XMP packets: every way RDF states the two reservation properties, and every XML attack."""

from __future__ import annotations

import codecs

import pytest

from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.xmp import PLUS_NS, RDF_NS, TDM_NS, signals_from_xmp, xmp_packet
from tests.structures.helpers import bounded

LIMITS = Limits()
DMI_URI = "http://ns.useplus.org/ldf/vocab/"


def rdf(body: str, *, namespaces: str = "") -> bytes:
    """A bare x:xmpmeta/rdf:RDF document around `body` (no xpacket wrapper)."""
    return (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF_NS}" '
        f'xmlns:plus="{PLUS_NS}" xmlns:tdm="{TDM_NS}" {namespaces}>{body}</rdf:RDF></x:xmpmeta>'
    ).encode("utf-8")


# ---------------------------------------------------------------- positive cases


def test_writer_packet_round_trips_both_signals():
    # Given our writer's packet with a DMI code and a TDM reservation
    packet = xmp_packet(dmi="DMI-PROHIBITED-AIMLTRAINING", tdm="1")
    # Then it is xpacket-wrapped and both signals come back in document order
    assert packet.startswith(b"<?xpacket begin=") and packet.endswith(b'<?xpacket end="w"?>')
    assert signals_from_xmp(packet, LIMITS) == [
        "xmp:plus:DataMining=DMI-PROHIBITED-AIMLTRAINING",
        "xmp:tdm:reservation=1",
    ]


def test_properties_as_description_attributes():
    # Given the rdf:Description shorthand: properties as attributes
    packet = rdf(f'<rdf:Description rdf:about="" plus:DataMining="{DMI_URI}DMI-PROHIBITED-GENAIMLTRAINING" tdm:reservation="0"/>')
    # Then both are read, the non-reserving TDM value included
    assert signals_from_xmp(packet, LIMITS) == [
        "xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING",
        "xmp:tdm:reservation=0",
    ]


def test_property_as_rdf_resource():
    packet = rdf(f'<rdf:Description><plus:DataMining rdf:resource="{DMI_URI}DMI-PROHIBITED-SEECONSTRAINT"/></rdf:Description>')
    assert signals_from_xmp(packet, LIMITS) == ["xmp:plus:DataMining=DMI-PROHIBITED-SEECONSTRAINT"]


@pytest.mark.parametrize("container", ["Bag", "Seq", "Alt"])
def test_property_as_rdf_container_items(container):
    # Given a property whose values are rdf:li items (one with text, one with rdf:resource)
    packet = rdf(
        f"<rdf:Description><plus:DataMining><rdf:{container}>"
        f'<rdf:li xml:lang="x-default">{DMI_URI}DMI-ALLOWED</rdf:li>'
        f'<rdf:li rdf:resource="{DMI_URI}DMI-PROHIBITED"/>'
        f"</rdf:{container}></plus:DataMining></rdf:Description>"
    )
    # Then every item is a signal
    assert signals_from_xmp(packet, LIMITS) == [
        "xmp:plus:DataMining=DMI-ALLOWED",
        "xmp:plus:DataMining=DMI-PROHIBITED",
    ]


def test_struct_value_with_rdf_value():
    packet = rdf('<rdf:Description><tdm:reservation rdf:parseType="Resource"><rdf:value>1</rdf:value></tdm:reservation></rdf:Description>')
    assert signals_from_xmp(packet, LIMITS) == ["xmp:tdm:reservation=1"]


def test_matching_is_by_namespace_not_prefix():
    # Given the PLUS namespace under another prefix, and the `plus` prefix bound to another namespace
    packet = (
        f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:iptc="{PLUS_NS}" xmlns:plus="http://example.com/not-plus/">'
        "<rdf:Description><iptc:DataMining>DMI-PROHIBITED-AIMLTRAINING</iptc:DataMining>"
        "<plus:DataMining>DMI-PROHIBITED</plus:DataMining></rdf:Description></rdf:RDF>"
    ).encode()
    # Then only the property in the real namespace counts
    assert signals_from_xmp(packet, LIMITS) == ["xmp:plus:DataMining=DMI-PROHIBITED-AIMLTRAINING"]


def test_bare_code_and_duplicates():
    # Given the same bare code twice (lower case) and a permissive code
    packet = rdf(
        "<rdf:Description><plus:DataMining> dmi-unspecified </plus:DataMining></rdf:Description>"
        '<rdf:Description plus:DataMining="DMI-UNSPECIFIED"/>'
    )
    # Then one signal, upper-cased, listed although it reserves nothing
    assert signals_from_xmp(packet, LIMITS) == ["xmp:plus:DataMining=DMI-UNSPECIFIED"]


def test_packet_without_signals_and_empty_packet():
    assert signals_from_xmp(rdf('<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>x</dc:title></rdf:Description>'), LIMITS) == []
    # An empty (or NUL padded) packet carries nothing: nothing can hide in it
    assert signals_from_xmp(b"", LIMITS) == []
    assert signals_from_xmp(b"\0\0 \n", LIMITS) == []


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        lambda text: text.encode("utf-16-le"),  # no BOM: detected by its NUL pattern
        lambda text: codecs.BOM_UTF32_LE + text.encode("utf-32-le"),
        lambda text: ('<?xml version="1.0" encoding="UTF-16"?>' + text).encode("utf-16"),
        lambda text: text.encode("utf-8") + b"\0" * 64 + b" " * 2048,  # writer padding
    ],
    ids=["utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le-nobom", "utf32le-bom", "xml-declaration", "padding"],
)
def test_encodings_and_padding(encode):
    text = xmp_packet(tdm="1").decode("utf-8")
    assert signals_from_xmp(encode(text), LIMITS) == ["xmp:tdm:reservation=1"]


def test_a_value_over_the_text_bound_fails_closed_instead_of_being_cut():
    packet = rdf(f"<rdf:Description><tdm:reservation>{'9' * 500}</tdm:reservation></rdf:Description>")
    assert bounded(lambda: signals_from_xmp(packet, Limits(max_text_value_chars=10))).detail == "max_text_value_chars"
    assert signals_from_xmp(packet, Limits(max_text_value_chars=500)) == ["xmp:tdm:reservation=" + "9" * 500]


def test_more_distinct_signals_than_the_bound_fail_closed():
    # Given a bag of 64 unspecified codes and then the prohibiting one
    items = "".join(f"<rdf:li>DMI-UNSPECIFIED-{i}</rdf:li>" for i in range(64)) + "<rdf:li>DMI-PROHIBITED-AIMLTRAINING</rdf:li>"
    packet = rdf(f"<rdf:Description><plus:DataMining><rdf:Bag>{items}</rdf:Bag></plus:DataMining></rdf:Description>")
    # Then the packet is refused whole rather than read up to the bound
    assert bounded(lambda: signals_from_xmp(packet, LIMITS)).detail == "max_signals"


# ---------------------------------------------------------------- attacks: fail closed, bounded


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + f']><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol9;</x:xmpmeta>'
).encode()
QUADRATIC = (
    f'<!DOCTYPE x [<!ENTITY a "{"A" * 50_000}">]><x:xmpmeta xmlns:x="adobe:ns:meta/">{"&a;" * 50_000}</x:xmpmeta>'
).encode()
EXTERNAL_ENTITY = (
    b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&xxe;</x:xmpmeta>'
)
EXTERNAL_DTD = b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
PARAMETER_ENTITY = b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><x/>'
PLAIN_DTD = b"<!DOCTYPE x:xmpmeta><x:xmpmeta xmlns:x='adobe:ns:meta/'/>"


@pytest.mark.parametrize(
    "packet",
    [BILLION_LAUGHS, QUADRATIC, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY, PLAIN_DTD],
    ids=["billion-laughs", "quadratic-blowup", "external-entity", "external-dtd", "parameter-entity", "plain-dtd"],
)
def test_dtds_and_entities_are_refused(packet):
    # When a packet declares a DTD or entities, Then it is refused quickly, in little memory, as xmp
    error = bounded(lambda: signals_from_xmp(packet, LIMITS), mib=16)
    assert error.detail == "xmp"
    assert "Forbidden" in str(error)


def test_deep_nesting_stops_at_the_depth_bound():
    packet = ("<a>" * 100_000 + "</a>" * 100_000).encode()
    error = bounded(lambda: signals_from_xmp(packet, LIMITS), mib=24)
    assert error.detail == "xmp" and "max_xml_depth=64" in str(error)


def test_element_flood_stops_at_the_count_bound():
    packet = ("<r>" + "<e/>" * 100_000 + "</r>").encode()
    error = bounded(lambda: signals_from_xmp(packet, LIMITS), mib=32)
    assert error.detail == "xmp" and "max_xml_elements=20000" in str(error)


def test_oversized_packet_is_refused_before_parsing():
    packet = xmp_packet(tdm="1") + b" " * (2 << 20)
    error = bounded(lambda: signals_from_xmp(packet, LIMITS), mib=1)
    assert error.detail == "xmp" and "exceeds max_xmp_bytes" in str(error)
    # And the bound is configuration
    assert signals_from_xmp(packet, Limits(max_xmp_bytes=4 << 20)) == ["xmp:tdm:reservation=1"]


@pytest.mark.parametrize(
    "packet",
    [
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF>",  # unbound prefix, unclosed
        b"<a><b></a></b>",
        b"not xml at all",
        b"<a>\0</a>",
        b"<a>\xff\xfe\xfd</a>",  # not UTF-8
        codecs.BOM_UTF16_LE + b"<\0a\0>",  # odd UTF-16
        b"<a/><b/>",  # two roots
    ],
)
def test_malformed_packets_fail_closed(packet):
    assert bounded(lambda: signals_from_xmp(packet, LIMITS)).detail == "xmp"


def test_every_truncation_is_read_or_fails_closed():
    # Given every prefix of a valid packet, When read, Then only a result or Unreadable("xmp") comes out
    packet = xmp_packet(dmi="DMI-PROHIBITED", tdm="1")
    outcomes = set()
    for cut in range(len(packet)):
        try:
            signals_from_xmp(packet[:cut], LIMITS)
            outcomes.add("read")
        except Unreadable as error:
            assert error.detail == "xmp"
            outcomes.add("unreadable")
    assert outcomes == {"read", "unreadable"}
