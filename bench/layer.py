"""Cold import on Lambda's terms: the built layer, with and without byte code.

Lambda mounts layers read-only under `/opt`, so Python cannot cache the byte code
of a layer that ships none: every cold start compiles every module it imports.
`python -m bench.layer` measures what that costs:

1. `sam build` of `template.yaml` into a temporary directory (no Docker);
2. the libraries the Lambda runtime provides (boto3 and its dependencies, copied
   from this environment) byte-compiled for the runtime's Python, as the runtime
   ships them;
3. isolated interpreters of that Python (`-I -B`: no site-packages, nothing
   written) import the handler from the built function and layer, once as built
   and once byte-compiled (`compileall --invalidation-mode unchecked-hash`: a
   deployment zip keeps no exact source timestamps); `import boto3` alone is the
   reference. Samples alternate; medians of CPU time, as in `bench.imports`.

The runtime's Python is `BENCH_LAMBDA_PYTHON` (default `python3.13`, the template's
runtime); it prints a table and writes JSON (`--output`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.imports import ROOT, Candidate, cold_imports, medians

SAM_CLI = ROOT / ".venv-sam" / "bin" / "sam"
#: What the Lambda Python runtime provides (import names).
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
ISOLATED = ("-I", "-B")
DEFAULT_REPEATS = 9


def sam_build(build_dir: Path) -> Path:
    """`sam build` into `build_dir`; returns it."""
    subprocess.run(
        [str(SAM_CLI), "build", "--template-file", str(ROOT / "template.yaml"), "--build-dir", str(build_dir)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return build_dir


def compile_tree(python: str, directory: Path) -> None:
    """Byte-compile every module under `directory` for `python`, valid without timestamps."""
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(directory)],
        check=True,
        capture_output=True,
    )


def runtime_libraries(python: str, target: Path) -> Path:
    """The runtime's libraries, copied from this environment and byte-compiled for `python`."""
    target.mkdir(parents=True)
    for name in RUNTIME_LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed here")
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, target / origin.parent.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, target / origin.name)
    compile_tree(python, target)
    return target


def candidates(python: str, build_dir: Path, scratch: Path) -> list[Candidate]:
    """`import boto3`, and the handler on the layer as built and on a byte-compiled copy of it."""
    runtime = str(runtime_libraries(python, scratch / "runtime"))
    compiled = scratch / "compiled"
    for part in ("GatekeeperFunction", "GatekeeperLayer"):
        shutil.copytree(build_dir / part, compiled / part)
    compile_tree(python, compiled)

    def handler(name: str, root: Path) -> Candidate:
        paths = (str(root / "GatekeeperFunction"), str(root / "GatekeeperLayer" / "python"), runtime)
        return Candidate(name, "import app", paths, python=python, flags=ISOLATED)

    return [
        Candidate("import boto3", "import boto3", (runtime,), python=python, flags=ISOLATED),
        handler("handler, layer as built", build_dir),
        handler("handler, layer byte-compiled", compiled),
    ]


def measure(python: str, repeats: int) -> dict[str, Any]:
    """Medians of every candidate, and each handler's ratio to `import boto3`."""
    with tempfile.TemporaryDirectory(prefix="gatekeeper-layer-") as scratch:
        build_dir = sam_build(Path(scratch) / "build")
        version = subprocess.run([python, "--version"], capture_output=True, text=True, check=True).stdout.strip()
        results = medians(cold_imports(repeats, candidates(python, build_dir, Path(scratch))))
    boto3_cpu = results["import boto3"].cpu_seconds
    return {
        "python": version,
        "repeats": repeats,
        "medians": {name: sample.__dict__ for name, sample in results.items()},
        "ratios": {name: sample.cpu_seconds / boto3_cpu for name, sample in results.items()},
    }


def render(document: dict[str, Any]) -> str:
    lines = [f"Cold import on {document['python']}, isolated, medians of {document['repeats']} (CPU ms, x import boto3)"]
    for name, sample in document["medians"].items():
        lines.append(f"  {name:32} {sample['cpu_seconds'] * 1000:6.0f}  {document['ratios'][name]:.2f}x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layer", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    document = measure(os.environ.get("BENCH_LAMBDA_PYTHON", "python3.13"), args.repeats)
    if args.output:
        args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(render(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
