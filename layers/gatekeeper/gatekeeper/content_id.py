"""Content identification: does an upload's audio match a reference recording of a carve-out?

The use case between the pure fingerprint (`gatekeeper.fingerprint`), the decoder
(`gatekeeper.audio`) and the index (`gatekeeper.dal.fingerprint_index`):

- `check(fileobj, index)`: sample a few windows of the upload's audio, fingerprint
  them, look the fingerprint's keys up and match — a `ContentCheck` for the decision;
- `rematch(stored, index)`: the same from a fingerprint stored with an earlier
  verdict, reading no audio (`gatekeeper reevaluate` after the catalogue grew);
- `index_reference(fileobj, index, reference_id, carve_out)`: decode a whole
  reference recording, fingerprint it and index it (`gatekeeper catalogue add`,
  the reference indexing function).

Content that cannot be checked is a result (`ContentCheck.unchecked`), never an
error; a failing index or source is an error (the event is retried). This module
imports numpy and PyAV: nothing imports it unless the policy turns `content_id` on.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from gatekeeper import audio, fingerprint
from gatekeeper.dal import ReferenceCatalogue, ReferenceIndex
from gatekeeper.models import ContentCheck, ContentMatch

#: Keys looked up per upload: 9 BatchGetItem requests of 100, and one more resolves the matches.
MAX_QUERY_KEYS = 900
#: Detail of a stored fingerprint that does not decode (another version, corrupt).
STALE_FINGERPRINT = "stale-fingerprint"


def check(fileobj: BinaryIO, index: ReferenceIndex, *, limits: audio.Limits | None = None) -> ContentCheck:
    """Sample, fingerprint and match the audio of one upload."""
    sampled = audio.sample_windows(fileobj, limits=limits or audio.Limits())
    if sampled.unchecked is not None:
        return ContentCheck(unchecked=sampled.unchecked)
    found = fingerprint.combine(fingerprint.fingerprint(window.pcm, window.start_s) for window in sampled.windows)
    return ContentCheck(fingerprint=fingerprint.encode(found), matches=tuple(matches(found, index)))


def rematch(stored: ContentCheck, index: ReferenceIndex) -> ContentCheck:
    """Match a stored fingerprint again against the catalogue as it is now (no audio read)."""
    if stored.fingerprint is None:
        return stored
    try:
        found = fingerprint.decode(stored.fingerprint)
    except fingerprint.FingerprintDecodeError:
        return ContentCheck(fingerprint=stored.fingerprint, unchecked=STALE_FINGERPRINT)
    return ContentCheck(fingerprint=stored.fingerprint, matches=tuple(matches(found, index)))


def matches(found: fingerprint.Fingerprint, index: ReferenceIndex) -> list[ContentMatch]:
    """The references `found` matches, best first, with their ids and carve-outs."""
    query = fingerprint.select(found, MAX_QUERY_KEYS)
    keys = fingerprint.query_keys(query, MAX_QUERY_KEYS)
    hits = fingerprint.match(query, index.postings(keys)) if keys else []
    if not hits:
        return []
    references = index.resolve(hit.reference for hit in hits)
    out = []
    for hit in hits:
        reference = references.get(hit.reference)
        if reference is None:
            continue  # a removed reference, or one whose indexing never finished
        out.append(
            ContentMatch(
                reference_id=reference.reference_id,  # type: ignore[attr-defined]
                carve_out=reference.carve_out,  # type: ignore[attr-defined]
                score=hit.score,
                query_start_s=hit.query_start_s,
                query_end_s=hit.query_end_s,
                reference_start_s=hit.reference_start_s,
                reference_end_s=hit.reference_end_s,
                speed=hit.speed,
            )
        )
    return out


class ReferenceUnreadable(ValueError):
    """A reference recording whose audio cannot be decoded whole (it is not indexed)."""


def index_reference(
    fileobj: BinaryIO, index: ReferenceCatalogue, reference_id: str, carve_out: str, *, source: str | None = None
) -> Any:
    """Decode a whole reference recording, fingerprint it densely and index it (replacing an earlier one)."""
    sampled = audio.decode_whole(fileobj)
    if sampled.unchecked is not None or not sampled.windows:
        raise ReferenceUnreadable(f"{reference_id}: {sampled.unchecked or 'no audio'}")
    pcm = sampled.windows[0].pcm
    found = fingerprint.reference_fingerprint(pcm)
    return index.add(
        reference_id,
        carve_out,
        fingerprint.reference_postings(found),
        duration_s=pcm.size / fingerprint.SAMPLE_RATE,
        source=source,
    )
