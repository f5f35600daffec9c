"""An S3-like link for the benchmark: moto in a network namespace, behind a shaped veth.

On loopback a request's first byte costs a fraction of a millisecond; on S3 it
costs tens of milliseconds, and that, not the bytes, is what a decision waits for.
`shaped_moto` makes the link the benchmark's requests cross:

    root namespace (the benchmark)                 namespace gkbench-<pid>-<n>
    gkb<id>s 198.18.x.1 ==== veth, tbf 90 MiB/s each way ==== 198.18.x.2
                                                    relay :R  (10 ms each way) --> moto 127.0.0.1:P
    gkb<id>u 198.18.y.1 ==== veth, not shaped ============= 198.18.y.2
                                                    moto :P   (binds 0.0.0.0)

- **Bandwidth**: a `tbf` qdisc on both ends of the shaped veth (`tc`, iproute2),
  at `mib_per_second` (default 90 MiB/s = 754,974,720 bit/s).
- **First-byte latency**: `bench/relay.py`, a delay line in the namespace, holds
  every byte `first_byte_ms / 2` in each direction (10 ms on the request, 10 ms on
  the response): each request/response pays `first_byte_ms` once, however many
  bytes follow, and bytes keep flowing at the veth's rate meanwhile. This is done
  in user space because this kernel has no `sch_netem` (`CONFIG_NET_SCH_NETEM` is
  not set and modules cannot be loaded: `tc qdisc add ... netem` answers
  "Specified qdisc kind is unknown"). It also models S3 better than netem would:
  S3's first-byte latency is the service's, not the network's round trip, so TCP
  (handshakes, slow start, ACK clocking) sees a short round trip here, as it does
  to S3 from the same region.
- **Unshaped path** to the same server, for setup (uploads) and the emulator's
  own costs (`direct`): a second veth with no qdisc.
- Addresses come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking), a
  /30 each, chosen at random among those not in use.

Everything is undone on the way out (`finally`: relay and server stopped, any
process left in the namespace killed, namespace deleted, which deletes both veth
pairs and their qdiscs), also on Ctrl-C or an exception; names are unique per run
(`gkbench-<pid>-<n>`), and a run first removes the namespaces of runs whose
process has gone (`remove_stale`), never those of a run still going.

`shaping_unavailable()` says why shaping cannot work here (not Linux, not root,
no iproute2 and no apt-get to install it, no network namespaces); the benchmark
then falls back to loopback and says so (`bench.__main__`). `verify` measures the
shaping on the link it made: a tiny GET's latency and a large GET's throughput,
each shaped and unshaped.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.motoserver import moto_process, stop_child

ROOT = Path(__file__).resolve().parents[1]
INSTALL_SCRIPT = ROOT / "scripts" / "install-netshape.sh"
RELAY = Path(__file__).resolve().parent / "relay.py"

MIB = 1024 * 1024
NAMESPACE_PREFIX = "gkbench-"
_NAMESPACE = re.compile(rf"^{NAMESPACE_PREFIX}(\d+)-(\w+)$")
#: RFC 2544's benchmarking block, 198.18.0.0/15, in /30s: 32,768 of them.
_BLOCKS = 1 << 15
#: tbf: bytes sent at line rate before the rate applies (at least two 64 KiB GSO
#: packets of the veth), and how long a packet may queue before tbf drops it.
TBF_BURST_BYTES = 128 * 1024
TBF_LATENCY_MS = 200

_runs = 0


class ShapingUnavailable(RuntimeError):
    """The link cannot be shaped here; the message says why."""


@dataclass(frozen=True)
class Shaping:
    """The S3-like link: first-byte latency per request, and bandwidth."""

    first_byte_ms: float = 20.0
    mib_per_second: float = 90.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Shaping:
        env = os.environ if environ is None else environ
        return cls(
            float(env.get("BENCH_LINK_FIRST_BYTE_MS") or cls.first_byte_ms),
            float(env.get("BENCH_LINK_MIB_PER_SECOND") or cls.mib_per_second),
        )

    @property
    def rate_bits(self) -> int:
        return int(self.mib_per_second * MIB * 8)


@dataclass
class ShapedLink:
    """The endpoints of a shaped link and what was set up to make it."""

    shaped: str  # through the relay and the shaped veth
    direct: str  # the same server, through the unshaped veth
    shaping: Shaping
    namespace: str
    interfaces: dict[str, str]  # role -> name (root-namespace ends)
    addresses: dict[str, str]  # role -> the namespace end's address
    server_pid: int = 0
    relay_pid: int = 0
    qdiscs: list[str] = field(default_factory=list)  # `tc qdisc show`, both ends

    def describe(self) -> dict[str, Any]:
        return {
            "mode": "netns",
            "namespace": self.namespace,
            "interfaces": self.interfaces,
            "addresses": self.addresses,
            "shaped_endpoint": self.shaped,
            "direct_endpoint": self.direct,
            "first_byte_ms": self.shaping.first_byte_ms,
            "mib_per_second": self.shaping.mib_per_second,
            "delay": f"user-space delay line (bench/relay.py), {self.shaping.first_byte_ms / 2:g} ms each way",
            "rate": f"tbf {self.shaping.rate_bits} bit/s on both ends of the shaped veth",
            "qdiscs": self.qdiscs,
        }


# ---------------------------------------------------------------- commands


def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(command), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise ShapingUnavailable(f"`{' '.join(command)}` failed: {(done.stderr or done.stdout).strip()}")
    return done


def _in(namespace: str, *command: str) -> tuple[str, ...]:
    return ("ip", "netns", "exec", namespace, *command)


def ensure_tools() -> None:
    """`ip` and `tc` on PATH, installing iproute2 (`scripts/install-netshape.sh`) if they are not."""
    if shutil.which("ip") and shutil.which("tc"):
        return
    done = subprocess.run([str(INSTALL_SCRIPT)], capture_output=True, text=True)
    if done.returncode != 0 or not (shutil.which("ip") and shutil.which("tc")):
        raise ShapingUnavailable(f"iproute2 (ip, tc) missing and not installed: {done.stderr.strip()[-300:]}")


def shaping_unavailable() -> str | None:
    """Why a shaped link cannot be made here, or None when it can (installs iproute2 if missing)."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces need Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "network namespaces and tc need root (the benchmark runs as uid %d)" % os.geteuid()
    try:
        ensure_tools()
    except ShapingUnavailable as exc:
        return str(exc)
    probe = f"{NAMESPACE_PREFIX}{os.getpid()}-probe"
    done = _run("ip", "netns", "add", probe, check=False)
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    _run("ip", "netns", "del", probe, check=False)
    return None


