"""Re-decision of every verdict under a new policy, from the rows' stored `inputs`.

No audio is read: each row keeps the platform metadata, rights values and signals
its decision needed, and, with the policy's `content_id` on, the upload's audio
fingerprint, which is matched again against the reference catalogue as it is now
(a catalogue that grew flips the rows of its recordings). A parallel scan (one thread per segment) decides every
`decided` row again and rewrites only those whose verdict or `policy_id` changed,
conditionally on the row still describing the same upload at the same sequencer
(`FlagsTable.replace_verdict`): a newer event written during the run wins, and a
deleted row stays deleted.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

import boto3
from botocore.config import Config

from gatekeeper.dal import ConsentStore, ReferenceIndex, VerdictRow
from gatekeeper.dal.clients import LAMBDA_CLIENT_CONFIG
from gatekeeper.dal.flags_table import STATUS_DECIDED, FlagsTable
from gatekeeper.logic.decision import decide, reason_code
from gatekeeper.errors import ContentIndexMissing
from gatekeeper.models import PURPOSES, ContentCheck, DecisionInputs, Policy, Verdict
from gatekeeper.service import utc_timestamp

#: Threads re-deciding one account's rows (each a conditional write's round trip at a time).
UPLOADER_WORKERS = 8


class RowOutcome(StrEnum):
    REWRITTEN = "rewritten"  # the verdict or policy_id changed and was written
    UNCHANGED = "unchanged"  # the same verdict under the same policy: nothing written
    SUPERSEDED = "superseded"  # an event changed the row since it was scanned: nothing written
    SKIPPED = "skipped"  # a deleted row, or one without stored inputs


class VerdictTable(Protocol):
    def scan(self, segment: int = 0, total_segments: int = 1) -> Iterator[Mapping[str, Any]]: ...

    def rows_of(self, uploader_id: str) -> Iterator[Mapping[str, Any]]: ...

    def replace_verdict(self, row: VerdictRow) -> bool: ...


@dataclass
class Summary:
    """What a run did: rows by outcome, eligibility flips and reason codes per purpose, time."""

    scanned: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    #: purpose -> "to_eligible" / "to_ineligible" -> rows rewritten with that flip
    flips: dict[str, Counter[str]] = field(default_factory=lambda: {p: Counter() for p in PURPOSES})
    #: purpose -> reason code -> rewritten rows that gained / lost a reason with that code
    reasons_added: dict[str, Counter[str]] = field(default_factory=lambda: {p: Counter() for p in PURPOSES})
    reasons_removed: dict[str, Counter[str]] = field(default_factory=lambda: {p: Counter() for p in PURPOSES})
    seconds: float = 0.0

    def record_rewrite(self, before: Mapping[str, Any], after: Verdict) -> None:
        for purpose in PURPOSES:
            was, now = bool((before.get("eligible") or {}).get(purpose)), after.eligible[purpose]
            if was != now:
                self.flips[purpose]["to_eligible" if now else "to_ineligible"] += 1
            old = {reason_code(r) for r in (before.get("reasons") or {}).get(purpose, [])}
            new = {reason_code(r) for r in after.reasons[purpose]}
            self.reasons_added[purpose].update(new - old)
            self.reasons_removed[purpose].update(old - new)

    def merge(self, other: Summary) -> None:
        self.scanned += other.scanned
        self.outcomes.update(other.outcomes)
        for purpose in PURPOSES:
            self.flips[purpose].update(other.flips[purpose])
            self.reasons_added[purpose].update(other.reasons_added[purpose])
            self.reasons_removed[purpose].update(other.reasons_removed[purpose])

    def to_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            **{outcome.value: self.outcomes[outcome] for outcome in RowOutcome},
            "flips": {p: dict(c) for p, c in self.flips.items()},
            "reasons_added": {p: dict(c) for p, c in self.reasons_added.items()},
            "reasons_removed": {p: dict(c) for p, c in self.reasons_removed.items()},
            "seconds": round(self.seconds, 3),
        }


def verdict_changed(item: Mapping[str, Any], verdict: Verdict) -> bool:
    """Whether a stored row's verdict or policy differs from a new decision."""
    return (
        item.get("policy_id") != verdict.policy_id
        or item.get("terms_version") != verdict.terms_version
        or item.get("eligible") != verdict.eligible
        or item.get("reasons") != verdict.reasons
    )


def redecided_row(item: Mapping[str, Any], inputs: DecisionInputs, verdict: Verdict, decided_at: str) -> VerdictRow:
    """The stored upload with its new verdict (same identity and sequencer, so the write is conditional on them)."""
    return VerdictRow(
        bucket=item["bucket"],
        key=item["key"],
        version_id=item.get("version_id"),
        etag=item.get("etag"),
        size=item.get("size"),
        sequencer=item.get("sequencer"),
        inputs=inputs,
        verdict=verdict,
        decided_at=decided_at,
    )


