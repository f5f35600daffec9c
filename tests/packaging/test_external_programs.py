"""Every external program the tests and benches run is installed by `make test` on a fresh machine.

The programs are collected statically (AST) from every Python file under `tests/`
and `bench/`: `shutil.which(<name>)`, `subprocess.run/call/check_call/check_output/
Popen([...])` whose first element is a literal or a module-level constant, and calls
of wrappers of those (`run_tool("ffmpeg", ...)`: a function passing its `*args` to
subprocess as the command). Each must be

- declared by a `scripts/install-*.sh` in its `PROGRAMS=( command=package ... )`
  array (any number of such scripts: a bench needing `ip`/`tc` adds `ip=iproute2`
  to one), or
- a tool of a virtual environment the Makefile builds (checked against the
  requirements file that installs it), or
- a prerequisite of the README's quickstart (`PREREQUISITES`, short on purpose).

The install script itself is run for real: with a command missing from `PATH` it
names that command's package, and with everything present it does nothing.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tests", "bench")
INSTALL_SCRIPTS = sorted((ROOT / "scripts").glob("install-*.sh"))
AUDIO_TOOLS = ROOT / "scripts" / "install-audio-tools.sh"
SUBPROCESS_FUNCTIONS = {"run", "call", "check_call", "check_output", "Popen"}

#: program -> (requirements file the Makefile installs into a venv, the distribution providing it)
VENV_TOOLS = {
    "gatekeeper": ("pyproject.toml", "upload-gatekeeper"),  # the project's own entry point, in .venv
    "cfn-lint": ("requirements-dev.txt", "cfn-lint"),  # .venv
    "sam": ("requirements-sam.txt", "aws-sam-cli"),  # .venv-sam
    "checkov": ("requirements-checkov.txt", "checkov"),  # .venv-checkov
}
#: What the README's quickstart presumes besides Python 3.11: `make` runs `make test` itself.
PREREQUISITES = {"make"}
#: The repository's own scripts, run from the checkout.
OWN_SCRIPTS = {path.name for path in (ROOT / "scripts").iterdir() if path.is_file()}


# ---------------------------------------------------------------- collecting the programs


@dataclass
class Programs:
    """Program name -> where it is run (file:line)."""

    found: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, where: str) -> None:
        self.found[name].append(where)


def _program_name(text: str) -> str:
    return Path(text).name


def _tail(expr: ast.expr) -> str | None:
    """The program a path expression ends in: `"x"`, `ROOT / "bin" / "x"`, `str(...)`, `env or fallback`."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return _program_name(expr.value)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return _tail(expr.right)
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
        return _tail(expr.values[-1])
    if isinstance(expr, ast.Call) and len(expr.args) == 1 and ast.unparse(expr.func) in ("str", "Path", "os.fspath"):
        return _tail(expr.args[0])
    return None


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to a program path (`SAM = ROOT / "bin" / "sam"`, `X = os.environ.get(..) or "x"`)."""
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if (name := _tail(node.value)) is not None:
                constants[node.targets[0].id] = name
    return constants


def _unwrap(node: ast.expr) -> ast.expr:
    """`str(x)`, `os.fspath(x)` -> `x`."""
    while isinstance(node, ast.Call) and len(node.args) == 1 and ast.unparse(node.func) in ("str", "os.fspath"):
        node = node.args[0]
    return node


def _program_of(node: ast.expr, constants: dict[str, str]) -> str | None:
    node = _unwrap(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _program_name(node.value)
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return None  # computed at run time (sys.executable, a path found with shutil.which, ...)


def _is_subprocess_call(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr in SUBPROCESS_FUNCTIONS and ast.unparse(func.value) == "subprocess"


def _passes_varargs(command: ast.expr, vararg: str) -> bool:
    """Whether a subprocess command is built from the function's `*vararg` (first element included)."""
    if isinstance(command, ast.Name):
        return command.id == vararg
    if isinstance(command, ast.List | ast.Tuple) and command.elts:
        first = command.elts[0]
        return isinstance(first, ast.Starred) and isinstance(first.value, ast.Name) and first.value.id == vararg
    if isinstance(command, ast.ListComp):
        return any(isinstance(g.iter, ast.Name) and g.iter.id == vararg for g in command.generators)
    return False


def _wrappers(tree: ast.Module) -> set[str]:
    """Functions of the module that run their `*args` as a command."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.args.vararg is not None:
            vararg = node.args.vararg.arg
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and _is_subprocess_call(call) and call.args:
                    if _passes_varargs(call.args[0], vararg):
                        found.add(node.name)
    return found


def _module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


def collect(root: Path = ROOT, directories: tuple[str, ...] = SCANNED) -> Programs:
    files = sorted(p for d in directories for p in (root / d).rglob("*.py"))
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for path in files}
    wrappers_by_module = {_module_name(path, root): _wrappers(tree) for path, tree in trees.items()}
    programs = Programs()
    for path, tree in trees.items():
        constants = _constants(tree)
        wrappers = set(wrappers_by_module[_module_name(path, root)])
        for node in tree.body:  # wrappers imported from another scanned module
            if isinstance(node, ast.ImportFrom) and node.module in wrappers_by_module:
                wrappers |= {a.asname or a.name for a in node.names if a.name in wrappers_by_module[node.module]}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            first = node.args[0]
            if ast.unparse(node.func) in ("shutil.which", "which"):
                name = _program_of(first, constants)
            elif _is_subprocess_call(node) and isinstance(first, ast.List | ast.Tuple) and first.elts:
                name = _program_of(first.elts[0], constants)
            elif isinstance(node.func, ast.Name) and node.func.id in wrappers:
                name = _program_of(first, constants)
            else:
                continue
            if name:
                programs.add(name, where)
    return programs


# ---------------------------------------------------------------- what provides them


_PROGRAMS_ARRAY = re.compile(r"^PROGRAMS=\((.*?)^\)", re.DOTALL | re.MULTILINE)


def declared_programs(script: Path) -> dict[str, str]:
    """command -> Debian package, from the script's `PROGRAMS=( command=package ... )` (none if it has no such array)."""
    match = _PROGRAMS_ARRAY.search(script.read_text(encoding="utf-8"))
    if not match:
        return {}
    pairs = {}
    for line in match[1].splitlines():
        for word in line.split("#", 1)[0].split():
            command, sep, package = word.partition("=")
            assert sep and command and package, f"{script.name}: {word!r} is not command=package"
            pairs[command] = package
    return pairs


