"""The ranged S3 reader: few bytes, few requests, always the object the event names."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import mutagen
import pytest
from botocore.exceptions import ClientError

from bench.corpus import metadata_bytes
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