def flags_table_for(table_name: str, segments: int) -> FlagsTable:
    """The flags table over a client with a connection for each segment's thread."""
    config = LAMBDA_CLIENT_CONFIG.merge(Config(max_pool_connections=max(10, segments)))
    return FlagsTable(boto3.client("dynamodb", config=config), table_name)


class Reevaluator:
    """Decides every row of the flags table again under `policy` on the decision date `on`."""

    def __init__(
        self,
        table: VerdictTable,
        policy: Policy,
        on: dt.date,
        *,
        clock: Callable[[], str] = utc_timestamp,
        on_row: Callable[[RowOutcome], None] | None = None,
        references: ReferenceIndex | None = None,
        consents: ConsentStore | None = None,
    ) -> None:
        if policy.content_id is not None and references is None:
            raise ContentIndexMissing("the policy turns content_id on, and FINGERPRINT_TABLE_NAME is not set")
        self._table = table
        self._policy = policy
        self._on = on
        self._clock = clock
        self._on_row = on_row
        self._references = references
        self._consents = consents

    def reevaluate(self, item: Mapping[str, Any], summary: Summary) -> RowOutcome:
        """Decide one scanned row again; write it only if the verdict or policy changed."""
        if item.get("status") != STATUS_DECIDED or not isinstance(item.get("inputs"), Mapping):
            return RowOutcome.SKIPPED
        inputs = DecisionInputs.from_dict(item["inputs"])
        if self._policy.content_id is not None and inputs.content is not None:
            inputs = replace(inputs, content=self._rematch(inputs.content))
        if self._consents is not None:
            # The account's record as it is now, not the one the row was decided with.
            uploader = inputs.metadata.uploader_id
            inputs = replace(inputs, consent=self._consents.get(uploader) if uploader else None)
        verdict = decide(inputs, self._policy, self._on)
        if not verdict_changed(item, verdict) and not self._consent_changed(item, inputs):
            return RowOutcome.UNCHANGED
        if not self._table.replace_verdict(redecided_row(item, inputs, verdict, self._clock())):
            return RowOutcome.SUPERSEDED
        summary.record_rewrite(item, verdict)
        return RowOutcome.REWRITTEN

    def _consent_changed(self, item: Mapping[str, Any], inputs: DecisionInputs) -> bool:
        """Whether the account record now deciding differs from the one the row records.

        SPEC: `inputs` records which consent decided, so a new account record is
        written even when the verdict stays (an opt-out on an already ineligible row)."""
        return self._consents is not None and item["inputs"].get("consent") != inputs.to_dict().get("consent")

    def _rematch(self, content: ContentCheck) -> ContentCheck:
        """The stored fingerprint matched against the catalogue as it is now: no audio is read."""
        from gatekeeper import content_id

        assert self._references is not None
        return content_id.rematch(content, self._references)

    def run_segment(self, segment: int, total_segments: int) -> Summary:
        """One segment of a parallel scan."""
        summary = Summary()
        started = time.monotonic()
        for item in self._table.scan(segment, total_segments):
            outcome = self.reevaluate(item, summary)
            summary.scanned += 1
            summary.outcomes[outcome] += 1
            if self._on_row is not None:
                self._on_row(outcome)
        summary.seconds = time.monotonic() - started
        return summary

    def run_uploader(self, uploader_id: str, *, workers: int = UPLOADER_WORKERS) -> Summary:
        """Every row of one account (the uploader index), decided again: consent propagation.

        The index is read page by page while `workers` threads re-decide and write
        the rows (at most twice that many rows held at once): a write's round trip,
        not the query, sets the pace. Unchanged rows cost a read, never a write.
        The index is eventually consistent: the propagation function looks twice
        (`handlers.consent`).
        """
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        started = time.monotonic()
        summary = self._run_rows(self._table.rows_of(uploader_id), workers)
        summary.seconds = time.monotonic() - started
        return summary

    def _run_rows(self, items: Iterable[Mapping[str, Any]], workers: int) -> Summary:
        """`items` re-decided by `workers` threads, a bounded number in flight; the merged summary."""
        total = Summary()

        def one(item: Mapping[str, Any]) -> Summary:
            part = Summary(scanned=1)
            part.outcomes[self.reevaluate(item, part)] += 1
            return part

        def collect(done: Iterable[Future[Summary]]) -> None:
            for future in done:
                part = future.result()
                total.merge(part)
                if self._on_row is not None:
                    self._on_row(next(iter(part.outcomes)))

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="redecide") as pool:
            in_flight: set[Future[Summary]] = set()
            for item in items:
                if len(in_flight) >= 2 * workers:
                    done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    collect(done)
                in_flight.add(pool.submit(one, item))
            collect(in_flight)
        return total

    def run(self, segments: int = 4) -> Summary:
        """Every segment, one thread each; the merged summary with the wall time."""
        if segments < 1:
            raise ValueError(f"segments must be at least 1, not {segments}")
        started = time.monotonic()
        total = Summary()
        with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="reevaluate") as pool:
            for part in pool.map(lambda segment: self.run_segment(segment, segments), range(segments)):
                total.merge(part)
        total.seconds = time.monotonic() - started
        return total
