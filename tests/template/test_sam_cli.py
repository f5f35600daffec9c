"""The template through the real tools: cfn-lint, `sam validate --lint`, `sam build`.

`sam build` runs without Docker and without python3.13 (BuildMethod: makefile); the
built handlers are then imported and invoked by an isolated interpreter that sees
only what Lambda would: the function's code, the gatekeeper layer, and the libraries
the python3.13 runtime ships (boto3 and its dependencies) — not the content-id
layer, which nothing imports unless the policy turns content_id on. Every function
with all its layers stays under Lambda's 250 MB unzipped, on either architecture.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from tests.template.cfn import LAYER_MOUNT, ROOT, TEMPLATE, Stack, function_environment, translate

pytestmark = pytest.mark.slow

SAM_CLI = os.environ.get("SAM_CLI") or str(ROOT / ".venv-sam" / "bin" / "sam")
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
#: What the Lambda Python runtime itself provides, importable without the layer.
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
#: What the layer must bring (import names).
LAYER_LIBRARIES = ("gatekeeper", "aws_lambda_powertools", "mutagen", "defusedxml", "stdnum", "aws_xray_sdk")
#: The functions of the template and their source directories.
FUNCTIONS = {"GatekeeperFunction": "gatekeeper", "ReevaluateFunction": "reevaluate", "ReferenceIndexFunction": "references"}
#: The content-id layer of each architecture, and the ELF machine of its native libraries.
CONTENT_ID_LAYERS = {"arm64": "ContentIdLayerArm64", "x86_64": "ContentIdLayerX8664"}
ELF_MACHINE = {"arm64": 0xB7, "x86_64": 0x3E}  # EM_AARCH64, EM_X86_64
#: Lambda's limit on a function's code and all its layers, unzipped (250 MB; MiB would allow 262,144,000 bytes).
UNZIPPED_LIMIT = 250_000_000


def _run(*command: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_cfn_lint_is_clean_including_informational_checks() -> None:
    result = _run(CFN_LINT, "--include-checks", "I", "--", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_is_clean() -> None:
    result = _run(SAM_CLI, "validate", "--lint", "--template-file", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` of the template into a fresh directory."""
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    result = _run(SAM_CLI, "build", "--template-file", str(TEMPLATE), "--build-dir", str(build_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    return build_dir


def _files(directory: Path) -> set[str]:
    return {
        str(path.relative_to(directory))
        for path in directory.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_function_artifact_is_the_handler_only(built: Path, function: str) -> None:
    assert _files(built / function) == {"app.py"}
    assert (built / function / "app.py").read_bytes() == (ROOT / "functions" / FUNCTIONS[function] / "app.py").read_bytes()


def _unzipped_size(directory: Path) -> int:
    """What Lambda counts of an artifact: the bytes of its files, as unzipped."""
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file() and not path.is_symlink())


def _elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    return int.from_bytes(header[18:20], "little") if header[:4] == b"\x7fELF" else None


@pytest.mark.parametrize("architecture", list(CONTENT_ID_LAYERS))
def test_content_id_layer_holds_numpy_and_pyav_built_for_its_architecture(built: Path, architecture: str) -> None:
    site = built / CONTENT_ID_LAYERS[architecture] / "python"
    # numpy and PyAV with the native libraries their wheels bundle (OpenBLAS, FFmpeg)
    for name in ("numpy", "numpy.libs", "av", "av.libs"):
        assert (site / name).is_dir(), name
    assert {p.name.split("-")[0] for p in site.glob("*.dist-info")} == {"numpy", "av"}
    # Every native library is for that architecture
    machines = {_elf_machine(p) for p in site.rglob("*.so*") if p.is_file()}
    assert machines == {ELF_MACHINE[architecture]}, machines
    # And nothing an import never reads: scripts, headers, numpy's own test suites
    assert not (site / "bin").exists() and not (site / "numpy" / "_core" / "include").exists()
    assert not [p for p in (site / "numpy").rglob("tests") if p.is_dir()]


@pytest.mark.parametrize("architecture", list(CONTENT_ID_LAYERS))
def test_every_function_with_all_its_layers_stays_under_250_mb_unzipped(built: Path, architecture: str) -> None:
    # Given the built template for that architecture: which layers each function gets
    stack = _built_stack(built, Architecture=architecture)
    sizes = {}
    for function in FUNCTIONS:
        layers = [layer.strip("${}") for layer in stack.properties(function)["Layers"]]
        # The build directory of a layer is its logical id, which the SAM transform suffixes with a hash
        directories = [
            next(d for d in ("GatekeeperLayer", *CONTENT_ID_LAYERS.values()) if layer.startswith(d)) for layer in layers
        ]
        assert directories == ["GatekeeperLayer", CONTENT_ID_LAYERS[architecture]], (function, directories)
        parts = {name: _unzipped_size(built / name) for name in (function, *directories)}
        sizes[function] = parts
        # Then code and layers together are under Lambda's limit
        assert sum(parts.values()) < UNZIPPED_LIMIT, (function, architecture, parts)
    print(f"unzipped bytes ({architecture}):", json.dumps(sizes))


def test_layer_holds_the_library_and_its_dependencies_but_not_the_runtimes(built: Path) -> None:
    site = built / "GatekeeperLayer" / "python"
    # The library, file for file
    source = ROOT / "layers" / "gatekeeper" / "gatekeeper"
    assert _files(site / "gatekeeper") == _files(source)
    # Its dependencies, importable by name
    for name in LAYER_LIBRARIES:
        assert (site / name).is_dir(), name
    # Nothing that would shadow the runtime's boto3/botocore, no scripts or man pages
    for name in ("boto3", "botocore", "bin", "share"):
        assert not (site / name).exists(), name


def test_layer_ships_byte_code_for_the_runtime_python_when_it_is_available(tmp_path: Path) -> None:
    # Given the layer's own build target, with an interpreter named as the runtime's
    # (here the test's own, standing in for python3.13, which this machine may lack)
    artifacts = tmp_path / "layer"
    artifacts.mkdir()
    result = _run(
        "make", "-C", str(ROOT / "layers" / "gatekeeper"), "build-GatekeeperLayer",
        f"ARTIFACTS_DIR={artifacts}", f"PYTHON={sys.executable}", f"PYTHON_RUNTIME={sys.executable}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Then the library and its dependencies carry byte code for that interpreter,
    # which Lambda could not write to the read-only /opt itself
    tag = sys.implementation.cache_tag
    for package in ("gatekeeper", "gatekeeper/tags", "mutagen", "aws_lambda_powertools"):
        assert list((artifacts / "python" / package / "__pycache__").glob(f"*.{tag}.pyc")), package


def _built_stack(built: Path, **parameters: str) -> Stack:
    """The template `sam build` wrote (code locations pointing into the build), translated."""
    template = yaml_parse((built / "template.yaml").read_text())
    resources = template["Resources"]
    assert resources["GatekeeperFunction"]["Properties"]["CodeUri"] == "GatekeeperFunction"
    assert resources["GatekeeperLayer"]["Properties"]["ContentUri"] == "GatekeeperLayer"
    for layer in CONTENT_ID_LAYERS.values():
        assert resources[layer]["Properties"]["ContentUri"] == layer
    return Stack(translate(template), parameters, physical={"FlagsTable": {"Ref": "gatekeeper-flags"}})


def test_default_policy_path_exists_in_the_built_layer(built: Path) -> None:
    policy_uri = function_environment(_built_stack(built))["POLICY_URI"]
    assert policy_uri.startswith(LAYER_MOUNT)
    assert (built / "GatekeeperLayer" / "python" / policy_uri.removeprefix(LAYER_MOUNT)).is_file()


_INVOKE = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import app

class Context:
    function_name = "gatekeeper"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:gatekeeper"
    aws_request_id = "smoke"
    def get_remaining_time_in_millis(self):
        return 60_000

body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "uploads"})
event = {"Records": [{"messageId": "m-1", "receiptHandle": "r", "body": body, "attributes": {},
                      "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                      "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:uploads", "awsRegion": "us-east-1"}]}
print("RESPONSE " + json.dumps(app.lambda_handler(event, Context())))
print("IMPORTED " + json.dumps(sorted({"numpy", "av"} & {name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.parametrize("function", ["GatekeeperFunction", "ReferenceIndexFunction"])
def test_built_handler_runs_on_the_layer_and_the_runtime_alone(built: Path, tmp_path: Path, function: str) -> None:
    # Given a directory holding only the libraries the Lambda runtime provides
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in RUNTIME_LIBRARIES:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin, name
        origin = Path(spec.origin)
        (runtime / (origin.parent.name if origin.name == "__init__.py" else origin.name)).symlink_to(
            origin.parent if origin.name == "__init__.py" else origin
        )
    # And the function's environment from the template with tracing Active (the X-Ray SDK in the layer loads)
    layer = built / "GatekeeperLayer" / "python"
    env = function_environment(_built_stack(built, TracingMode="Active"), function)
    assert env["POWERTOOLS_TRACE_DISABLED"] == "false"
    env["POLICY_URI"] = str(layer / env["POLICY_URI"].removeprefix(LAYER_MOUNT))
    env.update(AWS_LAMBDA_FUNCTION_NAME="gatekeeper", AWS_DEFAULT_REGION="us-east-1", PATH=os.environ["PATH"])
    # (without the content-id layer: the function must not need it while content_id is off)
    path = [str(built / function), str(layer), str(runtime)]

    # When an isolated interpreter (no site-packages) imports and invokes the built handler
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _INVOKE, json.dumps(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then the S3 test event is acknowledged, and neither numpy nor PyAV was imported
    assert result.returncode == 0, result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("RESPONSE ")]
    assert json.loads(line.removeprefix("RESPONSE ")) == {"batchItemFailures": []}
    (imported,) = [ln for ln in result.stdout.splitlines() if ln.startswith("IMPORTED ")]
    assert json.loads(imported.removeprefix("IMPORTED ")) == []


def _runtime_python() -> str | None:
    """The CPython 3.13 that `PYTHON_RUNTIME` names (as the layers' Makefiles take it), if it runs here."""
    candidate = os.environ.get("PYTHON_RUNTIME", "").strip()
    if not candidate:
        return None
    probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    return candidate if probe.returncode == 0 and probe.stdout.strip() == "(3, 13)" else None


_DECODE = """
import io, json, sys
sys.path[:0] = json.loads(sys.argv[1])
import av, numpy as np

tone = (np.sin(np.arange(16000) / 7) * 8000).astype(np.int16).reshape(1, -1)
encoded = io.BytesIO()
with av.open(encoded, "w", format="wav") as container:
    stream = container.add_stream("pcm_s16le", rate=16000, layout="mono")
    frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
    frame.sample_rate = 16000
    for packet in [*stream.encode(frame), *stream.encode(None)]:
        container.mux(packet)
encoded.seek(0)
with av.open(encoded) as container:
    decoded = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
print("DECODED " + json.dumps([np.__version__, av.__version__, int(decoded.shape[1]), bool((decoded == tone).all())]))
"""


def test_content_id_layer_imports_and_decodes_on_the_runtime_python(built: Path) -> None:
    # Given a CPython 3.13 of this machine's architecture, standing in for the runtime's
    python = _runtime_python()
    architecture = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    if python is None or architecture is None:
        pytest.skip("no CPython 3.13 given to load the layer's cp313 wheels (PYTHON_RUNTIME=/path/to/python3.13)")
    layer = built / CONTENT_ID_LAYERS[architecture] / "python"
    # When an isolated interpreter that sees only that layer encodes a tone with PyAV and decodes it into numpy
    result = subprocess.run([python, "-I", "-S", "-c", _DECODE, json.dumps([str(layer)])], capture_output=True, text=True, timeout=120)
    # Then it comes back sample for sample, with the pinned releases
    assert result.returncode == 0, result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("DECODED ")]
    pins = dict(ln.split("==") for ln in (ROOT / "layers/content-id/requirements.txt").read_text().splitlines() if "==" in ln)
    assert json.loads(line.removeprefix("DECODED ")) == [pins["numpy"], pins["av"], 16000, True]
