"""Ogg (Vorbis, Opus, Speex, FLAC, Theora): the comment header of every logical stream of every link.

mutagen's Ogg readers read the comment header of the first logical stream only.
An Ogg file may hold more (RFC 3533): several streams multiplexed in one *link*
(their beginning-of-stream pages come first, e.g. Theora + Vorbis), and links
chained one after another, each with its own streams and comment headers. Here
every one is read:

- the streams of a link are its beginning-of-stream pages; their header packets
  are read page by page until each known codec's comment packet is complete
  (Vorbis `\\x03vorbis`, Opus `OpusTags`, Speex, Theora `\\x81theora`, and every
  `VORBIS_COMMENT` metadata block of Ogg FLAC);
- a file is chained when its last page belongs to none of the first link's
  streams. The start of each further link is then found by bisection on the
  pages' serial numbers, as libvorbisfile finds them, so a chained file costs a
  few dozen small reads rather than a read of the whole file. (Bisection assumes
  what RFC 3533 requires: a link's serial numbers are not used again by a later
  link.)

Pages, links and streams are bounded (`max_chunks` pages read per link,
`max_tag_blocks` streams in all, `max_tag_bytes` per header packet); a stream
whose headers end early, a link that does not begin with beginning-of-stream
pages, or a probe that finds no page fail closed as `UNREADABLE:ogg`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from mutagen._util import cdata

bitswap = cdata.bitswap
from mutagen.ogg import OggPage
from mutagen.ogg import error as OggError

from gatekeeper.tags.collect import Collector
from gatekeeper.tags.limits import Limits, Unreadable, check_count
from gatekeeper.tags.source import SourceView
from gatekeeper.tags.vorbis import read_comment

CAPTURE = b"OggS"
PAGE_HEADER = 27
MAX_PAGE = PAGE_HEADER + 255 + 255 * 255
_BOS, _EOS, _FLAGS = 0x02, 0x04, 0x07
_PROBE = 8 * 1024
_TAIL = 16 * 1024
_WALK = 2 * MAX_PAGE  # a bisection stops this close, and walks the pages left
_WHAT = "ogg"


def _fail(message: str) -> Unreadable:
    return Unreadable(_WHAT, f"ogg: {message}")


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class PageHead:
    """A page's header: where it lies, its stream and flags (its body is not read)."""

    offset: int
    size: int
    serial: int
    flags: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def page_head(stream: SourceView, offset: int) -> PageHead | None:
    """The page header at `offset`, or None when no well-formed page header starts there."""
    header = stream.read_at(offset, PAGE_HEADER)
    if len(header) < PAGE_HEADER or not header.startswith(CAPTURE) or header[4] != 0 or header[5] & ~_FLAGS:
        return None
    lacing = stream.read_at(offset + PAGE_HEADER, header[26])
    if len(lacing) != header[26]:
        return None
    return PageHead(offset, PAGE_HEADER + len(lacing) + sum(lacing), int.from_bytes(header[14:18], "little"), header[5])


def ogg_crc(page: bytes) -> bytes:
    """The CRC field of a page (its bytes 22-26) computed over the page, as mutagen and libogg do."""
    data = page[:22] + b"\0\0\0\0" + page[26:]
    crc = ~zlib.crc32(data.translate(bitswap), -1) & 0xFFFFFFFF
    return crc.to_bytes(4, "big").translate(bitswap)


def _is_page(stream: SourceView, head: PageHead | None) -> bool:
    """A header whose page lies inside the file and whose checksum holds (not a capture pattern in data)."""
    if head is None or head.end > stream.size:
        return False
    page = stream.read_at(head.offset, head.size)
    return page[22:26] == ogg_crc(page)


def _is_probe_page(stream: SourceView, head: PageHead | None) -> bool:
    """A header followed, where its page ends, by the end of the file or the next page's capture pattern.

    Cheaper than the checksum (4 bytes read, not the page), for the probes of a
    bisection; the page a bisection settles on is checked by its checksum.
    """
    if head is None or head.end > stream.size:
        return False
    return head.end == stream.size or stream.read_at(head.end, 4) == CAPTURE


