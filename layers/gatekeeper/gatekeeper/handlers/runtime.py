"""The upload function's wiring: clients, adapters, policy source and limits from its environment.

Built once per container on first use and kept while the environment stays the
same (a change rebuilds it: tests, `gatekeeper invoke`). A variable that is
missing or malformed is a `ConfigurationError`, which fails every record of the
invocation (they are retried) instead of crashing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from gatekeeper.dal.clients import aws_client
from gatekeeper.dal.consent_table import consents_from_env
from gatekeeper.dal.fingerprint_index import FingerprintIndex
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.dal.policy_source import PolicySource
from gatekeeper.dal.s3_source import S3ObjectSource
from gatekeeper.service import Gatekeeper
from gatekeeper.tags.limits import Limits

DEFAULT_MIN_REMAINING_MS = 10_000

#: The variables the runtime is built from (besides every `GATEKEEPER_LIMIT_*`).
CONFIG_VARIABLES = (
    "FLAGS_TABLE_NAME",
    "FINGERPRINT_TABLE_NAME",
    "CONSENT_TABLE_NAME",
    "POLICY_URI",
    "GATEKEEPER_POLICY_TTL_SECONDS",
    "GATEKEEPER_POLICY_MAX_BYTES",
    "GATEKEEPER_MIN_REMAINING_MS",
    "AWS_ENDPOINT_URL",
)


class ConfigurationError(RuntimeError):
    """The function's environment is unusable (a variable missing or malformed)."""


@dataclass(frozen=True)
class Runtime:
    gatekeeper: Gatekeeper
    min_remaining_ms: int
    s3: Any
    dynamodb: Any


def configuration() -> tuple[tuple[str, str], ...]:
    """The environment the runtime is built from, as a hashable snapshot."""
    names = [*CONFIG_VARIABLES, *sorted(n for n in os.environ if n.startswith("GATEKEEPER_LIMIT_"))]
    return tuple((name, os.environ.get(name, "")) for name in names)


@lru_cache(maxsize=1)
def _build(snapshot: tuple[tuple[str, str], ...]) -> Runtime:
    env = dict(snapshot)
    table_name = env["FLAGS_TABLE_NAME"].strip()
    if not table_name:
        raise ConfigurationError("FLAGS_TABLE_NAME is not set")
    raw_min = env["GATEKEEPER_MIN_REMAINING_MS"].strip()
    try:
        limits = Limits.from_env(env)
        min_remaining_ms = int(raw_min) if raw_min else DEFAULT_MIN_REMAINING_MS
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    s3, dynamodb = aws_client("s3"), aws_client("dynamodb")
    fingerprint_table = env["FINGERPRINT_TABLE_NAME"].strip()
    gatekeeper = Gatekeeper(
        S3ObjectSource(s3),
        FlagsTable(dynamodb, table_name),
        PolicySource.from_env(s3_client=s3, environ=env),
        limits=limits,
        references=FingerprintIndex(dynamodb, fingerprint_table) if fingerprint_table else None,
        consents=consents_from_env(dynamodb, env),
    )
    return Runtime(gatekeeper, min_remaining_ms, s3, dynamodb)


def runtime() -> Runtime:
    """The clients and service for the current environment, built once per container."""
    return _build(configuration())


def reset_runtime() -> None:
    """Forget the built runtime, so the next invocation builds fresh clients (tests)."""
    _build.cache_clear()
