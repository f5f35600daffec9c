"""MP4/M4A top-level `uuid` boxes: the XMP and C2PA carriers of ISO BMFF files.

XMP lives in a top-level `uuid` box BE7ACFCB-97A9-42E8-9C71-999491E3AFAC (XMP
spec part 3), a C2PA manifest store in D8FEC3D6-1B0E-483C-9297-5828877EC481
(C2PA spec, "embedding in BMFF"). Only top-level boxes are walked; every other
box (`mdat` can be gigabytes, with a 64-bit `largesize`) is seeked past.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import BinaryIO

from gatekeeper.tags.chunks import box, iter_boxes, read_exact, stream_size
from gatekeeper.tags.limits import Limits, Unreadable

XMP_UUID = "be7acfcb-97a9-42e8-9c71-999491e3afac"
C2PA_UUID = "d8fec3d6-1b0e-483c-9297-5828877ec481"

_WHAT = "mp4"


def _bound(box_uuid: str, limits: Limits) -> tuple[int, str, str]:
    """Size bound, its name and the failure detail for one carrier uuid."""
    if box_uuid == C2PA_UUID:
        return limits.max_c2pa_bytes, "max_c2pa_bytes", "c2pa"
    return limits.max_xmp_bytes, "max_xmp_bytes", "xmp"


def read_mp4_uuid_boxes(
    fileobj: BinaryIO, limits: Limits, wanted: Collection[str] = (XMP_UUID, C2PA_UUID)
) -> dict[str, bytes]:
    """Payloads (after the 16-byte uuid) of the top-level `uuid` boxes in `wanted`.

    Keyed by lower-case uuid string. A second box with the same wanted uuid is
    ambiguous and fails closed, like a payload over its size bound
    (`Unreadable("xmp")` / `Unreadable("c2pa")`); a broken box chain raises
    `Unreadable("mp4")`.
    """
    found: dict[str, bytes] = {}
    for entry in iter_boxes(fileobj, 0, stream_size(fileobj), limits=limits, what=_WHAT):
        if entry.id != b"uuid":
            continue
        if entry.size < 16:
            raise Unreadable(_WHAT, f"mp4: uuid box at offset {entry.offset - 8} is shorter than its uuid")
        box_uuid = str(uuid.UUID(bytes=read_exact(fileobj, entry.offset, 16, _WHAT)))
        if box_uuid not in wanted:
            continue
        bound, bound_name, what = _bound(box_uuid, limits)
        if box_uuid in found:
            raise Unreadable(what, f"{what}: more than one top-level uuid box {box_uuid}")
        if entry.size - 16 > bound:
            raise Unreadable(what, f"{what}: uuid box {box_uuid} of {entry.size - 16} bytes exceeds {bound_name}={bound}")
        found[box_uuid] = read_exact(fileobj, entry.offset + 16, entry.size - 16, _WHAT)
    return found


# ---------------------------------------------------------------- writers (tests, samples, demo)


def uuid_box(box_uuid: str, payload: bytes) -> bytes:
    """A `uuid` box: the 16 uuid bytes, then `payload`."""
    return box(b"uuid", uuid.UUID(box_uuid).bytes + payload)


def append_uuid_box(mp4: bytes, box_uuid: str, payload: bytes) -> bytes:
    """An MP4 file with a top-level `uuid` box appended (no offsets move, so `stco` stays valid)."""
    return mp4 + uuid_box(box_uuid, payload)
