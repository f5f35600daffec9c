"""C2PA manifest stores: training-and-data-mining assertions, read with bounds.

A manifest store is a JUMBF tree (ISO 19566-5 boxes): the store superbox
(description type `c2pa`) holds manifests (`c2ma`, update manifests `c2um`), each
with an assertion store (`c2as`) whose assertions are superboxes labelled e.g.
`c2pa.training-mining` holding one content box, `cbor` (or `json`). The entries
of a `c2pa.training-mining` / `cawg.training-mining` assertion,
`{"entries": {"c2pa.ai_training": {"use": "notAllowed"}, ...}}`, become signal
identifiers `c2pa:<label>/<entry>=<use>`.

This is a bounded reader of our own, not a validator: no signature or hash is
checked, because a reservation only narrows eligibility and an unsigned claim to
reserve is honoured all the same (see docs/embedded-structures.md for the choice
against c2pa-python). Every manifest of the store is read, the active one and
those of ingredients alike. Sizes, box counts and JUMBF/CBOR nesting are bounded
by `Limits`; a store that cannot be read within them raises `Unreadable("c2pa")`.

Carriers: ID3v2 `GEOB` frame (MP3; FLAC with a prepended ID3v2 tag) with MIME
`application/c2pa` (C2PA 2.x) or `application/x-c2pa-manifest-store` (earlier
writers); WAV `C2PA` chunk (`tags.riff`); MP4 top-level uuid box D8FEC3D6-...
(`tags.mp4boxes`, whose BMFF header `signals_from_c2pa` strips); FLAC
`APPLICATION` block with id `c2pa` (legacy writers).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import uuid
from collections.abc import Iterator
from typing import Any

from gatekeeper.logic.signals import C2PA_TRAINING_MINING_LABELS, c2pa_signal
from gatekeeper.tags.chunks import Chunk, box, iter_boxes
from gatekeeper.tags.limits import Limits, Unreadable, check_text

C2PA_MIME_TYPES = frozenset({"application/c2pa", "application/x-c2pa-manifest-store"})
FLAC_APPLICATION_ID = b"c2pa"

_ISO_SUFFIX = bytes.fromhex("00110010800000aa00389b71")
STORE_TYPE = b"c2pa" + _ISO_SUFFIX
MANIFEST_TYPES = frozenset({b"c2ma" + _ISO_SUFFIX, b"c2um" + _ISO_SUFFIX})
ASSERTION_STORE_TYPE = b"c2as" + _ISO_SUFFIX
CBOR_TYPE = b"cbor" + _ISO_SUFFIX
JSON_TYPE = b"json" + _ISO_SUFFIX
ASSERTION_STORE_TYPES = frozenset({ASSERTION_STORE_TYPE})
CONTENT_TYPES = frozenset({CBOR_TYPE, JSON_TYPE})
CLAIM_TYPE = b"c2cl" + _ISO_SUFFIX
SIGNATURE_TYPE = b"c2cs" + _ISO_SUFFIX

# BMFF uuid box payload: FullBox version+flags, purpose "manifest\0", 8-byte merkle offset.
_BMFF_MANIFEST_HEADER = b"\0\0\0\0manifest\0"
_BMFF_HEADER_LEN = len(_BMFF_MANIFEST_HEADER) + 8
_INSTANCE_SUFFIX = re.compile(r"__\d+$")
_WHAT = "c2pa"


def _fail(message: str) -> Unreadable:
    return Unreadable(_WHAT, f"c2pa: {message}")


# ---------------------------------------------------------------- carriers


def is_c2pa_mime(mime: str) -> bool:
    """Whether an ID3v2 `GEOB` frame's MIME type says it holds a C2PA manifest store."""
    return mime.strip().lower() in C2PA_MIME_TYPES


# ---------------------------------------------------------------- reading


