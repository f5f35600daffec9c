"""The gatekeeper's one job per object event, over the adapters of `gatekeeper.dal`.

A creation: open the object the event names → read its tags (and, when the policy
turns `content_id` on, match its audio against the reference catalogue) → decide
each purpose → write the verdict, conditionally on the event being the newest for
the key. A removal: revoke. Content problems become fail-closed verdicts (`UNREADABLE`); a
stale event is an outcome (`superseded`); transient failures (AWS calls, an
invalid policy) propagate so the event is retried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import BinaryIO
from enum import StrEnum

from gatekeeper import tags
from gatekeeper.dal import ConsentStore, FlagsStore, ObjectSource, PolicyProvider, ReferenceIndex, VerdictRow
from gatekeeper.errors import ContentIndexMissing, ObjectSuperseded
from gatekeeper.logic.decision import decide, decision_date
from gatekeeper.models import (
    AccountConsent,
    ContentCheck,
    DecisionInputs,
    ObjectEvent,
    PlatformMetadata,
    Policy,
    Verdict,
)
from gatekeeper.tags.limits import DEFAULT_LIMITS, Limits


class Outcome(StrEnum):
    DECIDED = "decided"  # a verdict was written
    REVOKED = "revoked"  # the object is marked deleted
    SUPERSEDED = "superseded"  # stale or duplicate event: nothing written


@dataclass(frozen=True)
class Result:
    """What handling one event did, for logs and metrics."""

    outcome: Outcome
    event: ObjectEvent
    detail: str = ""
    verdict: Verdict | None = None
    inputs: DecisionInputs | None = None
    bytes_fetched: int | None = None
    requests: int | None = None

    @property
    def unreadable(self) -> bool:
        return self.inputs is not None and self.inputs.extraction.unreadable is not None


def utc_timestamp() -> str:
    """Now, as ISO-8601 UTC with millisecond precision (`decided_at`)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Gatekeeper:
    """Decides and records the AI-training eligibility of uploads, event by event."""

    def __init__(
        self,
        source: ObjectSource,
        store: FlagsStore,
        policy_provider: PolicyProvider,
        *,
        limits: Limits = DEFAULT_LIMITS,
        today: Callable[[], dt.date] = decision_date,
        clock: Callable[[], str] = utc_timestamp,
        references: ReferenceIndex | None = None,
        consents: ConsentStore | None = None,
    ) -> None:
        self._source = source
        self._store = store
        self._policies = policy_provider
        self._limits = limits
        self._today = today
        self._clock = clock
        self._references = references
        self._consents = consents

    def policy(self) -> Policy:
        """The policy decisions are made under; raises `PolicyError` if invalid.

        A policy that turns `content_id` on with no reference index configured raises
        `ContentIndexMissing` (every upload would be decided without its content check).
        """
        policy = self._policies.policy()
        if policy.content_id is not None and self._references is None:
            raise ContentIndexMissing("the policy turns content_id on, and FINGERPRINT_TABLE_NAME is not set")
        return policy

    def handle(self, event: ObjectEvent) -> Result:
        policy = self.policy()
        if event.kind == "removed":
            return self._revoke(event, policy)
        return self._decide(event, policy)

    def _decide(self, event: ObjectEvent, policy: Policy) -> Result:
        try:
            stored = self._source.open(event)
        except ObjectSuperseded as exc:
            return Result(Outcome.SUPERSEDED, event, detail=f"object gone or changed since the event: {exc}")
        try:
            extraction = tags.extract(stored.body, limits=self._limits)
            content = self._check_content(stored.body) if policy.content_id is not None else None
        finally:
            stored.body.close()
        metadata = PlatformMetadata.from_user_metadata(stored.metadata)
        inputs = DecisionInputs(metadata, extraction, content, self._consent(metadata))
        verdict = decide(inputs, policy, self._today())
        row = VerdictRow(
            bucket=event.bucket,
            key=event.key,
            version_id=stored.version_id,
            etag=stored.etag,
            size=stored.size,
            sequencer=event.sequencer,
            inputs=inputs,
            verdict=verdict,
            decided_at=self._clock(),
        )
        # A verdict whose row would not fit the table is stored fail-closed (UNREADABLE:row-size).
        row = self._store.fit(row)
        stats = getattr(stored.body, "stats", None)
        written = self._store.put_verdict(row)
        if written:
            row = self._follow_consent(row, policy)
        return Result(
            Outcome.DECIDED if written else Outcome.SUPERSEDED,
            event,
            detail="" if written else "the table holds this or a newer event",
            verdict=row.verdict,
            inputs=row.inputs,
            bytes_fetched=getattr(stats, "bytes_fetched", None),
            requests=getattr(stats, "requests", None),
        )

    def _consent(self, metadata: PlatformMetadata) -> AccountConsent | None:
        """The uploader's account record as it is now (no consent table, no uploader id: none)."""
        if self._consents is None or not metadata.uploader_id:
            return None
        return self._consents.get(metadata.uploader_id)

    def _follow_consent(self, row: VerdictRow, policy: Policy) -> VerdictRow:
        """Re-decide a row just written if its account's consent changed meanwhile.

        The propagation of a change re-decides the rows it finds in the uploader
        index; a row written after it looked is this upload's to bring up to date.
        A few rounds at most: each follows a change a person made.
        """
        for _ in range(3):
            now = self._consent(row.inputs.metadata)
            if now == row.inputs.consent:
                return row
            inputs = replace(row.inputs, consent=now)
            redecided = self._store.fit(replace(row, inputs=inputs, verdict=decide(inputs, policy, self._today())))
            if not self._store.replace_verdict(redecided):
                return row  # a newer event or re-decision wrote the row: its verdict stands
            row = redecided
        return row

    def _check_content(self, body: BinaryIO) -> ContentCheck:
        """Content identification of the upload's audio (imported only when the policy turns it on)."""
        from gatekeeper import content_id

        assert self._references is not None  # `policy()` refuses content_id without an index
        return content_id.check(body, self._references)

    def _revoke(self, event: ObjectEvent, policy: Policy) -> Result:
        if self._store.revoke(event, policy_id=policy.policy_id, decided_at=self._clock()):
            return Result(Outcome.REVOKED, event)
        return Result(Outcome.SUPERSEDED, event, detail="the table holds this or a newer event, or another version")
