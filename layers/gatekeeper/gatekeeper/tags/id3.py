"""ID3v2 and ID3v1, wherever they stand (before or after any container, or in a WAV/AIFF/DSF/DSDIFF chunk).

Native frames: `TIT2` title, `TPE1` artist, `TPUB` label, `TCOP` copyright,
`TSRC` ISRC, `WCOP` licence (and their ID3v2.2 names). Other names come from
`TXXX` descriptions (`TXXX:LABEL`, `TXXX:BARCODE`, `TXXX:TDM_RESERVATION`, ...).
XMP is a `PRIV` frame owned by `XMP`; C2PA a `GEOB` frame with a C2PA MIME type.
Every frame is read: two `TPUB` frames, several `PRIV`/`XMP` or C2PA `GEOB` frames.

The frames are walked here, not by `mutagen.id3.ID3`, for two reasons:

- mutagen's walk copies the rest of the tag for every frame (quadratic: a tag of
  200,000 tiny frames costs seconds, of a million minutes); this walk is linear
  and stops at `Limits.max_chunks` frames;
- mutagen drops, without a word, a frame it cannot parse (a bad encoding byte,
  invalid UTF-8, a bogus compression flag) and a frame running past the end of
  the tag swallows every frame behind it. Here a frame that can carry a rights
  value or a signal (`CARRIER_FRAMES`) and does not parse, or any frame that runs
  past the tag's end, makes the file `UNREADABLE:id3`: a reservation may hide in it.

Each frame's payload is still decoded by mutagen's own frame classes (the same
text encodings, unsynchronisation and frame flags, and mutagen's guess of whether
an ID3v2.4 writer used syncsafe or plain frame sizes), and compressed frames are
inflated within `Limits.max_frame_bytes`.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from mutagen.id3 import (
    GEOB,
    PRIV,
    TCOP,
    TIT2,
    TPE1,
    TPUB,
    TSRC,
    TXXX,
    WCOP,
    Frame,
    Frames,
    Frames_2_2,
    ID3JunkFrameError,
)
from mutagen.id3._id3v1 import ParseID3v1
from mutagen.id3._tags import ID3Header
from mutagen.id3._util import BitPaddedInt
from mutagen.id3._util import error as ID3Error
from mutagen.id3._util import unsynch

from gatekeeper.tags.c2pa import is_c2pa_mime
from gatekeeper.tags.collect import Collector, is_carrier_name
from gatekeeper.tags.limits import Limits, Unreadable, check_count

#: Native text frames (and their ID3v2.2 subclasses) -> rights field.
TEXT_FRAMES: dict[type[Frame], str] = {TIT2: "title", TPE1: "artist", TPUB: "label", TCOP: "copyright", TSRC: "isrc"}
#: Frames that can carry a rights value or a signal: one that fails to parse fails the file.
CARRIER_FRAMES: tuple[type[Frame], ...] = (*TEXT_FRAMES, WCOP, TXXX, PRIV, GEOB)
XMP_OWNER = "XMP"
ID3V1_SIZE = 128

_WHAT = "id3"
_FRAME_ID = re.compile(rb"[A-Z0-9]{3,4}")
_EMPTY_HEADER = bytes(10)


def _fail(message: str) -> Unreadable:
    return Unreadable(_WHAT, f"id3: {message}")


# ---------------------------------------------------------------- reading


def read_id3v2(tag: BinaryIO, collector: Collector) -> None:
    """Rights and signals of the ID3v2 tag at the start of `tag` (a window or a chunk payload holding it)."""
    limits = collector.limits
    try:
        header = ID3Header(tag)
    except (ID3Error, ValueError) as exc:
        raise _fail(f"bad ID3v2 header: {exc}") from exc
    size = header.size - 10
    if header.f_extended:
        size -= 4 + len(header._extdata)
    if size < 0:
        raise _fail(f"the extended header is larger than the tag ({header.size} bytes)")
    data = tag.read(size)
    if len(data) != size:
        raise _fail(f"tag of {size} bytes truncated to {len(data)}")
    read_frames(frames_of(header, data, limits), collector)


def read_id3v1(data: bytes, collector: Collector) -> None:
    """Title and artist of a 128-byte ID3v1 (or 1.1) tag; bytes that are not one carry nothing."""
    frames = ParseID3v1(data)
    if frames:
        read_frames(frames.values(), collector)


def read_frames(frames: Iterable[Frame], collector: Collector) -> None:
    """Rights, text signals, XMP and C2PA signals of parsed frames, in tag order."""
    for frame in frames:
        if isinstance(frame, TXXX):
            collector.named(frame.desc, frame.text)
        elif isinstance(frame, WCOP):
            collector.right("license", [frame.url])
        elif isinstance(frame, PRIV):
            if frame.owner == XMP_OWNER:
                collector.xmp(frame.data)
        elif isinstance(frame, GEOB):
            if is_c2pa_mime(str(frame.mime)):
                collector.c2pa(frame.data)
        else:
            for frame_type, field in TEXT_FRAMES.items():
                if isinstance(frame, frame_type):
                    collector.right(field, [str(text) for text in frame.text])
                    break


# ---------------------------------------------------------------- the frame walk


@dataclass(frozen=True)
class RawFrame:
    """One frame as it stands in the tag: its id, flags, payload and where it starts."""

    name: str
    flags: int
    data: bytes
    offset: int


def frames_of(header: ID3Header, data: bytes, limits: Limits) -> list[Frame]:
    """The parsed carrier frames of a tag's frame area (after the header and extended header)."""
    if header.version < ID3Header._V24 and header.f_unsynch:
        try:
            data = unsynch.decode(data)
        except ValueError:
            pass  # as mutagen: some writers set the flag over data that needs none
    walked = _walk(header, data, limits, _size_reading(header, data, limits))
    return [frame for raw in walked if (frame := _parse(header, raw, limits)) is not None]


