"""The template through the real tools: cfn-lint, `sam validate --lint`, `sam build`.

`sam build` runs without Docker and without python3.13 (BuildMethod: makefile); the
built handler is then imported and invoked by an isolated interpreter that sees
only what Lambda would: the function's code, the layer, and the libraries the
python3.13 runtime ships (boto3 and its dependencies).
"""

from __future__ import annotations

import importlib.util
import json
import os
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


def test_function_artifact_is_the_handler_only(built: Path) -> None:
    assert _files(built / "GatekeeperFunction") == {"app.py"}
    assert (built / "GatekeeperFunction" / "app.py").read_bytes() == (ROOT / "functions/gatekeeper/app.py").read_bytes()


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
"""


def test_built_handler_runs_on_the_layer_and_the_runtime_alone(built: Path, tmp_path: Path) -> None:
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
    env = function_environment(_built_stack(built, TracingMode="Active"))
    assert env["POWERTOOLS_TRACE_DISABLED"] == "false"
    env["POLICY_URI"] = str(layer / env["POLICY_URI"].removeprefix(LAYER_MOUNT))
    env.update(AWS_LAMBDA_FUNCTION_NAME="gatekeeper", AWS_DEFAULT_REGION="us-east-1", PATH=os.environ["PATH"])
    path = [str(built / "GatekeeperFunction"), str(layer), str(runtime)]

    # When an isolated interpreter (no site-packages) imports and invokes the built handler
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _INVOKE, json.dumps(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then the S3 test event is acknowledged
    assert result.returncode == 0, result.stderr
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("RESPONSE ")]
    assert json.loads(line.removeprefix("RESPONSE ")) == {"batchItemFailures": []}