# ---------------------------------------------------------------- stale runs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespaces() -> list[str]:
    """Every network namespace this benchmark made that still exists."""
    listed = _run("ip", "netns", "list", check=False).stdout.splitlines()
    return [line.split()[0] for line in listed if line.startswith(NAMESPACE_PREFIX)]


def _delete_namespace(namespace: str) -> None:
    """Kill what still runs in the namespace (our server and relay), then delete it (and its veths)."""
    for pid in _run("ip", "netns", "pids", namespace, check=False).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    _run("ip", "netns", "del", namespace, check=False)


def remove_stale() -> list[str]:
    """Delete the namespaces of earlier runs whose process has gone (never a live run's)."""
    removed = []
    for namespace in namespaces():
        match = _NAMESPACE.match(namespace)
        if match is None:
            continue  # not named as this module names them: not ours to judge
        owner = int(match.group(1))
        if owner == os.getpid() or _alive(owner):
            continue
        _delete_namespace(namespace)
        removed.append(namespace)
    return removed


# ---------------------------------------------------------------- the link


def _free_blocks(count: int) -> list[int]:
    """`count` distinct /30 blocks of 198.18.0.0/15 that no interface uses now."""
    used = set(re.findall(r"inet (198\.1[89]\.\d+\.\d+)", _run("ip", "-o", "-4", "addr", "show", check=False).stdout))
    chosen: list[int] = []
    while len(chosen) < count:
        block = random.randrange(_BLOCKS)
        if block not in chosen and _address(block, 1) not in used and _address(block, 2) not in used:
            chosen.append(block)
    return chosen


