"""Logging, metrics and tracing of the Lambda functions (Powertools), one of each per process.

`lambda_entry_point` is the stack of decorators every function's handler wears:
the Lambda context in every log line (state cleared per invocation), the metrics
of the invocation flushed as one EMF document at its end, and X-Ray only when
tracing is on (`POWERTOOLS_TRACE_DISABLED` not true): the X-Ray SDK costs about
0.1 s of CPU at every cold start, so it is not even imported otherwise.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
# An s3:TestEvent or an all-superseded batch has no metrics; that is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

_TRUE = {"1", "true", "yes"}
Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() not in _TRUE


def count(name: str, value: float = 1) -> None:
    """Add `value` to the invocation's metric `name` (a count)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def lambda_entry_point(handler: Handler) -> Handler:
    """`handler` with the Lambda context in its logs, its metrics flushed, and traced when tracing is on."""
    wrapped = logger.inject_lambda_context(clear_state=True)(metrics.log_metrics(handler))
    if tracing_enabled():
        from aws_lambda_powertools import Tracer

        wrapped = Tracer().capture_lambda_handler(wrapped)
    return wrapped  # type: ignore[return-value]
