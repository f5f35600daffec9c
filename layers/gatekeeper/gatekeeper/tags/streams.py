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

from mutagen.id3 import ID3NoHeaderError

from gatekeeper.tags.source import SourceView


class NoID3:
    """Passed to mutagen's ID3 file types as their ID3 class: the tags outside the stream are read elsewhere."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ID3NoHeaderError("outer tags are read by gatekeeper.tags.outer")


def load_stream(kind: type[Any], stream: SourceView, *, no_id3: bool = False) -> None:
    """Have mutagen load the stream (its structure is checked; nothing of it is kept)."""
    stream.seek(0)
    if no_id3:
        kind(stream, ID3=NoID3)
    else:
        kind(stream)
