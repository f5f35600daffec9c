"""Lean when off: nothing but the content-id packages imports numpy or av, and the
fingerprint package is pure (numpy and a few standard modules, no I/O)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import gatekeeper

PACKAGE = Path(gatekeeper.__file__).resolve().parent


def _loaded(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_gatekeeper_without_content_id_imports_neither_numpy_nor_av() -> None:
    # When the decision path's modules are imported in a fresh interpreter
    loaded = _loaded("import gatekeeper.service, gatekeeper.tags, gatekeeper.logic.decision, gatekeeper.events, gatekeeper.dal")
    # Then neither numpy nor av is loaded
    assert {"gatekeeper.service", "gatekeeper.tags"} <= loaded
    assert not {m for m in loaded if m.split(".")[0] in {"numpy", "av"}}


def test_the_fingerprint_package_loads_numpy_only_and_the_decoder_loads_av() -> None:
    fingerprint = _loaded("import gatekeeper.fingerprint")
    assert "numpy" in fingerprint
    assert not {m for m in fingerprint if m.split(".")[0] in {"av", "boto3", "botocore", "socket", "urllib3"}}
    audio = _loaded("import gatekeeper.audio")
    assert {"av", "numpy", "gatekeeper.fingerprint"} <= audio
    assert not {m for m in audio if m.split(".")[0] in {"boto3", "botocore"}}


ALLOWED = {"__future__", "collections", "dataclasses", "math", "struct", "zlib", "numpy", "gatekeeper"}


def test_the_fingerprint_package_source_is_pure() -> None:
    # Every module of gatekeeper.fingerprint imports only numpy, itself and pure standard modules,
    # and calls no open()
    for path in sorted((PACKAGE / "fingerprint").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    assert node.func.id != "open", f"{path.name}: open()"
                continue
            for name in names:
                root = name.split(".")[0]
                assert root in ALLOWED, f"{path.name} imports {name}"
                if root == "gatekeeper":
                    assert name.startswith("gatekeeper.fingerprint"), f"{path.name} imports {name}"
