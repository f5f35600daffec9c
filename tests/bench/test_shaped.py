"""The benchmark's shaped link: made, used and always taken down (no timing asserted).

The tests that make a link need root and network namespaces (the machine and CI
run as root). They are `slow` (left out of `make test-fast`) and *fail*, not skip,
when shaping is impossible: a benchmark that silently measured loopback is what
they are here to prevent. `BENCH_SHAPING=off` opts out explicitly (they skip).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import boto3
import pytest

from bench import shaped
from bench.shaped import (
    NAMESPACE_PREFIX,
    Shaping,
    ShapingUnavailable,
    namespaces,
    remove_stale,
    s3_endpoints,
    shaped_moto,
    shaping_unavailable,
)

BUCKET = "shaped-link-test"


def _client(endpoint: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    return session.client("s3", endpoint_url=endpoint)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


@pytest.fixture
def can_shape() -> None:
    if os.environ.get("BENCH_SHAPING", "").strip().lower() == "off":
        pytest.skip("BENCH_SHAPING=off: shaping opted out explicitly")
    reason = shaping_unavailable()
    if reason:
        pytest.fail(f"cannot shape a link here ({reason}); set BENCH_SHAPING=off to opt out")


@pytest.mark.slow
def test_a_shaped_link_serves_s3_and_leaves_nothing_behind(can_shape: None) -> None:
    # Given a shaped link
    with shaped_moto(Shaping(first_byte_ms=20, mib_per_second=90)) as link:
        made = (link.namespace, dict(link.interfaces), link.server_pid, link.relay_pid)
        # Then its namespace, veths, tbf qdiscs, server and relay exist
        assert link.namespace in namespaces()
        assert all(_link_exists(name) for name in link.interfaces.values())
        assert len(link.qdiscs) == 2 and all("tbf" in q and "rate 754974Kbit" in q for q in link.qdiscs), link.qdiscs
        assert _alive(link.server_pid) and _alive(link.relay_pid)
        # And S3 answers on both paths, with the same objects
        direct, through = _client(link.direct), _client(link.shaped)
        direct.create_bucket(Bucket=BUCKET)
        through.put_object(Bucket=BUCKET, Key="k", Body=b"shaped")
        assert direct.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"shaped"
        assert through.get_object(Bucket=BUCKET, Key="k", Range="bytes=-2")["Body"].read() == b"ed"
        described = link.describe()
        assert described["mode"] == "netns" and "10 ms each way" in described["delay"]
    # When it is left, then nothing of it remains
    namespace, interfaces, server, relay = made
    assert namespace not in namespaces()
    assert not any(_link_exists(name) for name in interfaces.values())
    assert not _alive(server) and not _alive(relay)


@pytest.mark.slow
def test_a_link_left_by_an_exception_is_taken_down(can_shape: None) -> None:
    # When the code using a link raises
    made: dict[str, Any] = {}
    with pytest.raises(KeyboardInterrupt), shaped_moto() as link:
        made.update(namespace=link.namespace, interfaces=list(link.interfaces.values()), pids=[link.server_pid, link.relay_pid])
        raise KeyboardInterrupt  # as Ctrl-C would
    # Then the link is gone all the same
    assert made["namespace"] not in namespaces()
    assert not any(_link_exists(name) for name in made["interfaces"])
    assert not any(_alive(pid) for pid in made["pids"])


@pytest.mark.slow
def test_a_benchmark_killed_mid_run_leaves_nothing_after_the_next_run(can_shape: None) -> None:
    # Given a process that made a link and was killed (SIGKILL: no cleanup of its own)
    code = (
        "import sys, time; sys.path.insert(0, '.')\n"
        "from bench.shaped import shaped_moto\n"
        "with shaped_moto() as link:\n"
        "    print(link.namespace, flush=True)\n"
        "    time.sleep(600)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=shaped.ROOT)
    try:
        namespace = child.stdout.readline().strip() if child.stdout else ""
        assert namespace.startswith(NAMESPACE_PREFIX) and namespace in namespaces()
    finally:
        child.kill()
        child.wait()
    # When the next run starts (it removes what runs that have gone left behind)
    remove_stale()
    # Then the killed run's namespace is gone (another run starting meanwhile may have removed it first)
    assert namespace not in namespaces()


@pytest.mark.slow
def test_a_live_runs_namespace_is_never_removed(can_shape: None) -> None:
    # Given a namespace named for a process that is still running (pid 1)
    name = f"{NAMESPACE_PREFIX}1-test"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        # When stale namespaces are removed, then it stays
        assert name not in remove_stale()
        assert name in namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def test_shaping_off_falls_back_to_loopback_and_says_why() -> None:
    # When the benchmark's endpoints are asked for with shaping off
    with s3_endpoints(Shaping(), "off") as endpoints:
        # Then there is only a loopback server, and the reason is given
        assert endpoints.shaped is None and endpoints.link is None
        assert endpoints.direct.startswith("http://127.0.0.1:")
        assert endpoints.unavailable == "BENCH_SHAPING=off"
        _client(endpoints.direct).create_bucket(Bucket=BUCKET)


def test_shaping_required_but_impossible_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a machine where a link cannot be shaped
    monkeypatch.setattr(shaped, "shaping_unavailable", lambda: "not root (test)")
    # When shaping is required, then the benchmark stops with the reason
    with pytest.raises(ShapingUnavailable, match="not root"), s3_endpoints(Shaping(), "on"):
        pass
    # And when it is only wanted, it falls back to loopback, saying why
    with s3_endpoints(Shaping(), "auto") as endpoints:
        assert endpoints.shaped is None and endpoints.unavailable == "not root (test)"


def test_addresses_are_in_the_benchmarking_block() -> None:
    # The /30s are carved from 198.18.0.0/15 (RFC 2544), first and last alike
    assert shaped._address(0, 1) == "198.18.0.1"
    assert shaped._address((1 << 15) - 1, 2) == "198.19.255.254"
