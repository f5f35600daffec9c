"""A moto S3 server in a process of its own (on loopback, or inside a network namespace).

The server runs `moto.server.ThreadedMotoServer` with a random port. It lives in
a child process so that what the benchmark measures in its own process (peak
memory with tracemalloc, CPU time) is the client's alone: moto holds every
object in memory or a temporary file.

**GETs cost what they send, as on S3.** Stock moto answers every GET by first
reading the *whole* object out of its buffer under the key's lock
(`FakeKey.value`), then slicing it for a range
(`S3Response._handle_range_header`): a 1-byte range of a 50 MB object costs tens
of milliseconds, two ranges of one object sent together are served one after the
other, and a whole-object GET sends its first byte only after the whole object
was copied. S3 does none of that, and on a shaped link the emulator's cost would
be measured as the gatekeeper's (and the baseline's). The server therefore
serves GETs from the key's buffer (`_serve_gets_from_the_buffer`): a range reads
only its bytes, a whole object is streamed in 1 MiB pieces; status, headers and
bytes are stock moto's. `BENCH_MOTO_STOCK_GETS=1` keeps stock moto, to compare;
the benchmark reports the emulator's own cost of a 1-byte range either way
(`floor`).

Run as a script it prints its endpoint URL on one line and serves until its
standard input closes (so it never outlives the benchmark).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_STARTUP_TIMEOUT_SECONDS = 60


@contextmanager
def moto_endpoint(*, host: str = "127.0.0.1", prefix: Sequence[str] = ()) -> Iterator[str]:
    """Start the server in a child process; yield its endpoint URL; stop it.

    `prefix` runs the child under another command (e.g. `ip netns exec NAME`), and
    `host` is the address it binds there.
    """
    with moto_process(host=host, prefix=prefix) as (endpoint, _pid):
        yield endpoint


@contextmanager
def moto_process(*, host: str = "127.0.0.1", prefix: Sequence[str] = ()) -> Iterator[tuple[str, int]]:
    """As `moto_endpoint`, and the server's process id."""
    server = subprocess.Popen(
        [*prefix, sys.executable, __file__, host],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = server.stdout.readline().strip() if server.stdout else ""
        if not endpoint.startswith("http://"):
            raise RuntimeError(f"moto server did not start (exit status {server.poll()})")
        yield endpoint, server.pid
    finally:
        stop_child(server)


def stop_child(child: subprocess.Popen[str]) -> None:
    """Close the child's standard input (it exits on EOF); kill it if it does not."""
    if child.stdin:
        try:
            child.stdin.close()
        except OSError:
            pass
    try:
        child.wait(timeout=_STARTUP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


#: Piece size of a streamed whole-object GET.
STREAM_PIECE_BYTES = 1024 * 1024


class _BufferView:
    """A key's bytes as a GET needs them: its length, slices read from its buffer, pieces to stream."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def __len__(self) -> int:
        return int(self._key.size)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, item: slice) -> bytes:
        start, stop, _ = item.indices(len(self))
        with self._key.lock:
            buffer = self._key._value_buffer
            buffer.seek(start)
            return bytes(buffer.read(max(0, stop - start)))

    def pieces(self) -> Iterator[bytes]:
        for start in range(0, len(self), STREAM_PIECE_BYTES):
            yield self[start : start + STREAM_PIECE_BYTES]


_in_get = threading.local()


def _serve_gets_from_the_buffer() -> None:
    """Make moto's GETs read only what they send, and stream whole objects (see the module doc)."""
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    stock_value = FakeKey.value
    stock_key_response = S3Response.key_response

    def value(key: Any) -> Any:
        if getattr(_in_get, "active", False):
            return _BufferView(key)
        return stock_value.fget(key)  # type: ignore[union-attr]

    def key_response(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        _in_get.active = request.method == "GET"
        try:
            status, response_headers, body = stock_key_response(self, request, full_url, headers)
        finally:
            _in_get.active = False
        if isinstance(body, _BufferView):  # the whole object (a range would have been sliced to bytes)
            body = body.pieces() if body else b""
        return status, response_headers, body

    FakeKey.value = property(value, stock_value.fset)  # type: ignore[method-assign, assignment]
    S3Response.key_response = key_response  # type: ignore[method-assign, assignment]


def _serve(host: str) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    if os.environ.get("BENCH_MOTO_STOCK_GETS", "").strip() in ("", "0"):
        _serve_gets_from_the_buffer()

    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    bound, port = server.get_host_and_port()
    print(f"http://{bound}:{port}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin or exits
    server.stop()


if __name__ == "__main__":
    _serve(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1")
