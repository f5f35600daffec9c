"""The operator's policy document, from `POLICY_URI` (a file path or `s3://bucket/key`).

Loaded on first use, read and validated by `gatekeeper.logic.policy_document` and
`gatekeeper.logic.policy` (the same loader for a file and an S3 object: size
bound, strict UTF-8 JSON, no repeated key, bounded nesting), and cached for
`GATEKEEPER_POLICY_TTL_SECONDS` (default 300) so a new policy takes effect without
a redeploy. The gatekeeper never decides on a policy it could not read or validate:

- a document that is invalid, missing, unreadable (access denied, not a file) or
  over `GATEKEEPER_POLICY_MAX_BYTES` raises `PolicyError`, every time it is loaded;
- an S3 read that failed for a transient reason, after botocore's retries
  (throttling, a 5xx, a timeout, no connection), raises `PolicyUnavailable`.

Neither is cached: the next call reads the document again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from gatekeeper.errors import PolicyUnavailable
from gatekeeper.logic.policy import load_policy_text
from gatekeeper.logic.policy_document import DEFAULT_MAX_BYTES, max_bytes_from_env, read_policy_file, too_large
from gatekeeper.models import Policy, PolicyError

DEFAULT_TTL_SECONDS = 300.0
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404"})
#: Error codes that say "try again later", as botocore's standard retry mode classifies them.
_TRANSIENT_CODES = frozenset(
    {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "RequestThrottled", "SlowDown", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "PriorRequestNotComplete",
        "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable",
    }
)  # fmt: skip


def _transient(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return code in _TRANSIENT_CODES or status == 429 or status >= 500


class PolicySource:
    """`PolicyProvider` over a file or an S3 object, with a time-to-live cache."""

    def __init__(
        self,
        uri: str,
        *,
        s3_client: Any = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not uri or not uri.strip():
            raise PolicyError("POLICY_URI: not set")
        self.uri = uri.strip()
        self.max_bytes = max_bytes
        self._s3 = s3_client
        self._ttl = ttl_seconds
        self._clock = clock
        self._cached: Policy | None = None
        self._expires = 0.0

    @classmethod
    def from_env(cls, *, s3_client: Any = None, environ: Mapping[str, str] | None = None) -> PolicySource:
        env = os.environ if environ is None else environ
        raw_ttl = env.get("GATEKEEPER_POLICY_TTL_SECONDS", "").strip()
        try:
            ttl = float(raw_ttl) if raw_ttl else DEFAULT_TTL_SECONDS
        except ValueError as exc:
            raise PolicyError(f"GATEKEEPER_POLICY_TTL_SECONDS: not a number {raw_ttl!r}") from exc
        return cls(env.get("POLICY_URI", ""), s3_client=s3_client, ttl_seconds=ttl, max_bytes=max_bytes_from_env(env))

    def policy(self) -> Policy:
        now = self._clock()
        if self._cached is None or now >= self._expires:
            self._cached = self._load()
            self._expires = now + self._ttl
        return self._cached

    def document_bytes(self) -> bytes:
        """The document's bytes as the source holds them, within the size bound."""
        if self.uri.startswith("s3://"):
            return self._bytes_from_s3()
        return read_policy_file(self.uri, self.max_bytes)

    def _load(self) -> Policy:
        return load_policy_text(self.document_bytes(), self.max_bytes)

    def _bytes_from_s3(self) -> bytes:
        location = urlparse(self.uri)
        bucket, key = location.netloc, location.path.lstrip("/")
        if not bucket or not key:
            raise PolicyError(f"POLICY_URI: not an s3://bucket/key address: {self.uri!r}")
        if self._s3 is None:
            raise PolicyError(f"POLICY_URI {self.uri}: no S3 client configured")
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
            body = response["Body"]
            try:
                size = response.get("ContentLength")
                if size is not None and size > self.max_bytes:
                    raise too_large(self.max_bytes, size, where=self.uri)
                data = body.read(self.max_bytes + 1)
            finally:
                body.close()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _MISSING_CODES:
                raise PolicyError(f"{self.uri}: no such object") from exc
            if _transient(exc):
                raise PolicyUnavailable(f"{self.uri}: {exc}") from exc
            message = exc.response.get("Error", {}).get("Message", "")
            raise PolicyError(f"{self.uri}: cannot read ({code}: {message})") from exc
        except BotoCoreError as exc:  # no connection, timeouts, a broken stream
            raise PolicyUnavailable(f"{self.uri}: {exc}") from exc
        if len(data) > self.max_bytes:
            raise too_large(self.max_bytes, where=self.uri)
        return data
