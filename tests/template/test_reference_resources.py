"""The reference catalogue's resources (issue 11): fingerprint table, reference bucket and queue, indexing
function, S3 Batch Operations role, and the content-id layer per architecture."""

from __future__ import annotations

import re
import subprocess
import tomllib
from typing import Any

import pytest
from packaging.requirements import Requirement

from gatekeeper.catalogue import REFERENCE_PREFIX
from gatekeeper.dal.fingerprint_index import table_schema
from tests.template.cfn import ROOT, Stack, assert_private_versioned_bucket, load_template

#: Longest region names in use (us-isof-south-1 is 15 characters); a bucket name may not exceed 63.
LONG_REGIONS = ("ap-southeast-5", "ap-northeast-3", "us-gov-west-1", "us-isof-south-1")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
FUNCTIONS = ("GatekeeperFunction", "ReevaluateFunction", "ReferenceIndexFunction")
CONTENT_ID_LAYERS = {"arm64": "ContentIdLayerArm64", "x86_64": "ContentIdLayerX8664"}
#: Lambda's architecture -> the manylinux platform its wheels are built for.
WHEEL_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}
LAYER_DIR = ROOT / "layers" / "content-id"
MANIFESTS = "operator-reference-manifests"


# ---------------------------------------------------------------- fingerprint table


@pytest.mark.parametrize("protection", ["true", "false"])
def test_fingerprint_table_is_the_index_schema_on_demand_encrypted_and_protected(
    translated: dict[str, Any], protection: str
) -> None:
    table = Stack(translated, {"TableDeletionProtection": protection}).properties("FingerprintTable")
    # Keys and billing are exactly what the index adapter creates (`gatekeeper catalogue init`) and queries
    schema = table_schema()
    assert set(schema) == {"AttributeDefinitions", "KeySchema", "BillingMode"}
    for name, value in schema.items():
        assert table[name] == value, name
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    # Nothing the adapter does not use: no index, no stream, no TTL
    assert not {"GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification", "TimeToLiveSpecification"} & set(table)
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionProtectionEnabled"] == protection


# ---------------------------------------------------------------- reference bucket


def test_reference_bucket_is_private_encrypted_versioned_owner_enforced_and_logged(translated: dict[str, Any], stack: Stack) -> None:
    bucket = stack.properties("ReferenceBucket")
    rule = assert_private_versioned_bucket(bucket)
    assert rule == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    # Its server access logs go to the stack's log bucket, under a prefix of their own
    assert bucket["LoggingConfiguration"] == {"DestinationBucketName": "${AccessLogBucket}", "LogFilePrefix": "reference-bucket/"}
    # And no lifecycle rule removes references or their versions (a removal would unindex one)
    for rule in bucket["LifecycleConfiguration"]["Rules"]:
        assert set(rule) <= {"Id", "Status", "AbortIncompleteMultipartUpload"}, rule
    # And it waits for the queue policy S3 checks and for the log bucket's policy
    assert translated["Resources"]["ReferenceBucket"]["DependsOn"] == ["ReferenceQueuePolicy", "AccessLogBucketPolicy"]


def test_reference_bucket_notifies_its_queue_of_puts_and_removals_under_references_only(stack: Stack) -> None:
    # Given the bucket's notification configuration
    notifications = stack.properties("ReferenceBucket")["NotificationConfiguration"]
    assert set(notifications) == {"QueueConfigurations"}
    # Then creations, removals and lifecycle expirations go to the reference queue...
    configurations = notifications["QueueConfigurations"]
    assert {(n["Event"], n["Queue"]) for n in configurations} == {
        ("s3:ObjectCreated:*", "${ReferenceQueue.Arn}"),
        ("s3:ObjectRemoved:*", "${ReferenceQueue.Arn}"),
        ("s3:LifecycleExpiration:*", "${ReferenceQueue.Arn}"),
    }
    # ...each only for keys under the prefix the catalogue reads references from
    assert REFERENCE_PREFIX == "references/"
    for configuration in configurations:
        assert configuration["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": REFERENCE_PREFIX}]}}


@pytest.mark.parametrize("region", LONG_REGIONS)
def test_reference_bucket_name_is_valid_in_every_region(translated: dict[str, Any], region: str) -> None:
    pseudo = {**Stack(translated).pseudo, "AWS::Region": region}
    name = Stack(translated, pseudo=pseudo).properties("ReferenceBucket")["BucketName"]
    assert BUCKET_NAME.match(name), name
    assert len(name) <= 63, (len(name), name)


# ---------------------------------------------------------------- queue


