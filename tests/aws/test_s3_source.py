"""The ranged S3 reader: few bytes, few requests, always the object the event names."""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import mutagen
import pytest
from botocore.exceptions import ClientError

from bench.corpus import append_ape_and_id3v1, metadata_bytes
from gatekeeper import tags
from gatekeeper.dal.s3_source import ReadPlan, S3ObjectSource
from gatekeeper.errors import ObjectSuperseded, SourceReadError
from gatekeeper.models import ObjectEvent
from gatekeeper.samples import FORMATS, make_audio
from tests.aws.support import BUCKET, create_bucket, upload

LARGE = 20_000_000
KIB = 1024


class S3Traffic:
    """Counts S3 operations and GetObject body bytes independently of the reader."""

    def __init__(self, client: Any) -> None:
        self.operations: Counter[str] = Counter()
        self.body_bytes = 0
        client.meta.events.register("before-call.s3", self._call)
        client.meta.events.register("after-call.s3.GetObject", self._got)

    def _call(self, model: Any, **_: Any) -> None:
        self.operations[model.name] += 1

    def _got(self, parsed: dict[str, Any], **_: Any) -> None:
        self.body_bytes += int(parsed.get("ContentLength") or 0)


def created(change: Any) -> ObjectEvent:
    return ObjectEvent(
        kind="created", bucket=change.bucket, key=change.key, version_id=change.version_id, etag=change.etag
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_large_upload_costs_a_small_fraction_of_its_bytes(s3: Any, fmt: str) -> None:
    # Given a 20 MB upload with tags at the front
    change = upload(s3, f"large.{fmt}", make_audio(fmt, tags={"label": "Acme Records"}, size_hint=LARGE))
    traffic = S3Traffic(s3)
    # When mutagen reads it through the ranged reader
    stored = S3ObjectSource(s3).open(created(change))
    assert mutagen.File(stored.body) is not None
    # Then under 2% of its bytes crossed the wire, in at most 3 GETs and no HEAD
    assert traffic.body_bytes == stored.body.stats.bytes_fetched
    assert traffic.body_bytes < 0.02 * change.size
    assert traffic.operations == Counter({"GetObject": stored.body.stats.requests})
    assert stored.body.stats.requests <= 3


def test_mp4_with_moov_at_the_end_is_read_from_the_tail(s3: Any) -> None:
    # Given a 20 MB M4A whose moov box (with the tags) follows the media data
    data = make_audio("mp4", tags={"label": "Acme Records"}, size_hint=LARGE, moov_at_end=True)
    change = upload(s3, "moov-last.m4a", data)
    # When mutagen reads its tags
    stored = S3ObjectSource(s3).open(created(change))
    tags = mutagen.File(stored.body).tags
    # Then the label is found, from under 2% of the file, in at most 3 requests
    assert tags["----:com.apple.iTunes:LABEL"][0] == b"Acme Records"
    assert stored.body.stats.bytes_fetched < 0.02 * len(data)
    assert stored.body.stats.requests <= 3


@pytest.mark.parametrize("fmt", ["mp3", "wav", "aiff"])
def test_a_1_mib_tag_is_read_within_its_budget(s3: Any, fmt: str) -> None:
    # Given a 4 MB upload whose tag carries 1 MiB of padding (cover art): at the front
    # of an MP3, in a trailing chunk of a WAV or an AIFF
    data = make_audio(fmt, tags={"label": "Acme Records"}, padding_bytes=1024 * KIB, size_hint=4_000_000)
    tag_size = metadata_bytes(io.BytesIO(data), fmt)
    assert tag_size > 1024 * KIB
    change = upload(s3, f"big-tag.{fmt}", data)
    traffic = S3Traffic(s3)
    # When the gatekeeper extracts its rights through the ranged reader
    stored = S3ObjectSource(s3).open(created(change))
    extraction = tags.extract(stored.body)
    # Then the label is read, from at most the tag + 64 KiB, in at most 3 GETs (issue 6's budget)
    assert extraction.unreadable is None
    assert extraction.rights["label"] == ["Acme Records"]
    assert traffic.body_bytes == stored.body.stats.bytes_fetched
    assert traffic.body_bytes <= max(256 * KIB, tag_size + 64 * KIB)
    assert traffic.operations == Counter({"GetObject": stored.body.stats.requests})
    assert stored.body.stats.requests <= 3


def test_first_get_yields_metadata_size_etag_and_version(aws: None) -> None:
    # Given a versioned bucket holding an upload with platform metadata
    import boto3

    s3 = boto3.client("s3")
    create_bucket(s3, versioned=True)
    data = make_audio("mp3", size_hint=1_000_000)
    change = upload(s3, "a.mp3", data, {"uploader-id": "u-1", "terms-version": "2025-05-14"})
    traffic = S3Traffic(s3)
    # When it is opened
    stored = S3ObjectSource(s3).open(created(change))
    # Then the first round trip (the head and the tail, sent together) told everything:
    # metadata, size, ETag and version
    assert traffic.operations == Counter({"GetObject": 2})
    assert (stored.body.stats.requests, stored.body.stats.round_trips) == (2, 1)
    assert stored.metadata == {"uploader-id": "u-1", "terms-version": "2025-05-14"}
    assert (stored.size, stored.etag, stored.version_id) == (len(data), change.etag, change.version_id)


def test_reads_exactly_the_bytes_of_the_object(s3: Any) -> None:
    # Given an upload larger than every fetch window
    data = bytes(range(256)) * 4096
    change = upload(s3, "bytes.bin", data)
    body = (
        S3ObjectSource(s3, plan=ReadPlan(first_bytes=1000, tail_bytes=500, readahead_bytes=700))
        .open(created(change))
        .body
    )
    # When reading from scattered positions, across window borders and past the end
    body.seek(999)
    first = body.read(3000)
    body.seek(-10, 2)
    last = body.read(100)
    body.seek(500_000)
    middle = body.read(1)
    # Then every read returns the object's own bytes
    assert first == data[999:3999]
    assert last == data[-10:]
    assert middle == data[500_000:500_001]
    assert body.read(0) == b""


def test_cache_memory_is_bounded(s3: Any) -> None:
    # Given a reader whose cache holds at most 256 KiB
    data = make_audio("wav", size_hint=4_000_000)
    change = upload(s3, "walk.wav", data)
    plan = ReadPlan(max_cache_bytes=256 * 1024)
    body = S3ObjectSource(s3, plan=plan).open(created(change)).body
    # When the whole object is read in small pieces
    chunks = []
    while piece := body.read(50_000):
        chunks.append(piece)
        assert body.cached_bytes <= plan.max_cache_bytes + plan.readahead_bytes
    # Then the content is complete though the cache never grew past its bound
    assert b"".join(chunks) == data


def test_empty_object_is_opened_with_no_bytes(s3: Any) -> None:
    # Given an empty upload (a range on it is unsatisfiable)
    change = upload(s3, "empty.mp3", b"", {"uploader-id": "u-1"})
    # When it is opened
    stored = S3ObjectSource(s3).open(created(change))
    # Then it has size 0, its metadata, and reads nothing
    assert (stored.size, stored.metadata) == (0, {"uploader-id": "u-1"})
    assert stored.body.read() == b""


def test_overwritten_object_is_superseded(s3: Any) -> None:
    # Given an upload that is overwritten before its event is processed
    old = upload(s3, "song.mp3", make_audio("mp3"))
    upload(s3, "song.mp3", make_audio("mp3", tags={"title": "new"}))
    # When the old event opens it (pinned by ETag)
    # Then the event is superseded
    with pytest.raises(ObjectSuperseded):
        S3ObjectSource(s3).open(created(old))


def test_deleted_object_is_superseded(s3: Any) -> None:
    # Given an upload deleted before its event is processed
    change = upload(s3, "gone.mp3", make_audio("mp3"))
    s3.delete_object(Bucket=BUCKET, Key="gone.mp3")
    # When its event opens it, then it is superseded
    with pytest.raises(ObjectSuperseded):
        S3ObjectSource(s3).open(created(change))


def test_versioned_read_returns_the_event_version_not_the_latest(aws: None) -> None:
    # Given a versioned bucket where a key was overwritten after the first event
    import boto3

    s3 = boto3.client("s3")
    create_bucket(s3, versioned=True)
    first = make_audio("mp3", tags={"title": "first"})
    change = upload(s3, "v.mp3", first)
    upload(s3, "v.mp3", make_audio("mp3", tags={"title": "second"}))
    # When the first event is processed
    stored = S3ObjectSource(s3).open(created(change))
    # Then its own version is read
    assert stored.version_id == change.version_id
    assert stored.body.read() == first


def test_later_get_failure_is_transient(s3: Any) -> None:
    # Given an open reader over an object that is then overwritten
    change = upload(s3, "moving.wav", make_audio("wav", size_hint=2_000_000))
    body = S3ObjectSource(s3).open(created(change)).body
    upload(s3, "moving.wav", make_audio("wav", size_hint=2_000_000, tags={"title": "other"}))
    # When a read needs another range
    body.seek(1_000_000)
    # Then it fails as a transient read error (retried; the retry will find it superseded)
    with pytest.raises(SourceReadError) as failure:
        body.read(10)
    assert isinstance(failure.value.__cause__, ClientError)


def test_aws_fault_on_open_is_transient(s3: Any) -> None:
    # Given S3 answering 503 SlowDown on every GET (after botocore's own retries)
    change = upload(s3, "busy.mp3", make_audio("mp3"))

    def slow_down(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce your request rate"}}, "GetObject")

    s3.meta.events.register("before-call.s3.GetObject", slow_down)
    # When the event opens the object, then the failure is a SourceReadError (the event is retried)
    with pytest.raises(SourceReadError):
        S3ObjectSource(s3).open(created(change))


def test_random_reads_return_the_object_and_never_fetch_a_byte_twice(s3: Any) -> None:
    # Given a 3 MB object of distinct bytes and a reader with a small cache window
    import random

    data = bytes(random.Random(7).randbytes(3_000_000))
    change = upload(s3, "random.bin", data)
    plan = ReadPlan(first_bytes=4 * KIB, tail_bytes=2 * KIB, readahead_bytes=1 * KIB, max_cache_bytes=64 * 1024 * KIB)
    reader = S3ObjectSource(s3, plan=plan).open(created(change)).body
    rng = random.Random(11)
    # When it is read at 2,000 random places, forwards and backwards
    for _ in range(2000):
        offset, size = rng.randrange(len(data)), rng.randrange(1, 3000)
        reader.seek(offset)
        # Then every read returns exactly the object's bytes there
        assert reader.read(size) == data[offset : offset + size]
    # And the cache holds non-overlapping segments, so no byte was fetched twice
    starts = reader._starts
    assert starts == sorted(starts)
    assert all(a + len(reader._segments[a]) <= b for a, b in zip(starts, starts[1:]))
    assert reader.stats.bytes_fetched == sum(len(segment) for segment in reader._segments.values())


def test_read_at_from_several_threads_fetches_at_once_and_returns_the_object(s3: Any) -> None:
    # Given a 4 MB object and its reader (opened: head and suffix cached)
    import random

    data = bytes(random.Random(3).randbytes(4_000_000))
    change = upload(s3, "threads.bin", data)
    reader = S3ObjectSource(s3).open(created(change)).body
    in_flight, most, changed = [0], [0], threading.Condition()

    def meet(**_: Any) -> None:  # each GET waits (a bounded while) for the others to be sent too
        with changed:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            changed.notify_all()
            changed.wait_for(lambda: in_flight[0] >= 3, timeout=5)

    def done(**_: Any) -> None:
        with changed:
            in_flight[0] -= 1
            changed.notify_all()

    s3.meta.events.register_first("before-call.s3.GetObject", meet)
    s3.meta.events.register("after-call.s3.GetObject", done)
    # When three threads read three distant places at once (the audio decoder's windows)
    offsets = (1_000_000, 2_000_000, 3_000_000)
    results: dict[int, bytes] = {}
    threads = [threading.Thread(target=lambda o=o: results.update({o: reader.read_at(o, 200_000)})) for o in offsets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then their GETs were in flight together, and each got exactly the object's bytes
    assert most[0] == 3
    assert all(results[o] == data[o : o + 200_000] for o in offsets)
    # And the file position was left alone, and reads past the end are cut at it
    assert reader.tell() == 0
    assert reader.read_at(len(data) - 10, 100) == data[-10:]


# ---------------------------------------------------------------- one round trip (issue 12)


class InFlight:
    """Which GetObject calls of one client were in flight together, from botocore hooks.

    A call is in flight from `before-call` to `after-call` (or `after-call-error`); a
    call that starts while none is in flight opens a new *wave*, and `waves` lists
    the `Range` of every call by the wave it started in. In-process moto answers
    within microseconds, so a call could land before its companion is even sent:
    with `gate`, `before-call` holds each call of the first wave until `gate`
    calls are in flight (or `hold` seconds pass). Calls sent together meet there
    and pass at once; a call made only after the first one returned finds none in
    flight and opens a wave of its own. Nothing is timed: the assertions are on
    counts.
    """

    def __init__(self, client: Any, *, gate: int = 0, hold: float = 5.0) -> None:
        self.waves: list[list[str | None]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._gate, self._hold = gate, hold
        self._changed = threading.Condition()
        client.meta.events.register_first("before-call.s3.GetObject", self._start)
        client.meta.events.register("after-call.s3.GetObject", self._end)
        client.meta.events.register("after-call-error.s3.GetObject", self._end)

    def _start(self, params: dict[str, Any], **_: Any) -> None:
        with self._changed:
            if self.in_flight == 0:
                self.waves.append([])
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.waves[-1].append(params.get("headers", {}).get("Range"))
            self._changed.notify_all()
            if self._gate and len(self.waves) == 1:
                self._changed.wait_for(lambda: self.in_flight >= self._gate, timeout=self._hold)

    def _end(self, **_: Any) -> None:
        with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()


HEAD_AND_SUFFIX = {"bytes=0-49151", "bytes=-16384"}
ROUND_TRIP_SIZE = 2_000_000


def _mp3_with_ape_and_id3v1() -> bytes:
    # The label is only in the APEv2 tag at the end: found only if the suffix was read
    out = io.BytesIO(make_audio("mp3", tags={"title": "Front"}, size_hint=ROUND_TRIP_SIZE))
    append_ape_and_id3v1(out, {"title": "Back", "artist": "Someone", "label": "Acme Records"})
    return out.getvalue()


#: Every common layout with tags that fit the first two ranges, and where the label lies.
COMMON_UPLOADS: dict[str, Callable[[], bytes]] = {
    **{
        fmt: (lambda fmt=fmt: make_audio(fmt, tags={"label": "Acme Records"}, size_hint=ROUND_TRIP_SIZE))
        for fmt in FORMATS  # tags in front, except WAV and AIFF: an ID3 chunk after the audio
    },
    "mp3 with APEv2 and ID3v1 at the end": _mp3_with_ape_and_id3v1,
    "m4a with a small moov at the end": lambda: make_audio(
        "mp4", tags={"label": "Acme Records"}, size_hint=ROUND_TRIP_SIZE, moov_at_end=True
    ),
}


def sized(change: Any) -> ObjectEvent:
    """The creation event as S3 sends it: with the object's size."""
    return ObjectEvent(
        kind="created",
        bucket=change.bucket,
        key=change.key,
        version_id=change.version_id,
        etag=change.etag,
        size=change.size,
    )


@pytest.mark.parametrize("layout", sorted(COMMON_UPLOADS))
def test_common_layouts_are_read_in_one_round_trip(s3: Any, layout: str) -> None:
    # Given a 2 MB upload of a common layout whose tags fit the head or the suffix range
    change = upload(s3, f"one-trip-{len(layout)}", COMMON_UPLOADS[layout]())
    in_flight = InFlight(s3, gate=2)
    # When the gatekeeper reads all its tags through the ranged reader
    stored = S3ObjectSource(s3).open(sized(change))
    extraction = tags.extract(stored.body)
    # Then its rights were read (the label too, wherever it lies)
    assert extraction.unreadable is None
    assert extraction.rights["label"] == ["Acme Records"]
    # And exactly two GETs were made, both in flight at once (the head and the suffix), and no later one
    assert in_flight.max_in_flight == 2
    assert len(in_flight.waves) == 1 and set(in_flight.waves[0]) == HEAD_AND_SUFFIX, in_flight.waves
    assert (stored.body.stats.requests, stored.body.stats.round_trips) == (2, 1)


@pytest.mark.parametrize("fmt", ["mp3", "wav"])
def test_a_tag_larger_than_the_first_ranges_costs_one_more_round_trip(s3: Any, fmt: str) -> None:
    # Given a 2 MB upload whose 96 KiB tag is larger than the head (MP3) or the suffix (WAV)
    data = make_audio(fmt, tags={"label": "Acme Records"}, padding_bytes=96 * KIB, size_hint=ROUND_TRIP_SIZE)
    change = upload(s3, f"cover-art.{fmt}", data)
    in_flight = InFlight(s3, gate=2)
    # When its tags are read
    stored = S3ObjectSource(s3).open(sized(change))
    extraction = tags.extract(stored.body)
    # Then the first wave is the head and the suffix together, and one GET follows, alone
    assert extraction.rights["label"] == ["Acme Records"]
    assert [len(wave) for wave in in_flight.waves] == [2, 1], in_flight.waves
    assert set(in_flight.waves[0]) == HEAD_AND_SUFFIX
    assert (stored.body.stats.requests, stored.body.stats.round_trips) == (3, 2)


@pytest.mark.parametrize("fmt", ["ogg_vorbis", "opus"])
def test_an_ogg_last_page_larger_than_the_suffix_costs_one_more_round_trip(s3: Any, fmt: str) -> None:
    # Given a 2 MB Ogg upload of 50 KiB pages (legal, though encoders close pages at 4 KiB),
    # whose last page does not fit the 16 KiB suffix
    data = make_audio(fmt, tags={"label": "Acme Records"}, size_hint=2_035_000, page_bytes=50 * KIB)
    assert len(data) - data.rfind(b"OggS") > 2 * 16 * KIB
    change = upload(s3, f"long-last-page.{fmt}", data)
    in_flight = InFlight(s3, gate=2)
    # When its tags are read (the last page's granule and CRC are checked)
    stored = S3ObjectSource(s3).open(sized(change))
    extraction = tags.extract(stored.body)
    # Then the head and suffix come together and the rest of the page search is one more GET, never a chain
    assert extraction.unreadable is None and extraction.rights["label"] == ["Acme Records"]
    assert [len(wave) for wave in in_flight.waves] == [2, 1], in_flight.waves
    assert (stored.body.stats.requests, stored.body.stats.round_trips) == (3, 2)


def test_an_object_the_event_says_is_small_is_one_get(s3: Any) -> None:
    # Given an upload of a few KiB, which the event says (no more than the head and the suffix)
    data = make_audio("mp3", tags={"label": "Acme Records"})
    assert len(data) <= ReadPlan().first_bytes + ReadPlan().tail_bytes
    change = upload(s3, "small.mp3", data)
    in_flight = InFlight(s3)
    # When its tags are read
    stored = S3ObjectSource(s3).open(sized(change))
    extraction = tags.extract(stored.body)
    # Then one GET fetched the whole object, and nothing else was asked
    assert extraction.rights["label"] == ["Acme Records"]
    assert in_flight.waves == [[f"bytes=0-{len(data) - 1}"]]
    assert (stored.body.stats.requests, stored.body.stats.round_trips, stored.body.stats.bytes_fetched) == (
        1,
        1,
        len(data),
    )


def test_without_a_size_in_the_event_a_small_object_costs_the_two_first_ranges(s3: Any) -> None:
    # Given the same small upload, but an event that does not say its size
    data = make_audio("mp3", tags={"label": "Acme Records"})
    change = upload(s3, "small-unsized.mp3", data)
    in_flight = InFlight(s3, gate=2)
    # When it is opened and read
    stored = S3ObjectSource(s3).open(created(change))
    assert tags.extract(stored.body).rights["label"] == ["Acme Records"]
    # Then the head and the suffix went together (one round trip), and they hold the whole object
    assert len(in_flight.waves) == 1 and set(in_flight.waves[0]) == HEAD_AND_SUFFIX
    stored.body.seek(0)
    assert stored.body.read() == data
    assert (stored.body.stats.requests, stored.body.stats.round_trips) == (2, 1)
