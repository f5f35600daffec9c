"""The fingerprint index on DynamoDB (moto): postings per key, references, hot keys, replace and remove."""

from __future__ import annotations

import random
import boto3
import pytest
from botocore.exceptions import ClientError

from gatekeeper.dal.fingerprint_index import BATCH_KEYS, FingerprintIndex, create_table

TABLE = "gatekeeper-fingerprints-test"


@pytest.fixture
def index(aws: None) -> FingerprintIndex:
    client = boto3.client("dynamodb")
    assert create_table(client, TABLE)
    assert not create_table(client, TABLE)  # a second init finds it
    return FingerprintIndex(client, TABLE, max_postings=4)


def postings_of(seed: int, keys: int = 300) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(rng.randrange(200_000), rng.randrange(1 << 24)) for _ in range(keys)]


def test_added_postings_come_back_by_key_with_the_reference_number(index: FingerprintIndex) -> None:
    # Given two references indexed under their carve-outs
    one = index.add("acme/track-1.flac", "acme-records", postings_of(1), duration_s=181.5, source="s3://r/a")
    two = index.add("beta/track-2.flac", "beta-music", postings_of(2))
    assert one.number != two.number
    # When the keys of the first are asked for
    keys = sorted({key for key, _ in postings_of(1)})
    found = index.postings(keys)
    # Then every (number, point) of that reference is there, under its key
    for key, point in postings_of(1):
        assert (one.number, point) in found[key]
    # And numbers resolve to the references, listed with what they hold
    assert index.resolve([one.number, two.number]) == {
        one.number: index.resolve([one.number])[one.number],
        two.number: index.resolve([two.number])[two.number],
    }
    assert index.resolve([one.number])[one.number].reference_id == "acme/track-1.flac"
    listed = {reference.reference_id: reference for reference in index.references()}
    assert set(listed) == {"acme/track-1.flac", "beta/track-2.flac"}
    assert (listed["acme/track-1.flac"].carve_out, listed["acme/track-1.flac"].duration_s) == ("acme-records", 181.5)
    assert listed["acme/track-1.flac"].keys == len(keys)


def test_a_query_costs_one_batch_get_per_hundred_keys(index: FingerprintIndex) -> None:
    index.add("r", "acme-records", postings_of(3, keys=1000))
    keys = sorted({key for key, _ in postings_of(3, keys=1000)})[:900]
    before = index.stats.requests
    index.postings(keys)
    assert index.stats.requests - before == -(-len(keys) // BATCH_KEYS) == 9


def test_keys_no_reference_holds_map_to_nothing(index: FingerprintIndex) -> None:
    index.add("r", "acme-records", [(5, 1)])
    assert index.postings([5, 6]) == {5: [(index.get("r").number, 1)], 6: []}


def test_a_key_held_by_more_references_than_the_cap_goes_hot_and_stays_empty(index: FingerprintIndex) -> None:
    # Given five references sharing key 7 (the cap is 4 references per key) and each holding a key of its own
    for n in range(5):
        index.add(f"ref-{n}", "acme-records", [(7, n), (100 + n, n)])
    # Then key 7 is hot: empty from now on, whatever is added; the other keys are intact
    index.add("ref-5", "acme-records", [(7, 5)])
    found = index.postings([7, 100, 104])
    assert found[7] == []
    assert len(found[100]) == 1 and len(found[104]) == 1


def test_adding_an_existing_reference_replaces_it(index: FingerprintIndex) -> None:
    old = index.add("r", "acme-records", [(1, 10), (2, 20)])
    new = index.add("r", "beta-music", [(2, 21), (3, 30)])
    # Then only the new postings remain, under a new number, with the new carve-out
    assert new.number != old.number
    assert index.postings([1, 2, 3]) == {1: [], 2: [(new.number, 21)], 3: [(new.number, 30)]}
    assert index.resolve([old.number]) == {}
    assert [(r.reference_id, r.carve_out) for r in index.references()] == [("r", "beta-music")]


def test_removing_a_reference_removes_its_postings_and_its_number(index: FingerprintIndex) -> None:
    keep = index.add("keep", "acme-records", [(1, 1), (2, 2)])
    gone = index.add("gone", "acme-records", [(2, 3), (9, 4)])
    assert index.remove("gone") and not index.remove("gone")
    assert index.postings([1, 2, 9]) == {1: [(keep.number, 1)], 2: [(keep.number, 2)], 9: []}
    assert index.resolve([gone.number]) == {}
    assert index.get("gone") is None


def test_concurrent_adds_sharing_keys_lose_no_posting(aws: None) -> None:
    # Given ten references sharing keys, indexed at once from several threads
    from concurrent.futures import ThreadPoolExecutor

    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    index = FingerprintIndex(client, TABLE)
    with ThreadPoolExecutor(max_workers=5) as pool:
        added = list(pool.map(lambda n: index.add(f"r{n}", "acme-records", [(k, n) for k in range(20)]), range(10)))
    # Then every key lists all ten
    found = index.postings(range(20))
    assert all(sorted(found[k]) == sorted((a.number, n) for n, a in enumerate(added)) for k in range(20))


def test_an_index_error_propagates(index: FingerprintIndex) -> None:
    # Given a table that is gone (an unreachable index)
    boto3.client("dynamodb").delete_table(TableName=TABLE)
    # Then a query raises: the event is retried, never decided
    with pytest.raises(ClientError) as raised:
        index.postings([1, 2, 3])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_invalid_reference_ids_are_refused(index: FingerprintIndex) -> None:
    with pytest.raises(ValueError):
        index.add("", "acme-records", [(1, 1)])
    with pytest.raises(ValueError):
        index.add("r", "bad:carve", [(1, 1)])
