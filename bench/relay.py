"""A TCP relay that delays every byte by a fixed time in each direction: a delay line.

This kernel has no `sch_netem` (`tc qdisc ... netem` answers "Specified qdisc
kind is unknown"), so the first-byte latency of the shaped link (`bench.shaped`)
is made here, in user space, while the kernel's `tbf` on the veth makes the
bandwidth. Each chunk read from one side is written to the other `delay_ms`
after it was read, whatever came before it: the relay holds a queue of chunks in
flight per direction, like a wire, so the delay is paid once per request and per
response, never once per chunk, and the data rate is the veth's.

Run as a script (stdlib only, so it starts fast inside the network namespace):

    python bench/relay.py LISTEN_HOST TARGET_HOST TARGET_PORT DELAY_MS

It prints the port it listens on, on one line, and relays until its standard
input closes (so it never outlives the process that started it).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading

CHUNK_BYTES = 256 * 1024
#: Chunks in flight per direction before reading pauses: 16 MiB, well above the
#: bandwidth-delay product (90 MiB/s x 10 ms = 0.9 MiB).
QUEUE_CHUNKS = 64


async def _delay_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy `reader` to `writer`, each chunk `delay` seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)

    async def receive() -> None:
        try:
            while chunk := await reader.read(CHUNK_BYTES):
                await queue.put((loop.time() + delay, chunk))
        except (ConnectionError, OSError):
            pass
        await queue.put((loop.time() + delay, b""))

    receiving = asyncio.create_task(receive())
    try:
        while True:
            due, chunk = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:
                if writer.can_write_eof():
                    writer.write_eof()
                break
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        receiving.cancel()


def _no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _relay(
    client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, target: tuple[str, int], delay: float
) -> None:
    """One connection: to the target, and a delay line each way until both sides are done."""
    _no_delay(client_writer)
    writers = [client_writer]
    try:
        server_reader, server_writer = await asyncio.open_connection(*target)
        writers.append(server_writer)
        _no_delay(server_writer)
        await asyncio.gather(
            _delay_line(client_reader, server_writer, delay),
            _delay_line(server_reader, client_writer, delay),
        )
    except (OSError, asyncio.CancelledError):
        pass  # the target refused, or the relay is stopping
    finally:
        for writer in writers:
            writer.close()


async def _serve(listen_host: str, target_host: str, target_port: int, delay: float) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    connections: set[asyncio.Task[None]] = set()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = loop.create_task(_relay(reader, writer, (target_host, target_port), delay))
        connections.add(task)
        task.add_done_callback(connections.discard)

    server = await asyncio.start_server(accepted, listen_host, 0, reuse_address=True)
    print(server.sockets[0].getsockname()[1], flush=True)

    def wait_for_eof() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    await stop.wait()
    server.close()
    for task in list(connections):
        task.cancel()
    await asyncio.gather(*connections, return_exceptions=True)
    await server.wait_closed()


def main(argv: list[str]) -> int:
    listen_host, target_host, target_port, delay_ms = argv
    asyncio.run(_serve(listen_host, target_host, int(target_port), float(delay_ms) / 1000))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