def _size_reading(header: ID3Header, data: bytes, limits: Limits) -> Callable[[int], int]:
    """How frame sizes are read: plain integers before ID3v2.4; in 2.4 syncsafe, or plain where the writer
    (old iTunes) wrote plain integers.

    mutagen's `determine_bpi` rule, on a walk bounded by `max_chunks` frames.
    """
    if header.version < ID3Header._V24:
        return int
    syncsafe, syncsafe_past = _frames_recognized(data, BitPaddedInt, limits)
    plain, plain_past = _frames_recognized(data, int, limits)
    if plain > syncsafe or (plain == syncsafe and syncsafe_past >= 1 and plain_past <= 1):
        return int
    return BitPaddedInt


def _frames_recognized(data: bytes, size_of: Callable[[int], int], limits: Limits) -> tuple[int, int]:
    """(frames with a known id, how far past the end the walk ends) when sizes are read with `size_of`."""
    position, known, count = 0, 0, 0
    while position < len(data) - 10:
        part = data[position : position + 10]
        if part == _EMPTY_HEADER:
            return known, -((len(data) - position) % 10)
        count += 1
        check_count(limits, "max_chunks", count, _WHAT)
        name, size, _flags = struct.unpack(">4sLH", part)
        position += 10 + size_of(size)
        if name.decode("latin-1") in Frames:
            known += 1
    return known, position - len(data)


def _walk(header: ID3Header, data: bytes, limits: Limits, size_of: Callable[[int], int]) -> list[RawFrame]:
    """The frames of a tag's frame area.

    As mutagen: an all-zero id starts the padding, an empty frame is skipped, and a
    frame id that is not valid is skipped by its size. Unlike mutagen: a frame that
    runs past the end of the tag is a failure, not the last frame.
    """
    v22 = header.version < ID3Header._V23
    header_size, frames = (6, []) if v22 else (10, [])
    position, count = 0, 0
    view = memoryview(data)
    while len(data) - position >= header_size:
        head = bytes(view[position : position + header_size])
        if v22:
            name_bytes, size = head[:3], int.from_bytes(head[3:6], "big")
            flags = 0
        else:
            name_bytes, raw_size, flags = struct.unpack(">4sLH", head)
            size = int(size_of(raw_size))
        if not name_bytes.strip(b"\0"):
            break  # padding
        count += 1
        check_count(limits, "max_chunks", count, _WHAT)
        start, end = position + header_size, position + header_size + size
        if end > len(data):
            raise _fail(f"frame {name_bytes!r} at offset {position} ({size} bytes) runs past the end of the tag")
        if size and _FRAME_ID.fullmatch(name_bytes.rstrip(b"\0") if not v22 else name_bytes):
            frames.append(RawFrame(name_bytes.decode("ascii"), flags, bytes(view[start:end]), position))
        position = end
    return frames


def _frame_class(header: ID3Header, name: str) -> type[Frame] | None:
    """The mutagen class of a frame id, as mutagen resolves it (2.3 frames written with 2.2 names included)."""
    if header.version < ID3Header._V23:
        return Frames_2_2.get(name)
    if name.endswith("\0"):
        short = Frames_2_2.get(name[:-1])
        return Frames.get(short.__base__.__name__) if short is not None else None
    return Frames.get(name)


