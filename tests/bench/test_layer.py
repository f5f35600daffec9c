"""The built-layer cold-import measurement (`python -m bench.layer`), run small."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from bench.layer import compile_tree, measure, runtime_libraries

UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


def _pyc_flags(pyc: Path) -> int:
    return struct.unpack("<I", pyc.read_bytes()[4:8])[0]


def test_compiled_byte_code_does_not_depend_on_source_timestamps(tmp_path: Path) -> None:
    # Given a package of two modules
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "mod.py").write_text("def f():\n    return 2\n")
    # When it is compiled as the layer would be
    compile_tree(sys.executable, tmp_path)
    # Then every module has byte code that is used whatever the source's timestamp
    pycs = sorted((package / "__pycache__").glob("*.pyc"))
    assert [pyc.name.split(".")[0] for pyc in pycs] == ["__init__", "mod"]
    assert {_pyc_flags(pyc) for pyc in pycs} == {UNCHECKED_HASH}


def test_runtime_libraries_are_copied_with_fresh_byte_code(tmp_path: Path) -> None:
    # When the runtime's libraries are laid out for this interpreter
    target = runtime_libraries(sys.executable, tmp_path / "runtime")
    # Then boto3 and botocore are there, compiled for it and for no other version
    tag = sys.implementation.cache_tag
    assert (target / "boto3" / "__pycache__" / f"__init__.{tag}.pyc").is_file()
    assert (target / "botocore" / "__pycache__" / f"session.{tag}.pyc").is_file()
    assert {pyc.name.split(".")[1] for pyc in (target / "boto3").rglob("*.pyc")} == {tag}


@pytest.mark.slow
def test_measure_times_boto3_and_the_handler_on_the_built_layer() -> None:
    # When the measurement runs once with this interpreter standing in for the runtime's
    document = measure(sys.executable, repeats=1)
    # Then it timed import boto3 and the handler on the layer as built and byte-compiled
    assert list(document["medians"]) == ["import boto3", "handler, layer as built", "handler, layer byte-compiled"]
    assert document["python"] == f"Python {sys.version.split()[0]}"
    assert document["ratios"]["import boto3"] == 1.0
    assert all(sample["cpu_seconds"] > 0 for sample in document["medians"].values())