def next_page(stream: SourceView, offset: int) -> PageHead | None:
    """The first page starting at or after `offset` (scanning at most two page sizes)."""
    position, stop = offset, min(stream.size, offset + 2 * MAX_PAGE)
    while position < stop:
        chunk = stream.read_at(position, _PROBE + 3)
        at = chunk.find(CAPTURE)
        while at >= 0:
            head = page_head(stream, position + at)
            if _is_probe_page(stream, head):
                return head
            at = chunk.find(CAPTURE, at + 1)
        position += _PROBE
    return None


def last_page(stream: SourceView) -> PageHead | None:
    """The last whole page of the file (a file cut inside its last page ends with the page before).

    The tail is searched backwards: the last 16 KiB first (a typical page is a
    few KiB, and the reader's suffix read already holds them), then, in one read,
    the rest of two maximum page sizes (where the last whole page of a file cut
    inside its last page starts) — one more round trip at most, never a chain of
    them: over S3 a round trip costs far more than the 100 KiB it can carry.
    """
    searched = stream.size
    for window in (_TAIL, 2 * MAX_PAGE + _TAIL):
        if searched <= 0:
            break
        start = max(0, stream.size - window)
        tail = stream.read_at(start, searched - start + 3)
        at = tail.rfind(CAPTURE)
        while at >= 0:
            head = page_head(stream, start + at)
            if _is_page(stream, head):
                return head
            at = tail.rfind(CAPTURE, 0, at)
        searched = start
    return None


# ---------------------------------------------------------------- codecs


def _vorbis(packets: list[bytes], collector: Collector) -> bool:
    if len(packets) < 2:
        return False
    if not packets[1].startswith(b"\x03vorbis"):
        raise _fail("the second Vorbis header is not a comment header")
    read_comment(packets[1][7:], collector, framing=True)
    return True


def _prefixed(prefix: bytes, name: str) -> Callable[[list[bytes], Collector], bool]:
    def read(packets: list[bytes], collector: Collector) -> bool:
        if len(packets) < 2:
            return False
        if not packets[1].startswith(prefix):
            raise _fail(f"the second {name} header is not a comment header")
        read_comment(packets[1][len(prefix) :], collector, framing=False)
        return True

    return read


def _flac(packets: list[bytes], collector: Collector) -> bool:
    """Ogg FLAC: the header packets after the first are metadata blocks; the last has the 0x80 flag."""
    for packet in packets[1:]:
        if not packet:
            raise _fail("an empty Ogg FLAC header packet")
        if packet[0] & 0x7F == 4:
            read_comment(packet[4:], collector, framing=False)
        if packet[0] & 0x80:
            return True
    return False


#: First-packet magic -> reader of the stream's header packets (True once it has read what it needs).
CODECS: dict[bytes, Callable[[list[bytes], Collector], bool]] = {
    b"\x01vorbis": _vorbis,
    b"OpusHead": _prefixed(b"OpusTags", "Opus"),
    b"Speex   ": _prefixed(b"", "Speex"),
    b"\x80theora": _prefixed(b"\x81theora", "Theora"),
    b"\x7fFLAC": _flac,
}


def _codec(first_packet: bytes) -> Callable[[list[bytes], Collector], bool] | None:
    return next((reader for magic, reader in CODECS.items() if first_packet.startswith(magic)), None)


# ---------------------------------------------------------------- links


@dataclass
class _Stream:
    reader: Callable[[list[bytes], Collector], bool] | None
    packets: list[bytearray] = field(default_factory=list)
    open: bool = False  # the last packet continues on a later page
    done: bool = False

    def add(self, page: OggPage, limits: Limits) -> None:
        for index, data in enumerate(page.packets):
            if index == 0 and page.continued and self.open:
                self.packets[-1] += data
            else:
                self.packets.append(bytearray(data))
            if len(self.packets[-1]) > limits.max_tag_bytes:
                raise Unreadable("max_tag_bytes", f"ogg: a header packet over max_tag_bytes={limits.max_tag_bytes}")
        self.open = not page.complete

    def complete_packets(self) -> list[bytes]:
        whole = self.packets[:-1] if self.open else self.packets
        return [bytes(packet) for packet in whole]


