"""The flags table: one item per object, written only by conditional writes.

Ordering rests on the S3 `sequencer` of each key's events. It is stored as given
(`sequencer`) and, for comparisons inside DynamoDB condition expressions, as
`sequencer_order`: upper-cased and left-padded with `0` to 64 characters, so that
string order is numeric order. A write whose condition fails is not an error: the
event is superseded (stale or a duplicate) and `False` is returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from gatekeeper.dal import VerdictRow
from gatekeeper.logic.decision import DELETED, UNREADABLE
from gatekeeper.models import PURPOSES, RIGHTS_FIELDS, Extraction, ObjectEvent

#: DynamoDB's item limit is 400 KB (409,600 bytes, names included); a margin below it.
MAX_ITEM_BYTES = 400_000
#: The detail of `UNREADABLE:row-size`: the verdict's row would not fit the item limit.
ROW_SIZE = "row-size"
STATUS_DECIDED = "decided"
STATUS_DELETED = "deleted"
SEQUENCER_WIDTH = 64
#: Partition-key values of each purpose's eligible-only index: `shard-00` .. `shard-15`.
ELIGIBLE_INDEX_SHARDS = 16
#: Attributes an eligible-only index projects besides its keys (attribution for a training run).
ELIGIBLE_INDEX_PROJECTION: tuple[str, ...] = (
    "bucket",
    "key",
    "version_id",
    "etag",
    "rights",
    "policy_id",
    "decided_at",
)
#: The index of an account's rows (consent propagation), and what a re-decision needs of a row.
UPLOADER_INDEX = "by-uploader"
UPLOADER_INDEX_PROJECTION: tuple[str, ...] = (
    "bucket",
    "key",
    "version_id",
    "etag",
    "size",
    "sequencer",
    "status",
    "inputs",
    "eligible",
    "reasons",
    "policy_id",
    "terms_version",
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# A write for a sequenced event: the key has no row, or a row no event ordered, or an older one.
_NEWER = (
    "attribute_not_exists(object_uri) OR attribute_not_exists(sequencer_order) OR sequencer_order < :sequencer_order"
)


def table_schema() -> dict[str, Any]:
    """The table's keys, eligible-only indexes and stream, as `template.yaml` declares them.

    `CreateTable` arguments (without `TableName`): the demo and the tests create the
    table from this, and a template test holds the template to it.
    """
    return {
        "AttributeDefinitions": [
            {"AttributeName": "object_uri", "AttributeType": "S"},
            *({"AttributeName": eligible_attribute(p), "AttributeType": "S"} for p in PURPOSES),
            {"AttributeName": "uploader_id", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "object_uri", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": eligible_index_name(purpose),
                "KeySchema": [
                    {"AttributeName": eligible_attribute(purpose), "KeyType": "HASH"},
                    {"AttributeName": "object_uri", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(ELIGIBLE_INDEX_PROJECTION)},
            }
            for purpose in PURPOSES
        ]
        + [
            {
                "IndexName": UPLOADER_INDEX,
                "KeySchema": [
                    {"AttributeName": "uploader_id", "KeyType": "HASH"},
                    {"AttributeName": "object_uri", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(UPLOADER_INDEX_PROJECTION)},
            }
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "BillingMode": "PAY_PER_REQUEST",
    }


def create_table(client: Any, table_name: str) -> None:
    """Create the flags table (an emulator's, for the demo and tests) and wait until it exists."""
    client.create_table(TableName=table_name, **table_schema())
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def sequencer_order(sequencer: str) -> str:
    """The sequencer as a fixed-width string whose lexical order is the numeric order."""
    return sequencer.strip().upper().rjust(SEQUENCER_WIDTH, "0")


def eligible_index_name(purpose: str) -> str:
    """The sparse global secondary index holding only the objects eligible for `purpose`."""
    return f"eligible-{purpose}"


def eligible_attribute(purpose: str) -> str:
    """The index's partition key: present on an item only while `purpose` is eligible."""
    return f"elig_{purpose}"


def eligible_shard(object_uri: str) -> str:
    """The index partition of an object: a stable hash spreads a catalogue over the shards."""
    digest = hashlib.sha256(object_uri.encode("utf-8")).digest()
    return f"shard-{int.from_bytes(digest[:4], 'big') % ELIGIBLE_INDEX_SHARDS:02d}"


def eligible_shards() -> tuple[str, ...]:
    """Every partition-key value of an eligible-only index."""
    return tuple(f"shard-{n:02d}" for n in range(ELIGIBLE_INDEX_SHARDS))


def attribute_bytes(value: Any) -> int:
    """Bytes DynamoDB counts for a value toward the item size limit (its documented rule, rounded up).

    Strings and binary by their length in bytes; numbers at most 21; booleans and
    nulls 1; lists and maps 3 plus 1 per element, plus their elements (a map's keys
    count as names).
    """
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, (int, float, Decimal)):
        return 21
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, Mapping):
        return 3 + sum(1 + len(str(key).encode("utf-8")) + attribute_bytes(item) for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 3 + sum(1 + attribute_bytes(item) for item in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def item_bytes(item: Mapping[str, Any]) -> int:
    """Bytes an item counts toward DynamoDB's 400 KB item limit: names and values."""
    return sum(len(name.encode("utf-8")) + attribute_bytes(value) for name, value in item.items())


def fit(row: VerdictRow) -> VerdictRow:
    """The row as it can be stored: itself, or the fail-closed row when its item passes `MAX_ITEM_BYTES`.

    SPEC "Flags table": a verdict is never lost to the item size limit. The row
    then keeps its identity, sequencer and status, every purpose is ineligible with
    `UNREADABLE:row-size`, and its stored inputs are the platform metadata, the
    format, the unreadable detail `row-size` (so a re-decision fails closed too) and
    as many rights values and signals, in file order, as fit.
    """
    if item_bytes(_item(row)) <= MAX_ITEM_BYTES:
        return row
    found = row.inputs.extraction
    values = [(name, value) for name in RIGHTS_FIELDS for value in found.rights.get(name, ())]
    values += [(None, signal) for signal in found.signals]

    def trimmed(count: int) -> VerdictRow:
        extraction = Extraction(format=found.format, unreadable=ROW_SIZE)
        for name, value in values[:count]:
            if name is None:
                extraction.add_signal(value)
            else:
                extraction.add_right(name, value)
        verdict = replace(
            row.verdict,
            eligible={purpose: False for purpose in PURPOSES},
            reasons={purpose: [f"{UNREADABLE}:{ROW_SIZE}"] for purpose in PURPOSES},
        )
        return replace(row, inputs=replace(row.inputs, extraction=extraction), verdict=verdict)

    low, high = 0, len(values)  # the most values that fit: adding one never shrinks the item
    while low < high:
        middle = (low + high + 1) // 2
        if item_bytes(_item(trimmed(middle))) <= MAX_ITEM_BYTES:
            low = middle
        else:
            high = middle - 1
    return trimmed(low)


def verdict_item(row: VerdictRow) -> dict[str, Any]:
    """The table item for a verdict, in SPEC's schema (the fail-closed row if it would not fit; see `fit`)."""
    return _item(fit(row))


def _item(row: VerdictRow) -> dict[str, Any]:
    """The table item for a verdict, in SPEC's schema; attributes with no value left out."""
    verdict = row.verdict
    item: dict[str, Any] = {
        "object_uri": row.object_uri,
        "bucket": row.bucket,
        "key": row.key,
        "version_id": row.version_id,
        "etag": row.etag,
        "sequencer": row.sequencer,
        "sequencer_order": sequencer_order(row.sequencer) if row.sequencer else None,
        "size": row.size,
        "status": STATUS_DECIDED,
        "eligible": dict(verdict.eligible),
        "reasons": {purpose: list(codes) for purpose, codes in verdict.reasons.items()},
        "policy_id": verdict.policy_id,
        "terms_version": verdict.terms_version,
        "accepted_terms_version": verdict.accepted_terms_version,
        "rights": row.inputs.rights_summary(),
        "signals": row.inputs.signals,
        "inputs": row.inputs.to_dict(),
        "decided_at": row.decided_at,
        # The implementation's own: the account's rows by uploader (consent propagation), and
        # which account record the verdict reflects (a re-decision never goes back to an older one).
        "uploader_id": row.inputs.metadata.uploader_id,
        "consent_updated_at": row.inputs.consent.updated_at if row.inputs.consent else None,
    }
    shard = eligible_shard(row.object_uri)
    item.update({eligible_attribute(p): shard for p in PURPOSES if verdict.eligible.get(p)})
    return {name: value for name, value in item.items() if value is not None and value != ""}


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints where integral and Binary as bytes, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _to_dynamo(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _from_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class FlagsTable:
    """`FlagsStore` over a DynamoDB client."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    # ------------------------------------------------------------ reads

    def get(self, object_uri: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self.table_name, Key=_to_dynamo({"object_uri": object_uri}), ConsistentRead=True
        )
        item = response.get("Item")
        return _from_dynamo(item) if item else None

    def scan(self, segment: int = 0, total_segments: int = 1) -> Iterator[dict[str, Any]]:
        """Every item of one segment of a parallel scan, page by page (constant memory)."""
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self.table_name, Segment=segment, TotalSegments=total_segments, ConsistentRead=True
        )
        for page in pages:
            for item in page.get("Items", []):
                yield _from_dynamo(item)

    def rows_of(self, uploader_id: str) -> Iterator[dict[str, Any]]:
        """Every row of one account, from the uploader index (eventually consistent), page by page."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            IndexName=UPLOADER_INDEX,
            KeyConditionExpression="uploader_id = :uploader",
            ExpressionAttributeValues=_to_dynamo({":uploader": uploader_id}),
        )
        for page in pages:
            for item in page.get("Items", []):
                yield _from_dynamo(item)

    def approximate_item_count(self) -> int:
        """DynamoDB's item count of the table (refreshed about every six hours): for progress, not logic."""
        return int(self._client.describe_table(TableName=self.table_name)["Table"].get("ItemCount", 0))

    def eligible(self, purpose: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every object eligible for `purpose`, from its sparse index: shard by shard, page by page.

        Index reads are eventually consistent: a verdict written a moment ago may
        not be listed yet, and one revoked a moment ago may still be.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}")
        paginator = self._client.get_paginator("query")
        for shard in eligible_shards():
            pages = paginator.paginate(
                TableName=self.table_name,
                IndexName=eligible_index_name(purpose),
                KeyConditionExpression="#shard = :shard",
                ExpressionAttributeNames={"#shard": eligible_attribute(purpose)},
                ExpressionAttributeValues=_to_dynamo({":shard": shard}),
                PaginationConfig={"PageSize": page_size} if page_size else {},
            )
            for page in pages:
                for item in page.get("Items", []):
                    yield _from_dynamo(item)

    # ------------------------------------------------------------ verdicts

    @staticmethod
    def fit(row: VerdictRow) -> VerdictRow:
        """The row as it will be stored (see the module's `fit`: the fail-closed row when too large)."""
        return fit(row)

    def put_verdict(self, row: VerdictRow) -> bool:
        """Write a verdict if it is for a newer event than the stored one.

        With a sequencer: only when strictly newer (re-delivery changes nothing).
        Without one (S3 Batch Operations): only when the key has no row, or the row
        describes this same upload (version and ETag) and no event has changed it
        since it was read; the stored sequencer is kept.
        """
        if row.sequencer is None:
            return self._put_unsequenced(row)
        return self._put(verdict_item(row), _NEWER, {":sequencer_order": sequencer_order(row.sequencer)})

    def replace_verdict(self, row: VerdictRow) -> bool:
        """Rewrite the verdict of a row still at `row.sequencer` (re-decision, same upload).

        Fails (False) if any event wrote the row since it was read, if it no longer
        describes the upload `row` names, or if it already reflects a newer account
        consent record than the one `row` was decided with.
        """
        conditions = ["#status = :decided"]
        values: dict[str, Any] = {":decided": STATUS_DECIDED}
        consent = row.inputs.consent
        if consent is not None and consent.updated_at:
            conditions.append("(attribute_not_exists(consent_updated_at) OR consent_updated_at <= :consent_updated_at)")
            values[":consent_updated_at"] = consent.updated_at
        if row.sequencer is None:
            conditions.append("attribute_not_exists(sequencer_order)")
        else:
            conditions.append("sequencer_order = :sequencer_order")
            values[":sequencer_order"] = sequencer_order(row.sequencer)
        for name in ("version_id", "etag"):
            value = getattr(row, name)
            if value is None:
                conditions.append(f"attribute_not_exists({name})")
            else:
                conditions.append(f"{name} = :{name}")
                values[f":{name}"] = value
        return self._put(verdict_item(row), " AND ".join(conditions), values, {"#status": "status"})

    def _put_unsequenced(self, row: VerdictRow) -> bool:
        current = self.get(row.object_uri)
        if current is None:
            return self._put(verdict_item(row), "attribute_not_exists(object_uri)", {})
        same_upload = current.get("version_id") == row.version_id and current.get("etag") == row.etag
        if not same_upload or current.get("status") != STATUS_DECIDED:
            return False
        return self.replace_verdict(replace(row, sequencer=current.get("sequencer")))

    def _put(
        self,
        item: Mapping[str, Any],
        condition: str,
        values: Mapping[str, Any],
        names: Mapping[str, str] | None = None,
    ) -> bool:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _to_dynamo(item),
            "ConditionExpression": condition,
        }
        if values:
            request["ExpressionAttributeValues"] = _to_dynamo(values)
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        try:
            self._client.put_item(**request)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    # ------------------------------------------------------------ removals

    def revoke(self, event: ObjectEvent, *, policy_id: str, decided_at: str) -> bool:
        """Mark the object deleted: every purpose ineligible with `DELETED`.

        Applies when the event is newer than the row and removes the version the
        row describes (a delete marker or an unversioned delete always does).
        Rights, signals and identity stay. With no row, a tombstone is written so a
        late, older create cannot resurrect the object.

        A removal without a sequencer cannot be ordered, so it is not held to one:
        it revokes the row it names whatever the row's sequencer (revoking can only
        deny) and leaves the stored sequencer as it was, so any create with a newer
        sequencer decides the object again (SPEC "Deletion").
        """
        updates: dict[str, Any] = {
            "status": STATUS_DELETED,
            "eligible": {purpose: False for purpose in PURPOSES},
            "reasons": {purpose: [DELETED] for purpose in PURPOSES},
            "decided_at": decided_at,
            "policy_id": policy_id,
            "bucket": event.bucket,
            "key": event.key,
        }
        if event.sequencer:
            updates["sequencer"] = event.sequencer
            updates["sequencer_order"] = sequencer_order(event.sequencer)
        # Attribute names such as `status`, `key`, `bucket` are DynamoDB reserved words.
        names = {f"#{name}": name for name in updates}
        values = {f":{name}": value for name, value in updates.items()}
        assignments = [f"#{name} = :{name}" for name in updates]
        # Leave every eligible-only index.
        removals = [eligible_attribute(purpose) for purpose in PURPOSES]
        newer = "(attribute_not_exists(sequencer_order) OR sequencer_order < :sequencer_order)"
        condition: str | None = f"attribute_not_exists(object_uri) OR {newer}" if event.sequencer else None
        if event.version_id and not event.delete_marker:
            # Permanent removal of one version: only the version the row describes counts.
            names["#version_id"] = "version_id"
            values[":version_id"] = event.version_id
            assignments.append("#version_id = if_not_exists(#version_id, :version_id)")
            same_version = f"(#version_id = :version_id AND {newer})" if event.sequencer else "#version_id = :version_id"
            condition = f"attribute_not_exists(object_uri) OR {same_version}"
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _to_dynamo({"object_uri": event.object_uri}),
            "UpdateExpression": f"SET {', '.join(assignments)} REMOVE {', '.join(removals)}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _to_dynamo(values),
        }
        if condition:
            request["ConditionExpression"] = condition
        try:
            self._client.update_item(**request)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True