def signals_from_c2pa(store: bytes, limits: Limits) -> list[str]:
    """Signal identifiers of every training-and-data-mining assertion in a manifest store.

    `store` is the JUMBF manifest store, or an MP4 C2PA uuid box payload (its
    BMFF header is stripped). Raises `Unreadable("c2pa")` for a store over
    `max_c2pa_bytes`, a broken JUMBF tree, or an undecodable assertion.
    """
    if len(store) > limits.max_c2pa_bytes:
        raise _fail(f"manifest store of {len(store)} bytes exceeds max_c2pa_bytes={limits.max_c2pa_bytes}")
    if store.startswith(_BMFF_MANIFEST_HEADER):
        store = store[_BMFF_HEADER_LEN:]
    signals: dict[str, None] = {}  # in store order, without duplicates
    for label, content_type, content in _Jumbf(store, limits).assertions():
        label = _INSTANCE_SUFFIX.sub("", label)
        if label.lower() not in C2PA_TRAINING_MINING_LABELS:
            continue
        for signal in _entry_signals(label, _decode_content(content_type, content, limits), limits):
            signals[signal] = None
            if len(signals) > limits.max_signals:
                raise Unreadable("max_signals", f"c2pa: more than max_signals={limits.max_signals} signals")
    return list(signals)


class _Jumbf:
    """The fixed path store -> manifest -> assertion store -> assertion of a JUMBF manifest store.

    Only those four levels are walked, so nesting below them costs nothing;
    each level's box count is bounded by `max_chunks`.
    """

    def __init__(self, data: bytes, limits: Limits):
        self.data, self.stream, self.limits = data, io.BytesIO(data), limits

    def children(self, superbox: Chunk) -> list[Chunk]:
        return list(iter_boxes(self.stream, superbox.offset, superbox.end, limits=self.limits, what=_WHAT))

    def describe(self, superbox: Chunk) -> tuple[bytes, str, list[Chunk]]:
        """(type uuid, label, content boxes) of a `jumb` superbox; its first child must be `jumd`."""
        children = self.children(superbox)
        if not children or children[0].id != b"jumd":
            raise _fail(f"superbox at offset {superbox.offset} does not start with a description box")
        description = self.data[children[0].offset : children[0].end]
        if len(description) < 17:
            raise _fail(f"description box at offset {children[0].offset} is truncated")
        label = ""
        if description[16] & 0x02:  # label present: NUL-terminated UTF-8
            end = description.find(b"\0", 17)
            if end < 0:
                raise _fail(f"description box at offset {children[0].offset} has an unterminated label")
            label = description[17:end].decode("utf-8", errors="replace")
        return description[:16], label, children[1:]

    def superboxes(self, contents: list[Chunk], type_uuids: frozenset[bytes]) -> Iterator[tuple[bytes, str, list[Chunk]]]:
        """(type, label, contents) of the `jumb` boxes among `contents` whose type is in `type_uuids`."""
        for child in contents:
            if child.id == b"jumb":
                described = self.describe(child)
                if described[0] in type_uuids:
                    yield described

    def assertions(self) -> Iterator[tuple[str, bytes, bytes]]:
        """(label, content type, first content box's bytes) of every assertion of every manifest."""
        tops = list(iter_boxes(self.stream, 0, len(self.data), limits=self.limits, what=_WHAT))
        if len(tops) != 1 or tops[0].id != b"jumb":
            raise _fail("not a JUMBF manifest store")
        store_type, _, manifests = self.describe(tops[0])
        if store_type != STORE_TYPE:
            raise _fail("JUMBF box is not a C2PA manifest store")
        for _, _, parts in self.superboxes(manifests, MANIFEST_TYPES):
            for _, _, assertions in self.superboxes(parts, ASSERTION_STORE_TYPES):
                for content_type, label, contents in self.superboxes(assertions, CONTENT_TYPES):
                    if contents:
                        yield label, content_type, self.data[contents[0].offset : contents[0].end]


def _decode_content(content_type: bytes, content: bytes, limits: Limits) -> Any:
    if content_type == CBOR_TYPE:
        return decode_cbor(content, limits)
    try:
        return json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise _fail(f"assertion JSON does not decode: {type(exc).__name__}") from exc


