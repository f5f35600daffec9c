"""The operator's policy document, from `POLICY_URI` (a file path or `s3://bucket/key`).

Loaded on first use, validated by `gatekeeper.logic.policy`, and cached for
`GATEKEEPER_POLICY_TTL_SECONDS` (default 300) so a new policy takes effect without
a redeploy. An invalid document raises `PolicyError` every time it is loaded: the
gatekeeper never decides on a policy it could not validate.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from gatekeeper.logic.policy import load_policy_file, parse_policy
from gatekeeper.models import Policy, PolicyError

DEFAULT_TTL_SECONDS = 300.0
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404"})


class PolicySource:
    """`PolicyProvider` over a file or an S3 object, with a time-to-live cache."""

    def __init__(
        self,
        uri: str,
        *,
        s3_client: Any = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not uri or not uri.strip():
            raise PolicyError("POLICY_URI: not set")
        self.uri = uri.strip()
        self._s3 = s3_client
        self._ttl = ttl_seconds
        self._clock = clock
        self._cached: Policy | None = None
        self._expires = 0.0

    @classmethod
    def from_env(cls, *, s3_client: Any = None, environ: dict[str, str] | None = None) -> PolicySource:
        env = os.environ if environ is None else environ
        raw_ttl = env.get("GATEKEEPER_POLICY_TTL_SECONDS", "").strip()
        try:
            ttl = float(raw_ttl) if raw_ttl else DEFAULT_TTL_SECONDS
        except ValueError as exc:
            raise PolicyError(f"GATEKEEPER_POLICY_TTL_SECONDS: not a number {raw_ttl!r}") from exc
        return cls(env.get("POLICY_URI", ""), s3_client=s3_client, ttl_seconds=ttl)

    def policy(self) -> Policy:
        now = self._clock()
        if self._cached is None or now >= self._expires:
            self._cached = self._load()
            self._expires = now + self._ttl
        return self._cached

    def _load(self) -> Policy:
        if not self.uri.startswith("s3://"):
            return load_policy_file(Path(self.uri))
        return parse_policy(self._document_from_s3())

    def _document_from_s3(self) -> Any:
        location = urlparse(self.uri)
        bucket, key = location.netloc, location.path.lstrip("/")
        if not bucket or not key:
            raise PolicyError(f"POLICY_URI: not an s3://bucket/key address: {self.uri!r}")
        if self._s3 is None:
            raise PolicyError(f"POLICY_URI {self.uri}: no S3 client configured")
        try:
            raw = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
                raise PolicyError(f"POLICY_URI {self.uri}: no such object") from exc
            raise
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PolicyError(f"POLICY_URI {self.uri}: not a JSON document ({exc})") from exc
