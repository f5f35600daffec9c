"""Account consent on DynamoDB (`CONSENT_TABLE_NAME`, SPEC "Account consent").

One item per account, key `uploader_id` (S): `ai_opt_out` (BOOL), `genai_opt_in`
(BOOL), `updated_at` (ISO-8601 UTC, microseconds). The platform's settings page
writes it (here: `gatekeeper consent set`); its stream (new and old images) drives
the propagation function, which re-decides the account's uploads.

Reads are strongly consistent: a decision made after a change must see it.
`updated_at` orders an account's records: a re-decision made from an older record
than the one a verdict row already reflects is refused (`FlagsTable.replace_verdict`).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from gatekeeper.models import AccountConsent

if TYPE_CHECKING:
    from gatekeeper.dal import ConsentStore

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
BATCH_KEYS = 100


def table_schema() -> dict[str, Any]:
    """`CreateTable` arguments (without `TableName`), as `template.yaml` declares the table."""
    return {
        "AttributeDefinitions": [{"AttributeName": "uploader_id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "uploader_id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


def create_table(client: Any, table_name: str) -> bool:
    """Create the consent table where it does not exist (emulators, tests); False when it already did."""
    from gatekeeper.dal.clients import create_missing_table

    return create_missing_table(client, table_name, table_schema())


def utc_now_precise() -> str:
    """Now, ISO-8601 UTC with microseconds: two quick changes of one account are told apart."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def consent_of(item: Mapping[str, Any]) -> AccountConsent:
    """An account record as the table (or its stream's image) holds it: DynamoDB-typed attributes."""
    return AccountConsent.from_dict({name: _deserializer.deserialize(value) for name, value in item.items()})


class ConsentTable:
    """The consent table over a DynamoDB client."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name
        self.requests = 0

    def create_table(self) -> bool:
        return create_table(self._client, self.table_name)

    def get(self, uploader_id: str) -> AccountConsent | None:
        """The account's record as it is now (strongly consistent), or None when it has none."""
        self.requests += 1
        response = self._client.get_item(
            TableName=self.table_name,
            Key={"uploader_id": _serializer.serialize(uploader_id)},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return consent_of(item) if item else None

    def get_many(self, uploader_ids: Iterable[str]) -> dict[str, AccountConsent]:
        """The records of several accounts (strongly consistent); accounts without one are absent."""
        wanted = sorted(set(uploader_ids))
        found: dict[str, AccountConsent] = {}
        for start in range(0, len(wanted), BATCH_KEYS):
            request = {
                self.table_name: {
                    "Keys": [{"uploader_id": _serializer.serialize(u)} for u in wanted[start : start + BATCH_KEYS]],
                    "ConsistentRead": True,
                }
            }
            while request:
                self.requests += 1
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    consent = consent_of(item)
                    found[consent.uploader_id] = consent
                request = response.get("UnprocessedKeys") or {}
        return found

    def set(
        self, uploader_id: str, *, ai_opt_out: bool | None = None, genai_opt_in: bool | None = None
    ) -> AccountConsent:
        """Change an account's record: the fields given, `updated_at` now; a field not given keeps its
        value (`false` in a new record). The stored record comes back."""
        if not uploader_id.strip():
            raise ValueError("an uploader id is needed")
        assignments = ["#updated_at = :updated_at"]
        values: dict[str, Any] = {":updated_at": utc_now_precise()}
        for name, value in (("ai_opt_out", ai_opt_out), ("genai_opt_in", genai_opt_in)):
            if value is None:
                assignments.append(f"#{name} = if_not_exists(#{name}, :false)")
                values[":false"] = False
            else:
                assignments.append(f"#{name} = :{name}")
                values[f":{name}"] = value
        self.requests += 1
        response = self._client.update_item(
            TableName=self.table_name,
            Key={"uploader_id": _serializer.serialize(uploader_id)},
            UpdateExpression="SET " + ", ".join(assignments),
            ExpressionAttributeNames={f"#{n}": n for n in ("updated_at", "ai_opt_out", "genai_opt_in")},
            ExpressionAttributeValues={k: _serializer.serialize(v) for k, v in values.items()},
            ReturnValues="ALL_NEW",
        )
        return consent_of(response["Attributes"])


class CachedConsents:
    """A run's view of the consent table: each account read once (a re-evaluation of many rows)."""

    def __init__(self, table: ConsentStore) -> None:
        self._table = table
        self._cache: dict[str, AccountConsent | None] = {}
        self._lock = threading.Lock()  # the re-deciding threads of one account wait for its one read

    def get(self, uploader_id: str) -> AccountConsent | None:
        with self._lock:
            if uploader_id not in self._cache:
                self._cache[uploader_id] = self._table.get(uploader_id)
            return self._cache[uploader_id]


def consents_from_env(client: Any = None, environ: Mapping[str, str] | None = None) -> ConsentTable | None:
    """The table named by `CONSENT_TABLE_NAME` (on AWS or at `AWS_ENDPOINT_URL`), or None when it is unset."""
    name = (os.environ if environ is None else environ).get("CONSENT_TABLE_NAME", "").strip()
    if not name:
        return None
    if client is None:
        from gatekeeper.dal.clients import aws_client

        client = aws_client("dynamodb")
    return ConsentTable(client, name)