@dataclass(frozen=True)
class _Link:
    serials: frozenset[int]
    last_page: int  # offset of the last page read that belongs to the link
    next_link: int | None  # offset of the next link's first page, when the headers ran into it


def _read_link(stream: SourceView, start: int, collector: Collector) -> _Link:
    """Read the comment headers of every stream of the link that starts at `start`."""
    limits = collector.limits
    streams: dict[int, _Stream] = {}
    position, pages, seen_data, last_inside = start, 0, False, start
    while True:
        pages += 1
        check_count(limits, "max_chunks", pages, _WHAT)
        stream.seek(position)
        try:
            page = OggPage(stream)
        except (OggError, EOFError) as exc:
            if not streams or not all(s.done for s in streams.values()):
                raise _fail(f"the headers of the link at {start} end early at {position}: {exc}") from exc
            return _Link(frozenset(streams), last_inside, None)
        done = bool(streams) and all(s.done for s in streams.values())
        if page.first and seen_data or (not page.first and page.serial not in streams):
            # The next link begins here (its pages share no serial number with this one).
            if not done or not page.first:
                raise _fail(f"a page of stream {page.serial} at {position} inside the headers of the link at {start}")
            return _Link(frozenset(streams), last_inside, position)
        if page.first:
            if page.serial in streams:
                raise _fail(f"stream {page.serial} begins twice, at {position}")
            check_count(limits, "max_tag_blocks", len(streams) + 1, _WHAT)
            streams[page.serial] = _Stream(_codec(page.packets[0] if page.packets else b""))
        seen_data = seen_data or not page.first
        current = streams[page.serial]
        if not current.done:
            current.add(page, limits)
            current.done = current.reader is None or current.reader(current.complete_packets(), collector)
        last_inside, position = position, stream.tell()
        if seen_data and all(s.done for s in streams.values()):
            return _Link(frozenset(streams), last_inside, None)


def _next_link(stream: SourceView, link: _Link, high: PageHead, limits: Limits) -> PageHead:
    """The first page after `link` (the first page of the next link), by bisection on serial numbers.

    `high` is a page known to lie in a later link; pages of one link are contiguous.
    Bisection narrows the span between a page of the link and a page after it to a
    few pages; the pages in between are then walked header by header.
    """
    serials = link.serials
    low = page_head(stream, link.last_page)
    if low is None:
        raise _fail(f"no page at offset {link.last_page}")
    for _ in range(64):
        if high.offset - low.end <= _WALK:
            break
        probe = next_page(stream, (low.end + high.offset) // 2)
        if probe is None or probe.offset > high.offset:
            raise _fail(f"no page found between {low.end} and {high.offset}")
        if probe.serial in serials:
            low = probe
        else:
            high = probe
    first, pages = low, 0
    while first.serial in serials:
        pages += 1
        check_count(limits, "max_chunks", pages, _WHAT)
        following = page_head(stream, first.end)
        if following is None:
            raise _fail(f"no page follows the page at {first.offset}")
        first = following
    if not first.flags & _BOS or not _is_page(stream, first):
        raise _fail(f"the link at {first.offset} does not begin with a beginning-of-stream page")
    return first


def read_ogg(stream: SourceView, collector: Collector) -> None:
    """The comment header of every logical stream of every link."""
    end = last_page(stream)
    if end is None:
        raise _fail("no whole page near the end of the file")
    start, links = 0, 0
    while True:
        links += 1
        check_count(collector.limits, "max_tag_blocks", links, _WHAT)
        link = _read_link(stream, start, collector)
        if end.serial in link.serials:
            return
        start = link.next_link if link.next_link is not None else _next_link(stream, link, end, collector.limits).offset
