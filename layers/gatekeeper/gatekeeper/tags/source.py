"""A read-only, size-bounded view of the object being read.

Every reader (mutagen and our own structure walkers) reads through `BoundedSource`,
so an absurd size field in a hostile file cannot make anything allocate or fetch
gigabytes: a single read larger than `Limits.max_tag_bytes`, or more than
`Limits.max_read_bytes` in total, raises `Unreadable` with the bound's name.
The view has no file name, so mutagen identifies the container from content only.
"""

from __future__ import annotations

import errno
import io
from typing import BinaryIO

from gatekeeper.tags.limits import Limits, Unreadable


class BoundedSource(io.RawIOBase):
    """Seekable, read-only wrapper counting and bounding the bytes read."""

    def __init__(self, fileobj: BinaryIO, limits: Limits) -> None:
        super().__init__()
        self._inner = fileobj
        self._limits = limits
        self._size = fileobj.seek(0, io.SEEK_END)
        self._position = fileobj.seek(0, io.SEEK_SET)
        self.bytes_read = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        target = base + offset
        if target < 0:
            # As a real file does: mutagen tells "file too small" by this errno.
            raise OSError(errno.EINVAL, "seek before the start of the object")
        self._position = target
        return target

    def read(self, size: int | None = -1) -> bytes:
        remaining = max(0, self._size - self._position)
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        if wanted > self._limits.max_tag_bytes:
            raise Unreadable("max_tag_bytes", f"a single read of {wanted} bytes exceeds max_tag_bytes")
        if self.bytes_read + wanted > self._limits.max_read_bytes:
            raise Unreadable("max_read_bytes", f"reading {wanted} more bytes exceeds max_read_bytes")
        if wanted == 0:
            return b""
        self._inner.seek(self._position)
        data = self._inner.read(wanted)
        self.bytes_read += len(data)
        self._position += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read_at(self, offset: int, size: int) -> bytes:
        """`size` bytes (fewer at the end of the object) from `offset`."""
        self.seek(offset)
        return self.read(size)
