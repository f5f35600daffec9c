"""Smallest reproducers of the mutagen 1.48.1 bugs the fuzzer found (docs/formats.md).

Each makes mutagen raise a plain Python exception instead of a `MutagenError`
on malformed input; the gatekeeper must still fail closed, naming the container,
or the structure its own bounded readers refuse first.
"""

from __future__ import annotations

import io

import mutagen
import pytest
from mutagen.asf import ASF
from mutagen.dsdiff import DSDIFF
from mutagen.mp3 import MP3
from mutagen.oggopus import OggOpus
from mutagen.smf import SMF

from gatekeeper.tags import extract
from tests.conftest import CORPUS

REPRODUCERS = {
    "smf-empty-track-list": (SMF, "4d546864000000060000000001e0", ValueError, ("smf", "smf")),
    "opus-short-tags-packet": (
        OggOpus,
        "4f67675300020000000000000000cf40e7510000000040a46be301134f707573486561640101ffff80bb0000000000"
        "4f67675300000000000000000000cf40e7517573546167731a0000",
        IndexError,
        ("opus", "ogg"),
    ),
    # A bare tag with nothing after it: no container to name.
    "id3-extended-header-negative-size": (
        MP3,
        "494433040040000000000000000c0000000000005468",
        ValueError,
        (None, "format"),
    ),
    "dsdiff-non-ascii-compression-id": (
        DSDIFF,
        "46524d3800000000000000724453442050524f500000000000000046534e442043484e4c000000000000000600"
        "0143202020434d5052000000000000001444e80000",
        UnicodeDecodeError,
        ("dsdiff", "dsdiff"),
    ),
}


def _asf_with_unknown_attribute_type() -> bytes:
    """mutagen's own WMA test file with one extended attribute whose value type is 7 (undefined)."""
    buffer = io.BytesIO((CORPUS / "silence-1.wma").read_bytes())
    audio = ASF(buffer)
    audio.tags["Zq"] = ["v"]
    buffer.seek(0)
    audio.save(buffer)
    data = bytearray(buffer.getvalue())
    after_name = data.index("Zq".encode("utf-16-le") + b"\0\0") + 6
    data[after_name : after_name + 2] = b"\x07\x00"
    return bytes(data)


@pytest.mark.parametrize("name", sorted(REPRODUCERS))
def test_mutagen_raises_a_plain_exception_and_the_gatekeeper_fails_closed(name: str) -> None:
    kind, hex_bytes, error, verdict = REPRODUCERS[name]
    data = bytes.fromhex(hex_bytes)
    # Given a few bytes on which mutagen raises a plain Python error, not a MutagenError
    with pytest.raises(error) as raised:
        kind(io.BytesIO(data))
    assert not isinstance(raised.value, mutagen.MutagenError)
    # Then extract returns a fail-closed verdict input
    extraction = extract(io.BytesIO(data))
    assert (extraction.format, extraction.unreadable) == verdict


def test_an_asf_attribute_of_unknown_type_fails_closed() -> None:
    # Given a WMA whose attribute has value type 7, on which mutagen raises KeyError
    data = _asf_with_unknown_attribute_type()
    with pytest.raises(KeyError):
        ASF(io.BytesIO(data))
    # Then extract returns UNREADABLE:asf
    assert extract(io.BytesIO(data)).unreadable == "asf"
