"""XMP written by independent tools (exempi, exiftool) into real files ffmpeg encoded.

The readers must not only understand our own writers: exempi (Adobe's XMP
Toolkit) serializes the packet and places it in each container itself (ID3v2
`PRIV` owner `XMP` in MP3, `_PMX` in WAV, the XMP uuid box in M4A); exiftool
(12.57 knows no `plus:DataMining` tag) places a given packet into M4A's uuid box. exempi 2.6.3 crashes writing AIFF, so AIFF is covered
by the ffmpeg-written file of test_aiff.py only.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from gatekeeper.tags.limits import Limits
from gatekeeper.tags.mp4boxes import XMP_UUID, mp4_carriers
from gatekeeper.tags.riff import read_riff
from gatekeeper.tags.xmp import PLUS_NS, TDM_NS, signals_from_xmp, xmp_packet
from tests.structures.helpers import run_tool

LIMITS = Limits()
DMI = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"


def encode(path: Path, *extra: str) -> Path:
    run_tool("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.2", *extra, str(path))
    return path


def exempi_set(path: Path, namespace: str, prefix: str, prop: str, value: str) -> None:
    run_tool("exempi", "-w", "-n", namespace, prefix, "-s", f"{prefix}:{prop}", "-v", value, str(path))


def packet_in(path: Path) -> bytes | None:
    """The XMP packet in the container, located the way the tag readers locate it."""
    data = path.read_bytes()
    if path.suffix == ".mp3":
        frames = [frame.data for frame in ID3(path).getall("PRIV") if frame.owner == "XMP"]
        return frames[0] if frames else None
    if path.suffix == ".wav":
        packets = read_riff(io.BytesIO(data), LIMITS).xmp
    else:
        packets = mp4_carriers(io.BytesIO(data), LIMITS).uuid.get(XMP_UUID, [])
    return packets[0] if packets else None


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".m4a"])
def test_exempi_written_signals(tmp_path, suffix):
    # Given an ffmpeg-encoded file into which exempi wrote both reservation properties
    path = encode(tmp_path / f"a{suffix}")
    exempi_set(path, PLUS_NS, "plus", "DataMining", DMI)
    exempi_set(path, TDM_NS, "tdm", "reservation", "1")
    # Then the packet is found in the container and both signals are read
    assert signals_from_xmp(packet_in(path), LIMITS) == [
        "xmp:plus:DataMining=DMI-PROHIBITED-AIMLTRAINING",
        "xmp:tdm:reservation=1",
    ]


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".m4a"])
def test_exempi_packet_without_signals(tmp_path, suffix):
    path = encode(tmp_path / f"b{suffix}")
    exempi_set(path, "http://purl.org/dc/elements/1.1/", "dc", "source", "studio")
    assert packet_in(path) is not None
    assert signals_from_xmp(packet_in(path), LIMITS) == []


def test_exiftool_written_m4a(tmp_path):
    # Given an M4A into which exiftool placed an XMP packet
    sidecar = tmp_path / "rights.xmp"
    sidecar.write_bytes(xmp_packet(dmi="DMI-PROHIBITED-GENAIMLTRAINING", tdm="1"))
    path = encode(tmp_path / "c.m4a", "-c:a", "aac")
    assert shutil.which("exiftool")
    run_tool("exiftool", "-q", "-overwrite_original", f"-xmp<={sidecar}", str(path))
    # Then the uuid box is found and the signals are read
    assert signals_from_xmp(packet_in(path), LIMITS) == [
        "xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING",
        "xmp:tdm:reservation=1",
    ]