def _entry_signals(label: str, assertion: Any, limits: Limits) -> Iterator[str]:
    """One signal per well-formed entry (`name -> {"use": ...}`); other shapes carry nothing."""
    entries = assertion.get("entries") if isinstance(assertion, dict) else None
    if not isinstance(entries, dict):
        return
    if len(entries) > limits.max_signals:
        raise Unreadable(
            "max_signals", f"c2pa: {label} has {len(entries)} entries, more than max_signals={limits.max_signals}"
        )
    for name, entry in entries.items():
        use = entry.get("use") if isinstance(entry, dict) else None
        if isinstance(name, str) and isinstance(use, str) and use.strip():
            yield c2pa_signal(label, check_text(name, limits), check_text(use, limits))


# ---------------------------------------------------------------- bounded CBOR (RFC 8949)


class _CborReader:
    """A CBOR decoder that never trusts a length: every count is checked against the bytes left."""

    def __init__(self, data: bytes, max_depth: int):
        self.data, self.pos, self.max_depth = data, 0, max_depth

    def take(self, size: int) -> bytes:
        if size > len(self.data) - self.pos:
            raise _fail(f"CBOR item of {size} bytes runs past the end at offset {self.pos}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def head(self) -> tuple[int, int | None, int]:
        """(major type, argument or None for indefinite length, additional info)."""
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info, info
        if info <= 27:
            return major, int.from_bytes(self.take(1 << (info - 24)), "big"), info
        if info == 31 and major in (2, 3, 4, 5, 7):
            return major, None, info
        raise _fail(f"malformed CBOR head 0x{initial:02x} at offset {self.pos - 1}")

    def item(self, depth: int = 0) -> Any:
        if depth > self.max_depth:
            raise _fail(f"CBOR nested deeper than max_c2pa_depth={self.max_depth}")
        major, arg, info = self.head()
        if major == 0:
            return arg
        if major == 1:
            return -1 - arg
        if major in (2, 3):
            return self.string(major, arg)
        if major == 4:
            return self.array(arg, depth)
        if major == 5:
            return self.map(arg, depth)
        if major == 6:
            return self.item(depth + 1)  # a tag: its content stands for it
        return self.simple(arg, info)

    def string(self, major: int, length: int | None) -> bytes | str:
        if length is None:
            raw = b"".join(self.string_chunks(major))
        else:
            raw = self.take(length)
        if major == 2:
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(f"CBOR text is not UTF-8 near offset {self.pos}") from exc

    def string_chunks(self, major: int) -> Iterator[bytes]:
        while not self.at_break():
            chunk_major, length, _ = self.head()
            if chunk_major != major or length is None:
                raise _fail(f"malformed indefinite-length CBOR string at offset {self.pos}")
            yield self.take(length)

    def at_break(self) -> bool:
        if self.pos < len(self.data) and self.data[self.pos] == 0xFF:
            self.pos += 1
            return True
        return False

    def count(self, length: int | None, per_item: int) -> Iterator[int]:
        """Indices of an array/map's items; a definite count must fit in the bytes left."""
        if length is not None and length * per_item > len(self.data) - self.pos:
            raise _fail(f"CBOR container of {length} items runs past the end at offset {self.pos}")
        index = 0
        while (index < length) if length is not None else not self.at_break():
            yield index
            index += 1

    def array(self, length: int | None, depth: int) -> list[Any]:
        return [self.item(depth + 1) for _ in self.count(length, 1)]

    def map(self, length: int | None, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for _ in self.count(length, 2):
            key = self.item(depth + 1)
            if isinstance(key, (list, dict)):
                raise _fail(f"CBOR map key is a container near offset {self.pos}")
            result[key] = self.item(depth + 1)
        return result

    def simple(self, arg: int | None, info: int) -> Any:
        if arg is None:
            raise _fail(f"CBOR break outside an indefinite-length item at offset {self.pos - 1}")
        if info == 25:
            return struct.unpack(">e", arg.to_bytes(2, "big"))[0]
        if info == 26:
            return struct.unpack(">f", arg.to_bytes(4, "big"))[0]
        if info == 27:
            return struct.unpack(">d", arg.to_bytes(8, "big"))[0]
        return {20: False, 21: True, 22: None, 23: None}.get(arg)


def decode_cbor(data: bytes, limits: Limits) -> Any:
    """One CBOR item filling `data`, nested at most `max_c2pa_depth` deep."""
    reader = _CborReader(data, limits.max_c2pa_depth)
    value = reader.item()
    if reader.pos != len(data):
        raise _fail(f"{len(data) - reader.pos} stray bytes after the CBOR item")
    return value


# ---------------------------------------------------------------- writers (tests, samples, demo)


def encode_cbor(value: Any) -> bytes:
    """Canonical-enough CBOR for maps, lists, text, bytes, ints, bools and None."""
    if value is None or isinstance(value, bool):
        return bytes([0xF6 if value is None else 0xF5 if value else 0xF4])
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, bytes):
        return _cbor_head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, list):
        return _cbor_head(4, len(value)) + b"".join(encode_cbor(item) for item in value)
    if isinstance(value, dict):
        return _cbor_head(5, len(value)) + b"".join(encode_cbor(k) + encode_cbor(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


def _cbor_head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes([major << 5 | arg])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < 1 << (8 * size):
            return bytes([major << 5 | info]) + arg.to_bytes(size, "big")
    raise ValueError(f"CBOR argument {arg} too large")


def jumbf_superbox(type_uuid: bytes, label: str, contents: bytes) -> bytes:
    """A `jumb` superbox: a requestable, labelled `jumd` description, then `contents`."""
    description = type_uuid + b"\x03" + label.encode("utf-8") + b"\0"
    return box(b"jumb", box(b"jumd", description) + contents)


def c2pa_store(assertions: dict[str, dict], *, content: str = "cbor") -> bytes:
    """An unsigned but structurally valid manifest store with one manifest holding `assertions`.

    `assertions` maps a label (e.g. `c2pa.training-mining`) to its data;
    `content` is `cbor` or `json` (the content box type). The claim lists the
    assertions with their real SHA-256 hashes; the signature is an empty COSE_Sign1.
    """
    content_type, content_box = (CBOR_TYPE, b"cbor") if content == "cbor" else (JSON_TYPE, b"json")
    encode = encode_cbor if content == "cbor" else (lambda data: json.dumps(data).encode("utf-8"))
    boxes = {label: jumbf_superbox(content_type, label, box(content_box, encode(data))) for label, data in assertions.items()}
    claim = {
        "claim_generator": "upload-gatekeeper-tests/1.0",
        "signature": "self#jumbf=c2pa.signature",
        "assertions": [
            {"url": f"self#jumbf=c2pa.assertions/{label}", "hash": hashlib.sha256(assertion).digest()}
            for label, assertion in boxes.items()
        ],
    }
    sign1 = b"\xd2" + encode_cbor([b"", {}, None, b""])  # tag 18 COSE_Sign1, unsigned
    manifest = jumbf_superbox(
        b"c2ma" + _ISO_SUFFIX,
        f"urn:uuid:{uuid.UUID(int=0x6761746B)}",
        jumbf_superbox(ASSERTION_STORE_TYPE, "c2pa.assertions", b"".join(boxes.values()))
        + jumbf_superbox(CLAIM_TYPE, "c2pa.claim", box(b"cbor", encode_cbor(claim)))
        + jumbf_superbox(SIGNATURE_TYPE, "c2pa.signature", box(b"cbor", sign1)),
    )
    return jumbf_superbox(STORE_TYPE, "c2pa", manifest)


def c2pa_bmff_payload(store: bytes) -> bytes:
    """The payload of an MP4 C2PA uuid box: FullBox header, purpose `manifest`, merkle offset 0, store."""
    return _BMFF_MANIFEST_HEADER + bytes(8) + store
