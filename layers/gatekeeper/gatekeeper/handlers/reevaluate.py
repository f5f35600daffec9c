"""The re-evaluation function: the flags table decided again under the configured policy.

Reads no audio: every row is re-decided from its stored `inputs` and rewritten only
when its verdict or `policy_id` changed, never over a newer event
(`gatekeeper.downstream.reevaluate`).

Event:
- `{"segment": 3, "total_segments": 16}`: that segment of a parallel scan. For a
  large table, invoke every segment at once (a Step Functions Map state, or one
  asynchronous invocation each), so each stays inside the function's time limit;
- `{}` or `{"total_segments": 4}`: every segment, one thread each (small tables).

Returns the run's summary (rows scanned, rewritten, flips and reason codes per
purpose, time). A policy that cannot be read or validated raises, logged once with
a `PolicyInvalid` (or `PolicyUnavailable`) metric: nothing is rewritten.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatekeeper.dal.clients import aws_client
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.downstream.reevaluate import Reevaluator, flags_table_for
from gatekeeper.errors import PolicyUnavailable
from gatekeeper.dal.fingerprint_index import index_from_env
from gatekeeper.handlers.observability import count, logger
from gatekeeper.logic.decision import decision_date
from gatekeeper.models import Policy, PolicyError

DEFAULT_SEGMENTS = 4


class BadRequest(ValueError):
    """An event that names no valid segment."""


def segments_of(event: Any) -> tuple[int | None, int]:
    """(the one segment to run, or None for all; the total number of segments)."""
    if not isinstance(event, Mapping):
        raise BadRequest(f"event is a {type(event).__name__}, not a JSON object")
    total, segment = event.get("total_segments", DEFAULT_SEGMENTS), event.get("segment")
    if not isinstance(total, int) or isinstance(total, bool) or total < 1:
        raise BadRequest(f"total_segments: expected a positive integer, not {total!r}")
    if segment is not None and (not isinstance(segment, int) or isinstance(segment, bool) or not 0 <= segment < total):
        raise BadRequest(f"segment: expected an integer from 0 to {total - 1}, not {segment!r}")
    return segment, total


def _policy() -> Policy:
    """The configured policy, read with the upload function's loader; a failure is logged, counted and raised."""
    s3 = aws_client("s3") if os.environ.get("POLICY_URI", "").strip().startswith("s3://") else None
    try:
        return PolicySource.from_env(s3_client=s3).policy()
    except (PolicyError, PolicyUnavailable) as error:
        invalid = isinstance(error, PolicyError)
        logger.error(
            f"{'invalid policy' if invalid else 'policy unavailable'}: nothing re-evaluated",
            extra={"error": str(error), "policy_uri": os.environ.get("POLICY_URI", "")},
        )
        count("PolicyInvalid" if invalid else "PolicyUnavailable")
        raise


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One invocation of the re-evaluation function: the segment(s) it names, re-decided; their summary."""
    segment, total = segments_of(event)
    policy = _policy()
    table = flags_table_for(os.environ["FLAGS_TABLE_NAME"], total if segment is None else 1)
    reevaluator = Reevaluator(table, policy, decision_date(), references=index_from_env())
    logger.append_keys(policy_id=policy.policy_id, segment=segment, total_segments=total)
    summary = reevaluator.run(total) if segment is None else reevaluator.run_segment(segment, total)
    report = {"policy_id": policy.policy_id, "segment": segment, "total_segments": total, **summary.to_dict()}
    logger.info("re-evaluation done", extra=report)
    return report