def _parse(header: ID3Header, raw: RawFrame, limits: Limits) -> Frame | None:
    """A carrier frame decoded by mutagen's frame class; None for frames that carry nothing we read."""
    frame_type = _frame_class(header, raw.name)
    if frame_type is None or not issubclass(frame_type, CARRIER_FRAMES):
        return None
    data = _payload(header, raw, limits)
    if len(data) <= 1:
        return None  # at most the encoding byte: the frame holds no value
    frame = frame_type()
    try:
        frame._readData(header, data)
    except (ID3JunkFrameError, ID3Error, ValueError, UnicodeError, struct.error) as exc:
        if issubclass(frame_type, TXXX) and not _names_a_carrier(data):
            return None  # a user text frame of a name nothing reads
        raise _fail(f"frame {raw.name} at offset {raw.offset} does not parse: {exc}") from exc
    return frame


def _names_a_carrier(data: bytes) -> bool:
    """Whether a `TXXX` payload that does not parse might be named as a rights field or signal.

    The description (after the encoding byte, up to its terminator) is decoded as
    well as it can be; if even that fails, it might be one.
    """
    encoding, rest = data[0], data[1:]
    codec, terminator = {0: ("latin-1", b"\0"), 1: ("utf-16", b"\0\0"), 2: ("utf-16-be", b"\0\0"), 3: ("utf-8", b"\0")}.get(
        encoding, (None, b"")
    )
    if codec is None:
        return True
    end = rest.find(terminator)
    while terminator == b"\0\0" and end >= 0 and end % 2:
        end = rest.find(terminator, end + 1)
    try:
        description = (rest if end < 0 else rest[:end]).decode(codec)
    except UnicodeDecodeError:
        return True
    return is_carrier_name(description)


def _payload(header: ID3Header, raw: RawFrame, limits: Limits) -> bytes:
    """A frame's payload after its flags are applied (mutagen's `Frame._fromData`, with a bounded inflate)."""
    data, flags = raw.data, raw.flags
    if header.version >= ID3Header._V24:
        length_prefix = b""
        if flags & (Frame.FLAG24_COMPRESS | Frame.FLAG24_DATALEN):
            length_prefix, data = data[:4], data[4:]
        if flags & Frame.FLAG24_UNSYNCH or header.f_unsynch:
            try:
                data = unsynch.decode(data)
            except ValueError:
                pass  # as mutagen: synch-unsafe data under the flag is read as it is
        if flags & Frame.FLAG24_ENCRYPT:
            raise _fail(f"frame {raw.name} at offset {raw.offset} is encrypted")
        if flags & Frame.FLAG24_COMPRESS:
            try:
                data = _inflate(data, limits, raw)
            except zlib.error:
                try:  # as mutagen: a QL 0.12 writer left the length out of the flags' count
                    data = _inflate(length_prefix + data, limits, raw)
                except zlib.error as exc:
                    raise _fail(f"compressed frame {raw.name} at offset {raw.offset} does not inflate: {exc}") from exc
    elif header.version >= ID3Header._V23:
        if flags & Frame.FLAG23_COMPRESS:
            if len(data) < 4:
                raise _fail(f"compressed frame {raw.name} at offset {raw.offset} is too small")
            data = data[4:]
        if flags & Frame.FLAG23_ENCRYPT:
            raise _fail(f"frame {raw.name} at offset {raw.offset} is encrypted")
        if flags & Frame.FLAG23_COMPRESS:
            try:
                data = _inflate(data, limits, raw)
            except zlib.error as exc:
                raise _fail(f"compressed frame {raw.name} at offset {raw.offset} does not inflate: {exc}") from exc
    return data


def _inflate(data: bytes, limits: Limits, raw: RawFrame) -> bytes:
    """zlib data inflated to at most `max_frame_bytes`: a small frame cannot expand to gigabytes.

    Raises `zlib.error` for data that is not a whole zlib stream, `Unreadable` past the bound.
    """
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, limits.max_frame_bytes + 1)
    if len(out) > limits.max_frame_bytes:
        raise Unreadable(
            "max_frame_bytes",
            f"id3: frame {raw.name} at offset {raw.offset} inflates past max_frame_bytes={limits.max_frame_bytes}",
        )
    if not inflater.eof:
        raise zlib.error("incomplete or truncated stream")
    return out