def test_reference_queue_is_encrypted_redrives_to_its_dead_letter_queue_and_outlasts_six_timeouts(
    translated: dict[str, Any],
) -> None:
    stack = Stack(translated, {"MaxReceiveCount": "7"})
    queue, dlq = stack.properties("ReferenceQueue"), stack.properties("ReferenceDeadLetterQueue")
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": "${ReferenceDeadLetterQueue.Arn}", "maxReceiveCount": "7"}
    # A message stays hidden while six invocations of the indexing function could run (one message each, no window)
    function = stack.properties("ReferenceIndexFunction")
    assert function["Timeout"] == 900
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    # Failed references are kept 14 days (the maximum) for the operator to redrive, and none expires unindexed sooner
    assert dlq["MessageRetentionPeriod"] == queue["MessageRetentionPeriod"] == 1209600
    assert translated["Resources"]["ReferenceQueue"]["DeletionPolicy"] == "Delete"


# ---------------------------------------------------------------- indexing function


def _mapping(stack: Stack) -> dict[str, Any]:
    (mapping,) = [
        m["Properties"]
        for m in stack.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == "${ReferenceQueue.Arn}"
    ]
    return mapping


def test_indexing_function_reads_one_reference_per_invocation_with_per_message_failures(stack: Stack) -> None:
    mapping = _mapping(stack)
    assert mapping["FunctionName"] == "${ReferenceIndexFunction}"
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.get("MaximumBatchingWindowInSeconds", 0) == 0
    assert "ScalingConfig" not in mapping


def test_indexing_function_has_its_code_role_log_group_and_room_to_decode(translated: dict[str, Any], stack: Stack) -> None:
    sam = load_template()["Resources"]["ReferenceIndexFunction"]
    assert sam["Metadata"]["BuildMethod"] == "makefile"
    assert sam["Properties"]["CodeUri"] == "functions/references"
    function = stack.properties("ReferenceIndexFunction")
    assert (function["Handler"], function["Runtime"], function["Role"]) == (
        "app.lambda_handler",
        "python3.13",
        "${ReferenceIndexFunctionRole.Arn}",
    )
    assert function["LoggingConfig"] == {"LogGroup": "${ReferenceIndexLogGroup}"}
    assert stack.properties("ReferenceIndexLogGroup")["LogGroupName"] == "/aws/lambda/upload-gatekeeper-references"
    # Whole recordings: 3008 MB and 2 GB of /tmp by default, both parameters; 15 minutes; no SnapStart
    assert (function["MemorySize"], function["EphemeralStorage"], function["Timeout"]) == ("3008", {"Size": "2048"}, 900)
    assert "SnapStart" not in function and "ReservedConcurrentExecutions" not in function
    sized = Stack(translated, {"ReferenceFunctionMemorySize": "4096", "ReferenceFunctionTmpStorage": "10240"})
    assert sized.properties("ReferenceIndexFunction")["MemorySize"] == "4096"
    assert sized.properties("ReferenceIndexFunction")["EphemeralStorage"] == {"Size": "10240"}
    # The upload function keeps its own memory size
    assert sized.properties("GatekeeperFunction")["MemorySize"] == "512"


def test_reference_concurrency_reserves_and_caps_the_poller(translated: dict[str, Any]) -> None:
    stack = Stack(translated, {"ReferenceIndexConcurrency": "4"})
    assert stack.properties("ReferenceIndexFunction")["ReservedConcurrentExecutions"] == "4"
    assert _mapping(stack)["ScalingConfig"] == {"MaximumConcurrency": "4"}
    # The upload function's reservation is its own parameter
    assert "ReservedConcurrentExecutions" not in stack.properties("GatekeeperFunction")


# ---------------------------------------------------------------- S3 Batch Operations