def _address(block: int, host: int) -> str:
    value = (198 << 24 | 18 << 16) + block * 4 + host
    return ".".join(str(value >> shift & 0xFF) for shift in (24, 16, 8, 0))


def _tbf(shaping: Shaping) -> tuple[str, ...]:
    return (
        "tbf",
        "rate",
        f"{shaping.rate_bits}bit",
        "burst",
        str(TBF_BURST_BYTES),
        "latency",
        f"{TBF_LATENCY_MS}ms",
    )


def _start_relay(namespace: str, listen: str, port: int, delay_ms: float) -> tuple[subprocess.Popen[str], int]:
    """The delay line in the namespace, listening on `listen` and relaying to moto's `port`; its own port."""
    relay = subprocess.Popen(
        [*_in(namespace, sys.executable, str(RELAY), listen, "127.0.0.1", str(port), str(delay_ms))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = relay.stdout.readline().strip() if relay.stdout else ""
    if not line.isdigit():
        stop_child(relay)
        raise ShapingUnavailable(f"the delay relay did not start (exit status {relay.poll()})")
    return relay, int(line)


@contextmanager
def shaped_moto(shaping: Shaping | None = None) -> Iterator[ShapedLink]:
    """A moto server behind a shaped link (see the module doc); everything removed on exit.

    Raises `ShapingUnavailable` (with nothing left behind) when it cannot be made.
    """
    global _runs
    shaping = shaping or Shaping()
    reason = shaping_unavailable()
    if reason:
        raise ShapingUnavailable(reason)
    remove_stale()
    _runs += 1
    run_id = f"{os.getpid():x}{_runs:x}"[-10:]
    namespace = f"{NAMESPACE_PREFIX}{os.getpid()}-{_runs}"
    shaped_block, direct_block = _free_blocks(2)
    roles = {"shaped": (shaped_block, f"gkb{run_id}s"), "direct": (direct_block, f"gkb{run_id}u")}
    with ExitStack() as stack:
        _run("ip", "netns", "add", namespace)
        stack.callback(_delete_namespace, namespace)
        _run(*_in(namespace, "ip", "link", "set", "lo", "up"))
        for block, name in roles.values():
            # The peer is made inside the namespace at once: no veth is ever left behind in ours.
            _run("ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}n", "netns", namespace)
            _run("ip", "addr", "add", f"{_address(block, 1)}/30", "dev", name)
            _run("ip", "link", "set", name, "up")
            _run(*_in(namespace, "ip", "addr", "add", f"{_address(block, 2)}/30", "dev", f"{name}n"))
            _run(*_in(namespace, "ip", "link", "set", f"{name}n", "up"))
        shaped_name = roles["shaped"][1]
        _run("tc", "qdisc", "add", "dev", shaped_name, "root", *_tbf(shaping))
        _run(*_in(namespace, "tc", "qdisc", "add", "dev", f"{shaped_name}n", "root", *_tbf(shaping)))
        qdiscs = [
            _run("tc", "qdisc", "show", "dev", shaped_name).stdout.strip(),
            _run(*_in(namespace, "tc", "qdisc", "show", "dev", f"{shaped_name}n")).stdout.strip(),
        ]
        endpoint, server_pid = stack.enter_context(moto_process(host="0.0.0.0", prefix=_in(namespace)))
        port = int(endpoint.rsplit(":", 1)[1])
        shaped_address = _address(shaped_block, 2)
        relay, relay_port = _start_relay(namespace, shaped_address, port, shaping.first_byte_ms / 2)
        stack.callback(stop_child, relay)
        yield ShapedLink(
            shaped=f"http://{shaped_address}:{relay_port}",
            direct=f"http://{_address(direct_block, 2)}:{port}",
            shaping=shaping,
            namespace=namespace,
            interfaces={role: name for role, (_, name) in roles.items()},
            addresses={role: _address(block, 2) for role, (block, _) in roles.items()},
            server_pid=server_pid,
            relay_pid=relay.pid,
            qdiscs=qdiscs,
        )


# ---------------------------------------------------------------- verification


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def verify(shaped: Any, direct: Any, bucket: str, shaping: Shaping, *, bulk_bytes: int, repeats: int) -> dict[str, Any]:
    """Measure the shaping through S3 clients on each path: a 1-byte GET's latency, a bulk GET's rate.

    `shaped` and `direct` are S3 clients of the same server; the objects are
    created through `direct` and deleted afterwards.
    """
    tiny, bulk = "bench/shaping-check-1-byte", "bench/shaping-check-bulk"
    direct.put_object(Bucket=bucket, Key=tiny, Body=b"x")
    direct.put_object(Bucket=bucket, Key=bulk, Body=bytes(bulk_bytes))
    try:

        def get(client: Any, key: str) -> Callable[[], int]:
            return lambda: len(client.get_object(Bucket=bucket, Key=key)["Body"].read())

        for client in (shaped, direct):
            get(client, tiny)()  # connections made, nothing timed
        tiny_ms = {name: _median_ms(get(c, tiny), repeats) for name, c in (("shaped", shaped), ("direct", direct))}
        bulk_ms = {name: _median_ms(get(c, bulk), 3) for name, c in (("shaped", shaped), ("direct", direct))}
    finally:
        direct.delete_object(Bucket=bucket, Key=tiny)
        direct.delete_object(Bucket=bucket, Key=bulk)
    added = tiny_ms["shaped"] - tiny_ms["direct"]
    # The bulk GET's transfer time: its wall time less the shaped link's first-byte time.
    transfer_ms = max(bulk_ms["shaped"] - tiny_ms["shaped"], 1e-6)
    rate = bulk_bytes / MIB / (transfer_ms / 1000)
    latency_ok = 0.75 * shaping.first_byte_ms <= added <= 1.5 * shaping.first_byte_ms
    rate_ok = 0.6 * shaping.mib_per_second <= rate <= 1.15 * shaping.mib_per_second
    return {
        "tiny_get_ms": tiny_ms,
        "added_first_byte_ms": added,
        "bulk_bytes": bulk_bytes,
        "bulk_get_ms": bulk_ms,
        "shaped_mib_per_second": rate,
        "direct_mib_per_second": bulk_bytes / MIB / (max(bulk_ms["direct"], 1e-6) / 1000),
        "repeats": repeats,
        "latency_on_target": latency_ok,
        "rate_on_target": rate_ok,
    }


# ---------------------------------------------------------------- for the benchmark


@dataclass(frozen=True)
class Endpoints:
    """Where the benchmark's S3 server answers: always `direct`; `shaped` when a link could be shaped."""

    direct: str
    shaped: str | None
    unavailable: str | None  # why there is no shaped link
    link: ShapedLink | None


@contextmanager
def s3_endpoints(shaping: Shaping, mode: str = "auto") -> Iterator[Endpoints]:
    """The benchmark's server: behind a shaped link, or on loopback when shaping is unavailable.

    `mode` (`BENCH_SHAPING`): "auto" shapes when it can and otherwise falls back to
    loopback, saying so on stderr and in the results; "on" fails instead of falling
    back; "off" does not try.
    """
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"BENCH_SHAPING must be auto, on or off, not {mode!r}")
    with ExitStack() as stack:
        endpoints, reason = None, "BENCH_SHAPING=off"
        if mode != "off":
            try:
                link = stack.enter_context(shaped_moto(shaping))
                endpoints = Endpoints(link.direct, link.shaped, None, link)
            except ShapingUnavailable as exc:
                if mode == "on":
                    raise
                reason = str(exc)
        if endpoints is None:
            print(f"bench: NO SHAPED LINK ({reason}); measuring on loopback, S3-like figures estimated", file=sys.stderr)
            from bench.motoserver import moto_endpoint

            endpoints = Endpoints(stack.enter_context(moto_endpoint()), None, reason, None)
        yield endpoints
