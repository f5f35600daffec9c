"""A seeded mutation fuzzer over every embedded-structure reader: nothing but `Unreadable` escapes.

Each seed is a valid structure carrying signals; each case mutates it (truncation,
bit flips, absurd 32/64-bit size fields, inserted junk, duplicated slices) and
runs the reader chain the tag readers use (container walk, then XMP / C2PA).
`STRUCTURE_FUZZ_CASES` raises the number of cases per seed (default 1000).
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Callable

import pytest

from gatekeeper.tags.aiff import add_aiff_xmp, read_aiff
from gatekeeper.tags.c2pa import c2pa_bmff_payload, c2pa_store, signals_from_c2pa
from gatekeeper.tags.limits import Limits, Unreadable
from gatekeeper.tags.mp4boxes import C2PA_UUID, XMP_UUID, append_uuid_box, mp4_carriers
from gatekeeper.tags.riff import build_wav, info_list, read_riff
from gatekeeper.tags.xmp import signals_from_xmp, xmp_packet

CASES = int(os.environ.get("STRUCTURE_FUZZ_CASES", "1000"))
LIMITS = Limits()
PACKET = xmp_packet(dmi="DMI-PROHIBITED", tdm="1")
STORE = c2pa_store({"c2pa.training-mining": {"entries": {"c2pa.ai_training": {"use": "notAllowed"}}}})
ABSURD = [0, 1, 7, 8, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFF0]


def wav_chain(data: bytes) -> None:
    found = read_riff(io.BytesIO(data), LIMITS)
    for packet in found.xmp:
        signals_from_xmp(packet, LIMITS)
    for store in found.c2pa:
        signals_from_c2pa(store, LIMITS)


def aiff_chain(data: bytes) -> None:
    for packet in read_aiff(io.BytesIO(data), LIMITS).xmp:
        signals_from_xmp(packet, LIMITS)


def mp4_chain(data: bytes) -> None:
    found = mp4_carriers(io.BytesIO(data), LIMITS).uuid
    for packet in found.get(XMP_UUID, ()):
        signals_from_xmp(packet, LIMITS)
    for store in found.get(C2PA_UUID, ()):
        signals_from_c2pa(store, LIMITS)


SEEDS: dict[str, tuple[bytes, Callable[[bytes], None]]] = {
    "wav": (build_wav([(b"LIST", info_list({"ICOP": "Acme"})[8:]), (b"_PMX", PACKET), (b"C2PA", STORE)], pcm=bytes(64)), wav_chain),
    "aiff": (add_aiff_xmp(b"FORM\0\0\0\x1eAIFFCOMM\0\0\0\x12" + bytes(18), PACKET), aiff_chain),
    "mp4": (
        append_uuid_box(append_uuid_box(b"\0\0\0\x10ftypM4A \0\0\0\0\0\0\0\x10free" + bytes(8), XMP_UUID, PACKET), C2PA_UUID, c2pa_bmff_payload(STORE)),
        mp4_chain,
    ),
    "c2pa": (STORE, lambda data: signals_from_c2pa(data, LIMITS)),
    "xmp": (PACKET, lambda data: signals_from_xmp(data, LIMITS)),
}


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind, at = rng.randrange(5), rng.randrange(max(1, len(buf)))
        if kind == 0:
            del buf[at:]
        elif kind == 1 and buf:
            buf[at] ^= 1 << rng.randrange(8)
        elif kind == 2:
            width, order = rng.choice([(4, "big"), (4, "little"), (8, "big")])
            buf[at : at + width] = (rng.choice(ABSURD) % (1 << (8 * width))).to_bytes(width, order)
        elif kind == 3:
            buf[at:at] = rng.randbytes(rng.randint(1, 16))
        else:
            buf[at:at] = buf[at : at + rng.randint(1, 64)]
    return bytes(buf)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_mutants_read_or_fail_closed(name):
    seed, chain = SEEDS[name]
    chain(seed)  # the seed itself is valid
    rng = random.Random(f"structures-{name}")
    outcomes = {"read": 0, "unreadable": 0}
    for _ in range(CASES):
        try:
            chain(mutate(seed, rng))
            outcomes["read"] += 1
        except Unreadable:
            outcomes["unreadable"] += 1
    # Then every case ended in a result or Unreadable (anything else would have escaped), and both occur
    assert outcomes["read"] > 0 and outcomes["unreadable"] > 0, outcomes
