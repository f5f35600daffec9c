"""Count what a boto3 S3 client asks of S3, with botocore event hooks.

`before-send` fires once per HTTP request actually sent (retries included);
`after-call` sees each parsed response, whose `ContentLength` is the number of
bytes S3 served for it (the whole object for a plain GET, the range for a ranged
one). Body bytes the caller really consumed are counted too, by wrapping the
streaming body, so a reader that opens a long range and reads only its head is
seen for what it costs (served) and for what it used (consumed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.hooks import BaseEventHooks
from botocore.response import StreamingBody


@dataclass
class S3Traffic:
    """Requests and bytes between one measured operation and S3."""

    requests: int = 0
    bytes_served: int = 0
    bytes_consumed: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    ranges: list[str] = field(default_factory=list)

    def attach(self, events: BaseEventHooks) -> None:
        """Count every S3 call made through clients using these event hooks."""
        events.register("before-send.s3", self._on_send)
        events.register("after-call.s3", self._on_response)

    def detach(self, events: BaseEventHooks) -> None:
        events.unregister("before-send.s3", self._on_send)
        events.unregister("after-call.s3", self._on_response)

    def reset(self) -> None:
        self.requests = self.bytes_served = self.bytes_consumed = 0
        self.operations.clear()
        self.ranges.clear()

    def _on_send(self, request: Any, **_: Any) -> None:
        self.requests += 1
        byte_range = request.headers.get("Range")
        if byte_range:
            self.ranges.append(byte_range.decode() if isinstance(byte_range, bytes) else str(byte_range))

    def _on_response(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.operations[model.name] += 1
        body = parsed.get("Body")
        if isinstance(body, StreamingBody):
            self.bytes_served += int(parsed.get("ContentLength") or 0)
            parsed["Body"] = _CountingBody(body, self)


class _CountingBody(StreamingBody):
    """A streaming body that adds what its reader consumes to an `S3Traffic`."""

    def __init__(self, body: StreamingBody, traffic: S3Traffic):
        super().__init__(body._raw_stream, body._content_length)
        self._traffic = traffic

    def read(self, amt: int | None = None) -> bytes:
        chunk = super().read(amt)
        self._traffic.bytes_consumed += len(chunk)
        return chunk

    def readinto(self, b: Any) -> int:
        amount = super().readinto(b)
        self._traffic.bytes_consumed += amount
        return amount
