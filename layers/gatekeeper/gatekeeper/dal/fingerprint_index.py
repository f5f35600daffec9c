"""The reference catalogue's fingerprint index, on DynamoDB (`FINGERPRINT_TABLE_NAME`).

What a query needs is the postings of a few hundred hash keys, so the table is
keyed for exactly that: one item per hash key, fetched with `BatchGetItem` (100
keys a request, the requests sent together), plus a few items per reference.
One string partition key, `pk`:

| `pk` | attributes | what |
|---|---|---|
| `k#<key>` | `r` (M: reference number -> B, the packed points), `hot` (BOOL) | the postings of one hash key |
| `num#<number>` | `reference_id`, `carve_out` | a reference number's identity (matches are resolved with one request) |
| `ref#<reference id>` | `number`, `carve_out`, `postings`, `keys`, `key_chunks`, `duration_s`, `source`, `added_at` | a reference |
| `keys#<number>#<n>` | `data` (B: zlib of sorted 4-byte keys) | which keys a reference number holds (for removal) |
| `counter` | `next` (N) | reference numbers are never reused |

Postings are packed: a point is 4 bytes (big-endian), a key's entry for one
reference is its points back to back. A key whose map passes `max_postings`
references becomes **hot**: its postings are dropped and it stays empty (the
matcher ignores it: a key that many references share says nothing about one).

Adding a reference writes its keys (one `UpdateItem` each, concurrently), then its
number item, then its reference item: a reference is listed only once it is
complete, and postings of an unfinished add carry a number nothing resolves, so
they match nothing. Adding an existing reference id indexes it under a new number
and then removes the old one; removing deletes the reference's number (its
postings then match nothing at once) and its postings.

Every AWS error propagates (the caller retries the event: SPEC "an unreachable
index is a failure, never a verdict").
"""

from __future__ import annotations

import datetime as dt
import struct
import threading
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

#: Keys per BatchGetItem request (DynamoDB's maximum).
BATCH_KEYS = 100
#: References kept per key before it is hot.
DEFAULT_MAX_POSTINGS = 1024
#: Keys per `ref#...#keys#<n>` item (4 bytes each before zlib: under 400 KB).
KEYS_PER_CHUNK = 60_000
#: Attempts at a BatchGetItem's unprocessed keys (throttling) before giving up.
MAX_BATCH_ATTEMPTS = 6

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def table_schema() -> dict[str, Any]:
    """`CreateTable` arguments (without `TableName`), as `template.yaml` declares the table."""
    return {
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def create_table(client: Any, table_name: str) -> bool:
    """Create the index table where it does not exist (emulators, tests); False when it already did."""
    from gatekeeper.dal.clients import create_missing_table

    return create_missing_table(client, table_name, table_schema())


@dataclass(frozen=True)
class Reference:
    """One reference recording of the catalogue."""

    reference_id: str
    carve_out: str
    number: int
    postings: int = 0
    keys: int = 0
    key_chunks: int = 0
    duration_s: float | None = None
    source: str | None = None
    added_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if value is not None}


@dataclass
class IndexStats:
    """Requests made to the index (BatchGetItem and the rest), for the cost of a query."""

    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, n: int = 1) -> None:
        with self.lock:
            self.requests += n


def _key_pk(key: int) -> str:
    return f"k#{key}"


def _pack(points: Iterable[int]) -> bytes:
    return b"".join(int(p).to_bytes(4, "big") for p in sorted(set(points)))


