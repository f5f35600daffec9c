"""A read-only, size-bounded view of the object being read, and windows onto it.

Every reader (mutagen and our own structure walkers) reads through a
`BoundedSource` or one of its `SourceView` windows, so an absurd size field in a
hostile file cannot make anything allocate or fetch gigabytes: a single read
larger than `Limits.max_tag_bytes`, or more than `Limits.max_read_bytes` in total
(all windows together), raises `Unreadable` with the bound's name.

A window (`view(start, end)`) is a file of its own for the readers: it starts at
offset 0 and ends at its own end. The door hands mutagen the window between the
tags outside a container (a leading ID3v2, trailing APEv2/ID3v1, ...) and each
tag reader the window of its tag block, so no reader sees bytes that are not its
own. Neither has a file name: mutagen identifies the container from content only.
"""

from __future__ import annotations

import errno
import io
from typing import BinaryIO

from gatekeeper.tags.limits import Limits, Unreadable


class _Window(io.RawIOBase):
    """Seekable, read-only bytes [start, end) of a `BoundedSource`."""

    def __init__(self, root: BoundedSource | None, start: int, end: int) -> None:
        super().__init__()
        self._root = root if root is not None else self  # type: ignore[assignment]
        self._start = start
        self._end = end
        self._position = 0

    @property
    def size(self) -> int:
        return self._end - self._start

    @property
    def start(self) -> int:
        """Where the window begins in the object."""
        return self._start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        target = base + offset
        if target < 0:
            # As a real file does: mutagen tells "file too small" by this errno.
            raise OSError(errno.EINVAL, "seek before the start of the object")
        self._position = target
        return target

    def read(self, size: int | None = -1) -> bytes:
        remaining = max(0, self.size - self._position)
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        data = self._root._fetch(self._start + self._position, wanted)
        self._position += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read_at(self, offset: int, size: int) -> bytes:
        """`size` bytes (fewer at the end of the window) from `offset`."""
        self.seek(offset)
        return self.read(size)

    def view(self, start: int, end: int | None = None) -> SourceView:
        """The window [start, end) of this window (end: its end), itself a file from offset 0."""
        end = self.size if end is None else end
        if not 0 <= start <= end <= self.size:
            raise Unreadable("truncated", f"window {start}-{end} lies outside {self.size} bytes")
        return SourceView(self._root, self._start + start, self._start + end)


class BoundedSource(_Window):
    """The whole object, counting and bounding the bytes every window reads."""

    def __init__(self, fileobj: BinaryIO, limits: Limits) -> None:
        self._inner = fileobj
        self._limits = limits
        self.bytes_read = 0
        size = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(0, io.SEEK_SET)
        super().__init__(None, 0, size)

    @property
    def limits(self) -> Limits:
        return self._limits

    def _fetch(self, offset: int, wanted: int) -> bytes:
        if wanted > self._limits.max_tag_bytes:
            raise Unreadable("max_tag_bytes", f"a single read of {wanted} bytes exceeds max_tag_bytes")
        if self.bytes_read + wanted > self._limits.max_read_bytes:
            raise Unreadable("max_read_bytes", f"reading {wanted} more bytes exceeds max_read_bytes")
        if wanted == 0:
            return b""
        self._inner.seek(offset)
        data = self._inner.read(wanted)
        self.bytes_read += len(data)
        return data


class SourceView(_Window):
    """A window of a `BoundedSource` (see `_Window.view`); its reads count against the same bounds."""

    @property
    def limits(self) -> Limits:
        return self._root.limits
