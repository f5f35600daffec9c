"""Cold import time of the Lambda handler module against `import boto3` alone.

Each sample is a fresh interpreter that times one import and prints its CPU
seconds (`process_time`) and wall seconds (`perf_counter`); interpreter start-up
is excluded and byte-code caches are warm: this is a Lambda whose layer ships
byte code (Lambda cannot write it to the read-only `/opt`; a layer without it
compiles every module at each cold start, see docs/performance.md). Imports are CPU
work, so CPU time is the figure compared: on this shared machine wall time also
counts the time other processes held the core. Samples of the candidates
alternate so what noise remains hits them alike; medians are reported. The handler is imported as Lambda does it: its
directory on `sys.path`, module `app`, with the environment the template sets.
Tracing on and off are measured separately: Powertools' Tracer loads the X-Ray SDK
only when tracing is on.

`import_profile` runs `python -X importtime` once and sums the self time of each
top-level package, to say where an import's time goes. `import_stages` says it
in CPU time: cumulative imports of the handler's modules, group by group
(`STAGES`), each timed like the candidates; a group costs the difference of the
medians of its stage and the stage before.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLER_DIR = ROOT / "functions" / "gatekeeper"
DEFAULT_POLICY = ROOT / "layers" / "gatekeeper" / "gatekeeper" / "data" / "default-policy.json"

_TIMED_IMPORT = (
    "import sys, time; sys.path[:0] = {paths!r}; c, w = time.process_time(), time.perf_counter(); "
    "{statement}; print(time.process_time() - c, time.perf_counter() - w)"
)
#: Prints every module the handler's import loads, in the order they were loaded.
_LIST_MODULES = "import sys; sys.path[:0] = {paths!r}; before = set(sys.modules); import app; " + (
    "print(*(name for name in sys.modules if name not in before))"
)


@dataclass(frozen=True)
class Sample:
    cpu_seconds: float
    wall_seconds: float


@dataclass(frozen=True)
class Candidate:
    name: str
    statement: str  # the import statement timed
    paths: tuple[str, ...] = (str(HANDLER_DIR),)  # put first on sys.path
    tracing: bool = False
    python: str = sys.executable
    flags: tuple[str, ...] = ()  # interpreter options


BOTO3 = Candidate("import boto3", "import boto3", (str(ROOT),))
HANDLER = Candidate("handler (tracing off)", "import app")
HANDLER_TRACED = Candidate("handler (tracing on)", "import app", tracing=True)
#: The handler as it imported before container readers were loaded by content: every
#: reader (mutagen's format modules and ours) at import. Also what SnapStart's priming
#: loads before the snapshot, so a restored function never pays it.
HANDLER_EAGER = Candidate(
    "handler + every format reader (eager, as before)", "import app; from gatekeeper.tags import kinds; kinds.load_all()"
)
CANDIDATES = (BOTO3, HANDLER, HANDLER_TRACED, HANDLER_EAGER)


def _powertools(*packages: str) -> Callable[[str], bool]:
    return {f"aws_lambda_powertools.{package}" for package in packages}.__contains__


#: The handler's imports in groups, in the order `import_stages` adds them; each
#: group is the handler's modules for which its test holds (a package's import pulls
#: in what it needs). Powertools' batch utility imports every data class itself.
STAGES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("boto3 + botocore", lambda module: module == "boto3"),
    ("Powertools Logger, Metrics", _powertools("logging", "metrics")),
    ("Powertools data classes", _powertools("utilities.data_classes")),
    ("Powertools batch (asyncio)", _powertools("utilities.batch")),
    ("other libraries and stdlib", lambda module: module.split(".")[0] not in ("app", "gatekeeper")),
    ("the gatekeeper's modules, app.py", lambda module: True),
)


def lambda_environment(*, tracing: bool) -> dict[str, str]:
    """The variables template.yaml gives the function, pointed at nothing real.

    Byte code may be written (the warm-up run caches it), whatever the caller's
    `PYTHONDONTWRITEBYTECODE`: the samples time a layer that ships it.
    """
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "us-east-1"),
            "POWERTOOLS_SERVICE_NAME": "gatekeeper",
            "POWERTOOLS_METRICS_NAMESPACE": "UploadGatekeeper",
            "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
            "FLAGS_TABLE_NAME": "gatekeeper-bench-flags",
            "POLICY_URI": str(DEFAULT_POLICY),
        }
    )
    return env


def _run(candidate: Candidate, *flags: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    code = code or _TIMED_IMPORT.format(paths=list(candidate.paths), statement=candidate.statement)
    return subprocess.run(
        [candidate.python, *candidate.flags, *flags, "-c", code],
        env=lambda_environment(tracing=candidate.tracing),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )


def import_sample(candidate: Candidate) -> Sample:
    cpu, wall = _run(candidate).stdout.split()[-2:]
    return Sample(float(cpu), float(wall))


def cold_imports(repeats: int, candidates: Sequence[Candidate] = CANDIDATES) -> dict[str, list[Sample]]:
    """`repeats` alternating samples of every candidate (after one warm-up each)."""
    samples: dict[str, list[Sample]] = {c.name: [] for c in candidates}
    for candidate in candidates:
        import_sample(candidate)  # byte-code caches and page cache warm
    for _ in range(repeats):
        for candidate in candidates:
            samples[candidate.name].append(import_sample(candidate))
    return samples


def handler_modules() -> list[str]:
    """Every module importing the handler loads (tracing off), in load order."""
    return _run(HANDLER, code=_LIST_MODULES.format(paths=list(HANDLER.paths))).stdout.split()


def stage_candidates(modules: Sequence[str]) -> list[Candidate]:
    """One candidate per stage: the handler's modules of that group and every group before it."""
    candidates, wanted = [], []
    for name, in_group in STAGES:
        wanted += [module for module in modules if in_group(module) and module not in wanted]
        candidates.append(Candidate(name, "import " + ", ".join(wanted)))
    return candidates


def import_stages(repeats: int) -> list[tuple[str, float]]:
    """CPU seconds each group of the handler's imports adds (medians of cumulative stages)."""
    stages = stage_candidates(handler_modules())
    cumulative = medians(cold_imports(repeats, stages))
    costs, before = [], 0.0
    for stage in stages:
        costs.append((stage.name, cumulative[stage.name].cpu_seconds - before))
        before = cumulative[stage.name].cpu_seconds
    return costs


def medians(samples: dict[str, list[Sample]]) -> dict[str, Sample]:
    return {
        name: Sample(
            statistics.median(s.cpu_seconds for s in values),
            statistics.median(s.wall_seconds for s in values),
        )
        for name, values in samples.items()
    }


def import_profile(candidate: Candidate, top: int = 8) -> list[tuple[str, float]]:
    """Self time per top-level package of one import, largest first (seconds)."""
    stderr = _run(candidate, "-X", "importtime").stderr
    totals: defaultdict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        totals[name.split(".")[0]] += int(self_us) / 1e6
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)[:top]
