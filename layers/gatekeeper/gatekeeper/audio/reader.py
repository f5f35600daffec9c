"""Byte access for the decoder: a shared block cache and per-container views.

FFmpeg (through PyAV) reads its input 32 KiB at a time, and seeks. Over S3 every
miss is a ranged GET, so reads are merged: `BlockCache` fetches `block_bytes` from
the position of a miss (never bytes it already holds) and keeps a few blocks, least
recently used first out. Each decoding thread reads through its own `View` (its own
position, optionally starting past a leading tag) over one shared cache.

The source is any seekable binary file object. It is used under a lock (seek + read
as one step), so it need not be thread-safe; an object with a thread-safe
``read_at(offset, size)`` method is called directly, so its fetches may overlap.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, BinaryIO

KIB = 1024


class ReadBudgetExceeded(Exception):
    """The decoder asked for more bytes than the limits allow."""


@dataclass
class ReadStats:
    """What decoding cost at the source: reads made and bytes received."""

    reads: int = 0
    bytes: int = 0


def source_size(fileobj: BinaryIO) -> int:
    """The object's size (its `size` attribute, else by seeking to the end)."""
    size = getattr(fileobj, "size", None)
    if isinstance(size, int) and size >= 0:
        return size
    position = fileobj.tell()
    end = fileobj.seek(0, io.SEEK_END)
    fileobj.seek(position)
    return int(end)


class BlockCache:
    """Merged, cached, thread-safe reads of a seekable source (see the module doc)."""

    def __init__(
        self,
        fileobj: BinaryIO,
        size: int,
        *,
        block_bytes: int = 128 * KIB,
        max_blocks: int = 12,
        max_read_bytes: int | None = None,
    ) -> None:
        self._source = fileobj
        self.size = size
        self.block_bytes = block_bytes
        self.max_blocks = max_blocks
        self.max_read_bytes = max_read_bytes
        self.stats = ReadStats()
        self._segments: OrderedDict[int, bytes] = OrderedDict()  # start -> data, LRU order
        self._lock = threading.Lock()
        self._source_lock = threading.Lock()
        read_at = getattr(fileobj, "read_at", None)
        self._read_at = read_at if callable(read_at) else None

    def _fetch(self, start: int, count: int) -> bytes:
        if self.max_read_bytes is not None and self.stats.bytes + count > self.max_read_bytes:
            raise ReadBudgetExceeded(f"more than {self.max_read_bytes} bytes")
        if self._read_at is not None:
            data = bytes(self._read_at(start, count))
        else:
            with self._source_lock:
                self._source.seek(start)
                data = self._source.read(count)
        with self._lock:
            self.stats.reads += 1
            self.stats.bytes += len(data)
        return data

    def _hit(self, pos: int) -> tuple[int, bytes] | None:
        for start, data in self._segments.items():
            if start <= pos < start + len(data):
                self._segments.move_to_end(start)
                return start, data
        return None

    def _next_start(self, pos: int) -> int:
        """Where the next cached segment after `pos` begins (the end of a fetch from pos)."""
        later = [start for start in self._segments if start > pos]
        return min(later, default=self.size)

    def read_at(self, pos: int, count: int) -> bytes:
        """Up to `count` bytes from `pos` (short only at the end of the object)."""
        parts: list[bytes] = []
        count = max(0, min(count, self.size - pos))
        while count > 0:
            with self._lock:
                hit = self._hit(pos)
                end = None if hit else min(self._next_start(pos), pos + max(count, self.block_bytes), self.size)
            if hit is None:
                assert end is not None
                data = self._fetch(pos, end - pos)
                if not data:
                    break
                with self._lock:
                    self._segments[pos] = data
                    while len(self._segments) > self.max_blocks:
                        self._segments.popitem(last=False)
                hit = (pos, data)
            start, data = hit
            piece = data[pos - start : pos - start + count]
            if not piece:
                break
            parts.append(piece)
            pos += len(piece)
            count -= len(piece)
        return b"".join(parts)


class View(io.RawIOBase):
    """A read-only file object over bytes [start, end) of a `BlockCache`, with its own position."""

    def __init__(self, cache: BlockCache, start: int = 0, end: int | None = None) -> None:
        super().__init__()
        self._cache = cache
        self._start = start
        self._end = cache.size if end is None else end
        self._pos = 0

    @property
    def size(self) -> int:
        return self._end - self._start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        remaining = max(0, self.size - self._pos)
        count = remaining if size is None or size < 0 else min(size, remaining)
        data = self._cache.read_at(self._start + self._pos, count)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def id3v2_end(read_at: Any, size: int) -> int:
    """Where the audio starts after any leading ID3v2 tags (0 when there are none).

    `read_at(offset, count)` reads the object. FFmpeg would otherwise read a whole tag
    (cover art included) at open; here only each tag's 10-byte header is read. A header
    whose size is not syncsafe, or that runs past the object, ends the scan.
    """
    offset = 0
    for _ in range(8):  # concatenated tags happen; more than that is not a tag
        header = read_at(offset, 10)
        if len(header) < 10 or header[:3] != b"ID3" or header[3] == 0xFF or header[4] == 0xFF:
            break
        raw = header[6:10]
        if any(byte & 0x80 for byte in raw):
            break
        length = (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]
        footer = 10 if header[5] & 0x10 else 0
        following = offset + 10 + length + footer
        if following > size:
            break
        offset = following
    return offset
