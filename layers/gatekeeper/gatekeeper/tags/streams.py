"""Containers with no tag system inside them: their tags are all outer tags (`tags.outer`).

MPEG audio (MP3) and TrueAudio carry ID3v2/ID3v1 and APEv2 around the stream;
Monkey's Audio, WavPack, Musepack, TAK and OptimFROG an APEv2 tag at the end (and
sometimes an ID3v2 before); ADTS AAC and AC-3 at most an ID3v2 before; MIDI none.
mutagen reads the stream (so a file that is not one fails closed as
`UNREADABLE:<format>`), from the window between the outer tags, with its own ID3
loading turned off: the tags are read once, by `tags.outer`.
"""

from __future__ import annotations

from typing import Any

from mutagen import FileType
from mutagen.id3 import ID3NoHeaderError

from gatekeeper.tags.collect import Collector
from gatekeeper.tags.source import SourceView


class NoID3:
    """Passed to mutagen's ID3 file types as their ID3 class: the tags outside the stream are read elsewhere."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ID3NoHeaderError("outer tags are read by gatekeeper.tags.outer")


def stream_reader(kind: type[FileType], **options: Any):
    """A container reader that only has mutagen load the stream (`options`: its load arguments)."""

    def read(stream: SourceView, collector: Collector) -> None:
        stream.seek(0)
        kind(stream, **options)

    read.__name__ = f"read_{kind.__name__.lower()}"
    return read
