"""`pip install upload-gatekeeper` gives a working `gatekeeper`; the demo's emulator is the `demo` extra.

The slow tests build the wheel and install it into fresh virtual environments
that hold exactly what its metadata declares (the closure of its `Requires-Dist`,
taken from this environment's installed distributions, so no network is needed):
without the extra, `gatekeeper decide` works and `gatekeeper demo` says in one
line what to install; with it, the demo runs.
"""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gatekeeper.demo import DEMO_EXTRA, EMULATED_SERVICES
from gatekeeper.samples import make_audio

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

_WITHOUT_MOTO = """
import sys
sys.modules[{blocked!r}] = None  # as if it were not installed
from gatekeeper.cli import main
sys.exit(main(["demo"]))
"""


def _moto_pin(requirements: list[str]) -> Requirement:
    (moto,) = [Requirement(line) for line in requirements if re.match(r"moto\b", line)]
    return moto


def test_the_demo_extra_pins_the_test_tools_moto_with_the_services_the_demo_emulates() -> None:
    # Given the package's demo extra and the development requirements
    extra = _moto_pin(PROJECT["optional-dependencies"]["demo"])
    dev_lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    dev = _moto_pin([line for line in dev_lines if line and not line.startswith(("#", "-r"))])
    # Then it is the same moto release, with every service the demo emulates
    assert str(extra.specifier) == str(dev.specifier) and str(extra.specifier).startswith("==")
    assert set(EMULATED_SERVICES) <= extra.extras
    assert DEMO_EXTRA == f"{PROJECT['name']}[demo]"
    # And moto is not a dependency of the package itself
    assert not [line for line in PROJECT["dependencies"] if re.match(r"moto\b", line)]


@pytest.mark.parametrize("blocked", ["moto", "moto.dynamodb.models"])
def test_the_demo_without_its_emulator_is_one_line_and_exit_2(blocked: str) -> None:
    # Given an interpreter in which moto (or one of the services the demo needs) cannot be imported
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_MOTO.format(blocked=blocked)], capture_output=True, text=True, timeout=120
    )
    # Then `gatekeeper demo` is bad usage: one line naming the extra, no traceback, nothing on stdout
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"pip install '{DEMO_EXTRA}'" in proc.stderr and blocked in proc.stderr


# ---------------------------------------------------------------- the built wheel, installed


def _closure(requirements: list[str], extras: set[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions `requirements` need, with their own requirements, recursively."""
    needed: dict[str, metadata.Distribution] = {}
    todo = [(Requirement(line), extras) for line in requirements]
    while todo:
        requirement, wanted = todo.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in wanted or {""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in needed:
            continue
        dist = metadata.distribution(requirement.name)
        assert dist.version in requirement.specifier or not requirement.specifier, (requirement, dist.version)
        needed[name] = dist
        todo += [(Requirement(line), set(requirement.extras)) for line in dist.requires or ()]
    return needed


def _link_into(site: Path, dist: metadata.Distribution) -> None:
    """Make `dist`'s installed files (not its scripts) appear in `site`, as pip would have put them."""
    for file in dist.files or ():
        if ".." in file.parts or file.parts[0] == "__pycache__" or "__pycache__" in file.parts:
            continue
        target = site / file
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(Path(dist.locate_file(file)).resolve())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from a copy of its sources with this environment's setuptools."""
    source = tmp_path_factory.mktemp("source")
    (source / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    shutil.copytree(ROOT / "layers", source / "layers", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (built,) = out.glob("upload_gatekeeper-*.whl")
    return built


def _wheel_requirements(wheel: Path) -> tuple[list[str], list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = email.parser.Parser().parsestr(archive.read(name).decode())
    return message.get_all("Requires-Dist") or [], message.get_all("Provides-Extra") or []


def _environment(tmp: Path, wheel: Path, extras: set[str]) -> Path:
    """A fresh venv with the wheel (and the extras) installed, nothing more; its bin directory."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (site,) = venv.glob("lib/python*/site-packages")
    requirements, _ = _wheel_requirements(wheel)
    for dist in _closure(requirements, extras).values():
        _link_into(site, dist)
    target = f"{wheel}[{','.join(sorted(extras))}]" if extras else str(wheel)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-deps",
         "--no-index", target],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return venv / "bin"


def _run(bin_dir: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run([str(bin_dir / "gatekeeper"), *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield _environment(tmp_path_factory.mktemp("plain"), wheel, set())


@pytest.mark.slow
def test_the_wheel_declares_the_demo_extra(wheel: Path) -> None:
    requirements, extras = _wheel_requirements(wheel)
    assert "demo" in extras
    (moto,) = [Requirement(line) for line in requirements if line.startswith("moto")]
    assert moto.marker is not None and moto.marker.evaluate({"extra": "demo"})
    assert not moto.marker.evaluate({"extra": ""})


@pytest.mark.slow
def test_the_installed_package_decides_but_its_demo_asks_for_the_extra(installed: Path, tmp_path: Path) -> None:
    # Given the wheel installed with its declared dependencies only (no moto)
    assert not list(installed.parent.glob("lib/python*/site-packages/moto"))
    # When a local file is decided, Then it works: the package declares what it imports
    track = tmp_path / "track.mp3"
    track.write_bytes(make_audio("mp3", tags={"label": "Acme Records"}))
    decided = _run(installed, tmp_path, "decide", str(track), "--meta", "terms-version=2025-05-14", "--json")
    assert decided.returncode == 0, decided.stderr
    assert '"CARVE_OUT:acme-records"' in decided.stdout
    # When the demo is run, Then it is bad usage in one line naming the extra, without a traceback
    demo = _run(installed, tmp_path, "demo")
    assert demo.returncode == 2, demo.stdout + demo.stderr
    assert demo.stderr.count("\n") == 1 and "Traceback" not in demo.stderr
    assert f"pip install '{DEMO_EXTRA}'" in demo.stderr


@pytest.mark.slow
def test_with_the_demo_extra_the_demo_runs(wheel: Path, tmp_path: Path) -> None:
    # Given the wheel installed with the demo extra
    bin_dir = _environment(tmp_path, wheel, {"demo"})
    # When the demo runs, Then it completes with every reason code shown
    demo = _run(bin_dir, tmp_path, "demo")
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "reason codes shown:" in demo.stdout and "(missing:" not in demo.stdout
