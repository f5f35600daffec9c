"""Count what a boto3 S3 client asks of S3, with botocore event hooks.

`before-send` fires once per HTTP request actually sent (retries included);
`after-call` sees each parsed response, whose `ContentLength` is the number of
bytes S3 served for it (the whole object for a plain GET, the range for a ranged
one). Body bytes the caller really consumed are counted too, by wrapping the
streaming body, so a reader that opens a long range and reads only its head is
seen for what it costs (served) and for what it used (consumed).

It also counts *sequential round trips* independently of the reader's own
`ReadStats.round_trips`: a call is in flight from `before-call` to `after-call`
(or `after-call-error`), and a call that starts while none is in flight starts a
new *wave*. Calls sent together (the reader's head and suffix ranges) make one
wave; `max_in_flight` says how many overlapped at most. The hooks run on the
threads that make the calls, so the counters are guarded by a lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.hooks import BaseEventHooks
from botocore.response import StreamingBody


@dataclass(frozen=True)
class Counts:
    """What an `S3Traffic` had counted at one moment."""

    requests: int
    bytes_served: int
    bytes_consumed: int
    waves: int
    max_in_flight: int
    ranges: tuple[str, ...]


@dataclass
class S3Traffic:
    """Requests and bytes between one measured operation and S3."""

    requests: int = 0
    bytes_served: int = 0
    bytes_consumed: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    ranges: list[str] = field(default_factory=list)
    waves: int = 0  # sequential round trips: calls started while none was in flight
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def attach(self, events: BaseEventHooks) -> None:
        """Count every S3 call made through clients using these event hooks."""
        events.register("before-call.s3", self._on_call)
        events.register("before-send.s3", self._on_send)
        events.register("after-call.s3", self._on_response)
        events.register("after-call-error.s3", self._on_error)

    def detach(self, events: BaseEventHooks) -> None:
        events.unregister("before-call.s3", self._on_call)
        events.unregister("before-send.s3", self._on_send)
        events.unregister("after-call.s3", self._on_response)
        events.unregister("after-call-error.s3", self._on_error)

    def reset(self) -> None:
        with self._lock:
            self.requests = self.bytes_served = self.bytes_consumed = 0
            self.waves = self.in_flight = self.max_in_flight = 0
            self.operations.clear()
            self.ranges.clear()

    def snapshot(self) -> Counts:
        with self._lock:
            return Counts(
                self.requests, self.bytes_served, self.bytes_consumed, self.waves, self.max_in_flight, tuple(self.ranges)
            )

    def _on_call(self, **_: Any) -> None:
        with self._lock:
            if self.in_flight == 0:
                self.waves += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _landed(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def _on_send(self, request: Any, **_: Any) -> None:
        with self._lock:
            self.requests += 1
            byte_range = request.headers.get("Range")
            if byte_range:
                self.ranges.append(byte_range.decode() if isinstance(byte_range, bytes) else str(byte_range))

    def _on_response(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            self._landed()
            self.operations[model.name] += 1
            body = parsed.get("Body")
            if isinstance(body, StreamingBody):
                self.bytes_served += int(parsed.get("ContentLength") or 0)
                parsed["Body"] = _CountingBody(body, self)

    def _on_error(self, **_: Any) -> None:
        with self._lock:
            self._landed()

    def consumed(self, amount: int) -> None:
        with self._lock:
            self.bytes_consumed += amount


class _CountingBody(StreamingBody):
    """A streaming body that adds what its reader consumes to an `S3Traffic`."""

    def __init__(self, body: StreamingBody, traffic: S3Traffic):
        super().__init__(body._raw_stream, body._content_length)
        self._traffic = traffic

    def read(self, amt: int | None = None) -> bytes:
        chunk = super().read(amt)
        self._traffic.consumed(len(chunk))
        return chunk

    def readinto(self, b: Any) -> int:
        amount = super().readinto(b)
        self._traffic.consumed(amount)
        return amount
