"""MP4/M4A box walking: the box tree mutagen parses, bounded, and every tag carrier in it.

Carriers:
- XMP in a top-level `uuid` box BE7ACFCB-97A9-42E8-9C71-999491E3AFAC (XMP spec
  part 3), a C2PA manifest store in D8FEC3D6-1B0E-483C-9297-5828877EC481 (C2PA
  spec, "embedding in BMFF"): every such box, however many;
- iTunes metadata: every `ilst` in a `meta` box, wherever mutagen's container
  boxes (`moov`, `udta`, `trak`, `meta`, ...) hold one. mutagen reads only the
  first `moov`/`udta`/`meta`/`ilst`; a second `moov`, `udta`, `meta` or `ilst` is
  found here.

The walk descends into exactly the boxes mutagen's `Atom` parser descends into
(`CONTAINERS`, with the 4-byte version/flags of `meta` skipped), so bounding it
bounds mutagen's parse too: at most `Limits.max_chunks` boxes in one container,
`Limits.max_box_depth` levels, and `Limits.max_boxes` boxes in all. Payloads are
seeked past (`mdat` can be gigabytes, with a 64-bit `largesize`); only carrier
payloads are read, each within its own size bound.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import BinaryIO

from gatekeeper.tags.chunks import Chunk, box, iter_boxes, read_exact, stream_size
from gatekeeper.tags.limits import Limits, Unreadable, check_count

XMP_UUID = "be7acfcb-97a9-42e8-9c71-999491e3afac"
C2PA_UUID = "d8fec3d6-1b0e-483c-9297-5828877ec481"
#: The boxes mutagen's `mutagen.mp4._atom.Atom` parses the children of.
CONTAINERS = frozenset({b"moov", b"udta", b"trak", b"mdia", b"meta", b"ilst", b"stbl", b"minf", b"moof", b"traf"})
#: Bytes a container box has before its children (`meta` is a full box).
CHILDREN_OFFSET = {b"meta": 4}

_WHAT = "mp4"


@dataclass
class Mp4Carriers:
    """Where the tags of an MP4 file are.

    - `uuid`: carrier uuid (lower case) -> the payload (after the 16-byte uuid) of every such top-level box;
    - `ilst`: (offset of the `meta` box, offset of one of its `ilst` boxes) for every `ilst`.
    """

    uuid: dict[str, list[bytes]] = field(default_factory=dict)
    ilst: list[tuple[int, int]] = field(default_factory=list)


def _bound(box_uuid: str, limits: Limits) -> tuple[int, str, str]:
    """Size bound, its name and the failure detail for one carrier uuid."""
    if box_uuid == C2PA_UUID:
        return limits.max_c2pa_bytes, "max_c2pa_bytes", "c2pa"
    return limits.max_xmp_bytes, "max_xmp_bytes", "xmp"


class _Walk:
    def __init__(self, fileobj: BinaryIO, limits: Limits) -> None:
        self.fileobj, self.limits = fileobj, limits
        self.found = Mp4Carriers()
        self.boxes = 0

    def level(self, start: int, end: int, depth: int) -> list[Chunk]:
        if depth > self.limits.max_box_depth:
            raise Unreadable(_WHAT, f"mp4: boxes nested deeper than max_box_depth={self.limits.max_box_depth}")
        children = []
        for entry in iter_boxes(self.fileobj, start, end, limits=self.limits, what=_WHAT):
            self.boxes += 1
            check_count(self.limits, "max_boxes", self.boxes, _WHAT)
            children.append(entry)
            if entry.id in CONTAINERS:
                self.container(entry, depth)
        return children

    def container(self, entry: Chunk, depth: int) -> None:
        skip = CHILDREN_OFFSET.get(entry.id, 0)
        if entry.size < skip:
            raise Unreadable(_WHAT, f"mp4: {entry.id!r} box at offset {entry.offset} is shorter than its header")
        children = self.level(entry.offset + skip, entry.end, depth + 1)
        if entry.id == b"meta":
            self.found.ilst.extend((entry.start, child.start) for child in children if child.id == b"ilst")

    def uuid_box(self, entry: Chunk) -> None:
        if entry.size < 16:
            raise Unreadable(_WHAT, f"mp4: uuid box at offset {entry.offset - 8} is shorter than its uuid")
        box_uuid = str(uuid.UUID(bytes=read_exact(self.fileobj, entry.offset, 16, _WHAT)))
        if box_uuid not in (XMP_UUID, C2PA_UUID):
            return
        bound, bound_name, what = _bound(box_uuid, self.limits)
        if entry.size - 16 > bound:
            raise Unreadable(what, f"{what}: uuid box {box_uuid} of {entry.size - 16} bytes exceeds {bound_name}={bound}")
        payloads = self.found.uuid.setdefault(box_uuid, [])
        payloads.append(read_exact(self.fileobj, entry.offset + 16, entry.size - 16, _WHAT))
        check_count(self.limits, "max_tag_blocks", sum(map(len, self.found.uuid.values())), _WHAT)


def mp4_carriers(fileobj: BinaryIO, limits: Limits) -> Mp4Carriers:
    """Walk the box tree of an MP4 file (bounded, see the module doc) and find every tag carrier.

    A broken box chain raises `Unreadable("mp4")`; a carrier over its size bound
    `Unreadable("xmp")` / `Unreadable("c2pa")`.
    """
    walk = _Walk(fileobj, limits)
    for entry in walk.level(0, stream_size(fileobj), 0):
        if entry.id == b"uuid":
            walk.uuid_box(entry)
    check_count(limits, "max_tag_blocks", len(walk.found.ilst), _WHAT)
    return walk.found


# ---------------------------------------------------------------- writers (tests, samples, demo)


def uuid_box(box_uuid: str, payload: bytes) -> bytes:
    """A `uuid` box: the 16 uuid bytes, then `payload`."""
    return box(b"uuid", uuid.UUID(box_uuid).bytes + payload)


def append_uuid_box(mp4: bytes, box_uuid: str, payload: bytes) -> bytes:
    """An MP4 file with a top-level `uuid` box appended (no offsets move, so `stco` stays valid)."""
    return mp4 + uuid_box(box_uuid, payload)
