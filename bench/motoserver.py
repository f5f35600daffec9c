"""A moto S3 server on loopback, in a process of its own.

The server runs `moto.server.ThreadedMotoServer` on 127.0.0.1 with a random port.
It lives in a child process so that what the benchmark measures in its own
process (peak memory with tracemalloc, CPU time) is the client's alone: moto
holds every object in memory or a temporary file and copies it on each request.

Run as a script it prints its endpoint URL on one line and serves until its
standard input closes (so it never outlives the benchmark).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_STARTUP_TIMEOUT_SECONDS = 60


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """Start the server in a child process; yield its endpoint URL; stop it."""
    server = subprocess.Popen(
        [sys.executable, __file__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = server.stdout.readline().strip() if server.stdout else ""
        if not endpoint.startswith("http://"):
            raise RuntimeError(f"moto server did not start (exit status {server.poll()})")
        yield endpoint
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(timeout=_STARTUP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _serve() -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin or exits
    server.stop()


if __name__ == "__main__":
    _serve()