def _unpack(data: bytes) -> list[int]:
    return list(struct.unpack(f">{len(data) // 4}I", data[: len(data) // 4 * 4]))


def _dynamo(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _python(value: Any) -> Any:
    """Binary as bytes and Decimal as int or float, at any depth."""
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _python(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_python(item) for item in value]
    return value


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _python(_deserializer.deserialize(value)) for name, value in item.items()}


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class FingerprintIndex:
    """The fingerprint index over a DynamoDB client (see the module doc for the layout)."""

    def __init__(
        self, client: Any, table_name: str, *, max_postings: int = DEFAULT_MAX_POSTINGS, max_workers: int = 10
    ) -> None:
        self._client = client
        self.table_name = table_name
        self.max_postings = max_postings
        self._max_workers = max_workers
        self.stats = IndexStats()

    def create_table(self) -> bool:
        """Create this index's table where it does not exist (emulators, tests); False when it did."""
        return create_table(self._client, self.table_name)

    # ------------------------------------------------------------ matching

    def postings(self, keys: Sequence[int]) -> dict[int, list[tuple[int, int]]]:
        """(reference number, point) of each key asked for; absent and hot keys map to [].

        One `BatchGetItem` per 100 keys, sent together; unprocessed keys (throttling)
        are asked again with backoff by botocore's retries, and a batch still
        incomplete after `MAX_BATCH_ATTEMPTS` raises.
        """
        wanted = sorted({int(key) for key in keys})
        out: dict[int, list[tuple[int, int]]] = {key: [] for key in wanted}
        batches = [wanted[i : i + BATCH_KEYS] for i in range(0, len(wanted), BATCH_KEYS)]
        if not batches:
            return out
        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(batches))) as pool:
            for items in pool.map(self._batch_get, ([_key_pk(key) for key in batch] for batch in batches)):
                for item in items:
                    if item.get("hot"):
                        continue
                    key = int(item["pk"][2:])
                    out[key] = [
                        (int(number), point) for number, packed in item.get("r", {}).items() for point in _unpack(packed)
                    ]
        return out

    def resolve(self, numbers: Iterable[int]) -> dict[int, Reference]:
        """The references behind reference numbers (numbers of removed references are absent)."""
        wanted = sorted({int(n) for n in numbers})
        found: dict[int, Reference] = {}
        for start in range(0, len(wanted), BATCH_KEYS):
            for item in self._batch_get([f"num#{n}" for n in wanted[start : start + BATCH_KEYS]]):
                number = int(item["pk"][4:])
                found[number] = Reference(str(item["reference_id"]), str(item["carve_out"]), number)
        return found

    def _batch_get(self, pks: list[str]) -> list[dict[str, Any]]:
        request = {self.table_name: {"Keys": [_dynamo({"pk": pk}) for pk in pks]}}
        items: list[dict[str, Any]] = []
        for _ in range(MAX_BATCH_ATTEMPTS):
            self.stats.count()
            response = self._client.batch_get_item(RequestItems=request)
            items += [_plain(item) for item in response.get("Responses", {}).get(self.table_name, [])]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return items
        raise RuntimeError(f"BatchGetItem on {self.table_name}: keys still unprocessed after {MAX_BATCH_ATTEMPTS} attempts")

    # ------------------------------------------------------------ the catalogue

    def get(self, reference_id: str) -> Reference | None:
        self.stats.count()
        response = self._client.get_item(TableName=self.table_name, Key=_dynamo({"pk": f"ref#{reference_id}"}))
        item = response.get("Item")
        return self._reference(_plain(item)) if item else None

    def references(self) -> Iterator[Reference]:
        """Every reference of the catalogue (a scan: an operator's listing, not a hot path)."""
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self.table_name,
            FilterExpression="begins_with(pk, :ref) AND attribute_exists(#number)",
            ExpressionAttributeNames={"#number": "number"},
            ExpressionAttributeValues=_dynamo({":ref": "ref#"}),
        )
        for page in pages:
            self.stats.count()
            for item in page.get("Items", []):
                yield self._reference(_plain(item))

    @staticmethod
    def _reference(item: Mapping[str, Any]) -> Reference:
        return Reference(
            reference_id=str(item["pk"])[4:],
            carve_out=str(item["carve_out"]),
            number=int(item["number"]),
            postings=int(item.get("postings", 0)),
            keys=int(item.get("keys", 0)),
            key_chunks=int(item.get("key_chunks", 0)),
            duration_s=float(item["duration_s"]) if item.get("duration_s") is not None else None,
            source=item.get("source"),
            added_at=item.get("added_at"),
        )

    def add(
        self,
        reference_id: str,
        carve_out: str,
        postings: Iterable[tuple[int, int]],
        *,
        duration_s: float | None = None,
        source: str | None = None,
    ) -> Reference:
        """Index a reference's (key, point) postings under `reference_id`, replacing any earlier one."""
        if not reference_id or not carve_out or ":" in carve_out:
            raise ValueError(f"a reference needs an id and a carve-out id without ':' ({reference_id!r}, {carve_out!r})")
        previous = self.get(reference_id)
        by_key: dict[int, list[int]] = defaultdict(list)
        for key, point in postings:
            by_key[int(key)].append(int(point))
        number = self._next_number()
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            list(pool.map(lambda entry: self._add_key(entry[0], number, _pack(entry[1])), by_key.items()))
        keys = sorted(by_key)
        chunks = [keys[i : i + KEYS_PER_CHUNK] for i in range(0, len(keys), KEYS_PER_CHUNK)]
        for index, chunk in enumerate(chunks):
            self._put({"pk": f"keys#{number}#{index}", "data": zlib.compress(_pack(chunk))})
        self._put({"pk": f"num#{number}", "reference_id": reference_id, "carve_out": carve_out})
        reference = Reference(
            reference_id=reference_id,
            carve_out=carve_out,
            number=number,
            postings=sum(len(set(points)) for points in by_key.values()),
            keys=len(keys),
            key_chunks=len(chunks),
            duration_s=round(duration_s, 3) if duration_s is not None else None,
            source=source,
            added_at=_utc_now(),
        )
        item: dict[str, Any] = {
            "pk": f"ref#{reference_id}",
            **{name: value for name, value in reference.to_dict().items() if name not in ("reference_id", "duration_s")},
        }
        if reference.duration_s is not None:
            item["duration_s"] = Decimal(str(reference.duration_s))
        self._put(item)
        if previous is not None:
            self._drop(previous)
        return reference

    def remove(self, reference_id: str) -> bool:
        """Remove a reference (False when there was none): it matches nothing from the first write on."""
        reference = self.get(reference_id)
        if reference is None:
            return False
        self._delete(f"num#{reference.number}")
        self._delete(f"ref#{reference_id}")
        self._drop(reference)
        return True

    def _drop(self, old: Reference) -> None:
        """Remove a reference number: its number item (so it resolves no more), its postings, its key chunks."""
        self._delete(f"num#{old.number}")
        keys: list[int] = []
        for index in range(old.key_chunks):
            self.stats.count()
            item = self._client.get_item(TableName=self.table_name, Key=_dynamo({"pk": f"keys#{old.number}#{index}"}))
            if "Item" in item:
                keys += _unpack(zlib.decompress(_plain(item["Item"])["data"]))
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            list(pool.map(lambda key: self._remove_key(key, old.number), keys))
        for index in range(old.key_chunks):
            self._delete(f"keys#{old.number}#{index}")

    # ------------------------------------------------------------ writes

    def _next_number(self) -> int:
        self.stats.count()
        response = self._client.update_item(
            TableName=self.table_name,
            Key=_dynamo({"pk": "counter"}),
            UpdateExpression="ADD #next :one",
            ExpressionAttributeNames={"#next": "next"},
            ExpressionAttributeValues=_dynamo({":one": 1}),
            ReturnValues="UPDATED_NEW",
        )
        return int(_plain(response["Attributes"])["next"])

    def _add_key(self, key: int, number: int, packed: bytes) -> None:
        """Put one reference's points under a key: into its map, creating it, or not at all when hot."""
        names = {"#n": str(number)}
        for _ in range(5):
            try:
                self._update(
                    key,
                    "SET r.#n = :p",
                    "attribute_exists(r) AND attribute_not_exists(hot) AND size(r) < :cap",
                    names,
                    {":p": packed, ":cap": self.max_postings},
                )
                return
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
                old = _plain(exc.response.get("Item") or {})
            if old.get("hot"):
                return
            if "r" in old:  # the map is full: the key is hot from now on
                try:
                    self._update(key, "SET hot = :t REMOVE r", "attribute_exists(r)", None, {":t": True})
                except ClientError as exc:
                    if not _condition_failed(exc):
                        raise
                return
            try:
                self._update(key, "SET r = :m", "attribute_not_exists(r) AND attribute_not_exists(hot)", None,
                             {":m": {str(number): packed}})  # fmt: skip
                return
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise  # another writer created the map first: add to it
        raise RuntimeError(f"{self.table_name}: key {key} kept changing under concurrent writers")

    def _remove_key(self, key: int, number: int) -> None:
        try:
            self._update(key, "REMOVE r.#n", "attribute_exists(r)", {"#n": str(number)}, None)
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def _update(
        self, key: int, expression: str, condition: str, names: Mapping[str, str] | None, values: Mapping[str, Any] | None
    ) -> None:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _dynamo({"pk": _key_pk(key)}),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        if values:
            request["ExpressionAttributeValues"] = _dynamo(values)
        self.stats.count()
        self._client.update_item(**request)

    def _put(self, item: Mapping[str, Any]) -> None:
        self.stats.count()
        self._client.put_item(TableName=self.table_name, Item=_dynamo(item))

    def _delete(self, pk: str) -> None:
        self.stats.count()
        self._client.delete_item(TableName=self.table_name, Key=_dynamo({"pk": pk}))


def index_from_env(client: Any = None, environ: Mapping[str, str] | None = None) -> FingerprintIndex | None:
    """The index named by `FINGERPRINT_TABLE_NAME` (on AWS or at `AWS_ENDPOINT_URL`), or None when it is unset."""
    import os

    name = (os.environ if environ is None else environ).get("FINGERPRINT_TABLE_NAME", "").strip()
    if not name:
        return None
    if client is None:
        from gatekeeper.dal.clients import aws_client

        client = aws_client("dynamodb")
    return FingerprintIndex(client, name)