def test_reference_batch_role_exists_only_with_a_manifest_bucket_and_invokes_the_indexer(translated: dict[str, Any]) -> None:
    outputs = translated["Outputs"]
    plain = Stack(translated)
    assert "ReferenceBatchRole" not in plain.resources("AWS::IAM::Role")
    assert not plain.condition(outputs["ReferenceBatchRoleArn"]["Condition"])
    stack = Stack(translated, {"ReferenceManifestBucket": MANIFESTS, "ReferenceReportPrefix": "reports/refs"})
    role = stack.resources("AWS::IAM::Role")["ReferenceBatchRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Principal"], trust["Action"]) == ({"Service": "batchoperations.s3.amazonaws.com"}, "sts:AssumeRole")
    (policy,) = role["Policies"]
    granted = {
        (action, statement["Resource"])
        for statement in policy["PolicyDocument"]["Statement"]
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    assert granted == {
        ("lambda:InvokeFunction", "${ReferenceIndexFunction.Arn}"),
        ("s3:GetObject", f"arn:aws:s3:::{MANIFESTS}/*"),
        ("s3:GetObjectVersion", f"arn:aws:s3:::{MANIFESTS}/*"),
        ("s3:PutObject", f"arn:aws:s3:::{MANIFESTS}/reports/refs/*"),
        ("s3:GetBucketLocation", f"arn:aws:s3:::{MANIFESTS}"),
    }
    assert stack.condition(outputs["ReferenceBatchRoleArn"]["Condition"])
    assert stack.resolve(outputs["ReferenceBatchRoleArn"]["Value"]) == "${ReferenceBatchRole.Arn}"


# ---------------------------------------------------------------- content-id layer


@pytest.mark.parametrize("architecture", list(CONTENT_ID_LAYERS))
def test_every_function_gets_the_content_id_layer_of_its_architecture(translated: dict[str, Any], architecture: str) -> None:
    # Given the stack for one architecture
    stack = Stack(translated, {"Architecture": architecture})
    layers = stack.resources("AWS::Lambda::LayerVersion")
    (content_id,) = [name for name in layers if name.startswith("ContentIdLayer")]
    # Then exactly the layer built for it is deployed, compatible with it alone
    assert content_id.startswith(CONTENT_ID_LAYERS[architecture])
    assert layers[content_id]["Properties"]["CompatibleArchitectures"] == [architecture]
    assert layers[content_id]["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    (gatekeeper,) = [name for name in layers if name.startswith("GatekeeperLayer")]
    # And every function runs on that architecture with the library's layer and that one
    for function in FUNCTIONS:
        properties = stack.properties(function)
        assert properties["Architectures"] == [architecture], function
        assert properties["Layers"] == [f"${{{gatekeeper}}}", f"${{{content_id}}}"], function
    assert stack.resolve(translated["Outputs"]["ContentIdLayerArn"]["Value"]) == f"${{{content_id}}}"


def test_content_id_layers_are_built_by_the_makefile_one_per_architecture() -> None:
    resources = load_template()["Resources"]
    for architecture, logical_id in CONTENT_ID_LAYERS.items():
        layer = resources[logical_id]
        assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": architecture}
        assert layer["Properties"]["ContentUri"] == "layers/content-id"
        assert layer["Properties"]["CompatibleArchitectures"] == [architecture]


@pytest.mark.parametrize("architecture", list(CONTENT_ID_LAYERS))
def test_the_layer_target_asks_pip_for_the_wheels_of_its_own_architecture(architecture: str, tmp_path: Any) -> None:
    # When make shows what the layer's target would run (nothing is fetched)
    result = subprocess.run(
        ["make", "-n", "-C", str(LAYER_DIR), f"build-{CONTENT_ID_LAYERS[architecture]}", f"ARTIFACTS_DIR={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (pip,) = [line for line in result.stdout.splitlines() if " pip install " in line]
    # Then pip installs binary wheels for CPython 3.13 on that architecture's manylinux platforms only
    platforms = set(re.findall(r"--platform (\S+)", pip))
    assert platforms == {f"manylinux2014_{WHEEL_ARCH[architecture]}", f"manylinux_2_28_{WHEEL_ARCH[architecture]}"}
    assert "--only-binary=:all:" in pip and "--python-version 3.13" in pip and "--implementation cp" in pip
    assert "--requirement requirements.txt" in pip


def _layer_pins() -> dict[str, str]:
    pins = {}
    for line in (LAYER_DIR / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line  # exact pins: the layer is what was measured
            pins[requirement.name] = specifier.version
    return pins


def test_the_layer_pins_numpy_and_pyav_exactly() -> None:
    assert set(_layer_pins()) == {"numpy", "av"}


def test_the_content_id_extra_installs_what_the_layer_ships_on_the_runtimes_python() -> None:
    # Given pyproject's content-id extra (the library's optional dependencies for content identification)
    pins = _layer_pins()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("optional-dependencies", {})
    if "content-id" not in extras:
        pytest.skip("pyproject.toml has no content-id extra yet")
    runtime = {"python_version": "3.13", "python_full_version": "3.13.0", "sys_platform": "linux", "platform_system": "Linux"}
    extra = {}
    for line in extras["content-id"]:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(runtime):
            extra[requirement.name] = str(requirement.specifier)
    # Then on python3.13 it installs exactly the layer's releases
    assert extra == {name: f"=={version}" for name, version in pins.items()}