def provided_by_scripts() -> dict[str, str]:
    provided = {}
    for script in INSTALL_SCRIPTS:
        provided.update(declared_programs(script))
    return provided


def _requirement_names(path: Path) -> set[str]:
    if path.name == "pyproject.toml":
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
        return {project["name"]} if project.get("scripts") else set()
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower())
    return names


# ---------------------------------------------------------------- the tests


def test_the_collector_finds_literals_constants_and_wrappers(tmp_path: Path) -> None:
    # Given sources that run programs in each way the tests do (and some computed ones it cannot name)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "helpers.py").write_text(
        "import subprocess\n"
        "def run_tool(*argv):\n    subprocess.run(argv, check=True)\n"
        "def _run(*command):\n    subprocess.run([str(part) for part in command])\n"
    )
    (tmp_path / "tests" / "test_x.py").write_text(
        "import shutil, subprocess, sys\n"
        "from pathlib import Path\n"
        "from tests.helpers import run_tool\n"
        'TOOL = str(Path(sys.executable).parent / "cfn-lint")\n'
        'def test():\n    assert shutil.which("exiftool")\n'
        '    subprocess.run(["ffmpeg", "-i", "x"])\n'
        "    subprocess.Popen((TOOL, '--version'))\n"
        '    run_tool("kid3-cli", "-c", "x")\n'
        "    subprocess.run([sys.executable, '-m', 'pip'])\n"
        "    subprocess.check_output(['/usr/bin/tc', 'qdisc'])\n"
        "SAM = os.environ.get('SAM_CLI') or str(ROOT / '.venv-sam' / 'bin' / 'sam')\n"
        "def test_sam():\n    subprocess.run([SAM, 'build'])\n"
    )
    (tmp_path / "bench").mkdir()
    # Then each literal, constant and wrapped program is found, with where
    found = collect(tmp_path).found
    assert set(found) == {"exiftool", "ffmpeg", "cfn-lint", "kid3-cli", "tc", "sam"}
    assert found["kid3-cli"] == ["tests/test_x.py:9"]


def test_every_program_the_tests_run_is_installed_by_make_test() -> None:
    # Given every external program a test or a bench runs
    programs = collect().found
    assert {"ffmpeg", "exiftool", "exempi", "metaflac", "sam"} <= set(programs)  # the collector sees them
    # Then each is declared by an install script, a venv tool, or a prerequisite
    provided = provided_by_scripts()
    unprovided = {
        name: places for name, places in programs.items()
        if name not in provided and name not in VENV_TOOLS and name not in PREREQUISITES and name not in OWN_SCRIPTS
    }  # fmt: skip
    assert not unprovided, f"add command=package to a scripts/install-*.sh PROGRAMS array: {unprovided}"


def test_venv_tools_come_from_the_requirements_the_makefile_installs() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for program, (requirements, distribution) in VENV_TOOLS.items():
        assert requirements in makefile or requirements == "pyproject.toml", program
        assert distribution in _requirement_names(ROOT / requirements), (program, requirements)


def test_the_audio_tools_script_declares_only_programs_the_tests_run() -> None:
    declared = declared_programs(AUDIO_TOOLS)
    assert declared["exiftool"] == "libimage-exiftool-perl"
    assert set(declared) <= set(collect().found), set(declared) - set(collect().found)


def _path_without(tmp_path: Path, absent: str) -> str:
    """A PATH holding the script's needs and every declared program but `absent`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ["bash", "sort", "id", *declared_programs(AUDIO_TOOLS)]:
        if name == absent:
            continue
        found = shutil.which(name)
        assert found, f"{name} is not installed: run scripts/install-audio-tools.sh (make test does)"
        (bin_dir / name).symlink_to(found)
    return str(bin_dir)


def _script(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run([str(AUDIO_TOOLS), *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize(("absent", "package"), [("exiftool", "libimage-exiftool-perl"), ("metaflac", "flac")])
def test_a_missing_command_is_installed_from_its_package(tmp_path: Path, absent: str, package: str) -> None:
    # Given a PATH on which one declared command is missing
    # When the script is asked what it would install, Then it is exactly that command's package
    proc = _script("--dry-run", path=_path_without(tmp_path, absent))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [package]


def test_with_every_command_present_the_script_does_nothing() -> None:
    # Given this machine after `make test` installed the tools
    assert _script("--dry-run").stdout == ""
    # When the script runs for real, Then it succeeds without a word (no apt-get at all)
    proc = _script()
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def _declared_in(scripts: list[Path]) -> Iterator[tuple[str, str]]:
    for script in scripts:
        yield from declared_programs(script).items()


def test_no_two_scripts_declare_a_command_differently() -> None:
    packages: dict[str, set[str]] = defaultdict(set)
    for command, package in _declared_in(INSTALL_SCRIPTS):
        packages[command].add(package)
    assert {command: p for command, p in packages.items() if len(p) > 1} == {}
