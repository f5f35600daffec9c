"""The template's downstream resources agree with the code: indexes, stream, re-evaluation and backfill roles."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from gatekeeper.dal.flags_table import (
    ELIGIBLE_INDEX_PROJECTION,
    UPLOADER_INDEX,
    UPLOADER_INDEX_PROJECTION,
    FlagsTable,
    eligible_attribute,
    eligible_index_name,
)
from gatekeeper.downstream.reevaluate import Reevaluator
from gatekeeper.logic.policy import load_policy_file
from gatekeeper.models import PURPOSES
from tests.template.cfn import Stack
from tests.template.test_consistency import Deployment, aws_requests, deployed, parameters  # noqa: F401
from tests.downstream.support import ON, bulk_row, policy_with_beta

MANIFESTS = "operator-inventory"
POLICY_BUCKET, POLICY_KEY = "operator-policies", "gatekeeper/policy.json"


def grants(stack: Stack, role: str) -> set[tuple[str, str]]:
    """Every (action, resource) the role's inline policies allow."""
    out = set()
    for policy in stack.properties(role)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            out.update((action, resource) for action in actions for resource in resources)
    return out


def test_each_purpose_has_its_sparse_sharded_index_as_the_code_queries_it(stack: Stack) -> None:
    # Given the flags table of the template
    table = stack.properties("FlagsTable")
    # Then each purpose's index is keyed and projected exactly as the table adapter writes and reads it
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {eligible_index_name(p) for p in PURPOSES} | {UPLOADER_INDEX}
    for purpose in PURPOSES:
        index = indexes[eligible_index_name(purpose)]
        assert index["KeySchema"] == [
            {"AttributeName": eligible_attribute(purpose), "KeyType": "HASH"},
            {"AttributeName": "object_uri", "KeyType": "RANGE"},
        ]
        assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(ELIGIBLE_INDEX_PROJECTION)}
    assert {"AttributeName": "object_uri", "AttributeType": "S"} in table["AttributeDefinitions"]
    # And an account's rows are found by the uploader index, projected to what a re-decision reads
    uploader = indexes[UPLOADER_INDEX]
    assert uploader["KeySchema"] == [
        {"AttributeName": "uploader_id", "KeyType": "HASH"},
        {"AttributeName": "object_uri", "KeyType": "RANGE"},
    ]
    assert uploader["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(UPLOADER_INDEX_PROJECTION)}
    assert {"AttributeName": "uploader_id", "AttributeType": "S"} in table["AttributeDefinitions"]
    # And the table streams both images, for consumers to see revocations
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_outputs_name_the_stream_the_indexes_and_the_functions(translated: dict[str, Any]) -> None:  # noqa: F811
    # Given the outputs, with and without a backfill bucket
    plain, backfill = Stack(translated), Stack(translated, {"BackfillManifestBucket": MANIFESTS})
    outputs = translated["Outputs"]
    # Then they name what consumers and operators use
    assert plain.resolve(outputs["FlagsTableStreamArn"]["Value"]) == "${FlagsTable.StreamArn}"
    assert outputs["AiTrainingIndexName"]["Value"] == eligible_index_name("ai_training")
    assert outputs["GenaiTrainingIndexName"]["Value"] == eligible_index_name("genai_training")
    assert plain.resolve(outputs["ReevaluateFunctionName"]["Value"]) == "${ReevaluateFunction}"
    assert backfill.condition(outputs["BackfillRoleArn"]["Condition"])
    assert not plain.condition(outputs["BackfillRoleArn"]["Condition"])


@pytest.mark.parametrize("on_s3", [False, True], ids=["default policy", "policy on S3"])
def test_reevaluate_function_may_scan_and_rewrite_the_table_and_read_the_index_only(translated: dict[str, Any], on_s3: bool) -> None:  # noqa: F811
    # Given the stack without tracing, its policy in the layer or on S3
    policy = {"PolicyBucket": POLICY_BUCKET, "PolicyKey": POLICY_KEY} if on_s3 else {}
    stack = Stack(translated, {"TracingMode": "Disabled", **policy})
    # Then the re-evaluation runs its handler for 15 minutes at most, with a role that reads no upload
    function = stack.properties("ReevaluateFunction")
    assert (function["Handler"], function["Timeout"], function["Role"]) == (
        "app.lambda_handler",
        900,
        "${ReevaluateFunctionRole.Arn}",
    )
    expected = {
        ("logs:CreateLogStream", "${ReevaluateLogGroup.Arn}"),
        ("logs:PutLogEvents", "${ReevaluateLogGroup.Arn}"),
        ("dynamodb:Scan", "${FlagsTable.Arn}"),
        ("dynamodb:PutItem", "${FlagsTable.Arn}"),
        ("sqs:SendMessage", "${FailedInvocationQueue.Arn}"),  # a segment's failed asynchronous invocation
        ("dynamodb:BatchGetItem", "${FingerprintTable.Arn}"),  # content_id on: stored fingerprints matched again
        ("dynamodb:GetItem", "${ConsentTable.Arn}"),  # each account's record, once per run
    }
    if on_s3:
        expected.add(("s3:GetObject", f"arn:aws:s3:::{POLICY_BUCKET}/{POLICY_KEY}"))
    assert grants(stack, "ReevaluateFunctionRole") == expected


def test_backfill_role_is_for_batch_operations_and_exists_only_with_a_manifest_bucket(
    translated: dict[str, Any],  # noqa: F811
) -> None:
    # Given the stack without and with a manifest bucket
    assert "BackfillRole" not in Stack(translated).resources("AWS::IAM::Role")
    stack = Stack(translated, {"BackfillManifestBucket": MANIFESTS})
    role = stack.resources("AWS::IAM::Role")["BackfillRole"]["Properties"]
    # Then only S3 Batch Operations may assume it
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Principal"], trust["Action"]) == ({"Service": "batchoperations.s3.amazonaws.com"}, "sts:AssumeRole")
    # And it may invoke the gatekeeper, read manifests and write reports under the prefix, nothing else
    assert grants(stack, "BackfillRole") == {
        ("lambda:InvokeFunction", "${GatekeeperFunctionAliaslive}"),
        ("s3:GetObject", f"arn:aws:s3:::{MANIFESTS}/*"),
        ("s3:GetObjectVersion", f"arn:aws:s3:::{MANIFESTS}/*"),
        ("s3:PutObject", f"arn:aws:s3:::{MANIFESTS}/gatekeeper-backfill-reports/*"),
        ("s3:GetBucketLocation", f"arn:aws:s3:::{MANIFESTS}"),
    }


def test_reevaluation_and_export_work_on_the_table_cloudformation_creates(
    deployed: Deployment,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    # Given the stack's own table (moto's CloudFormation), holding verdicts for Beta Records uploads and others
    table = FlagsTable(deployed.dynamodb, deployed.stack.physical["FlagsTable"]["Ref"])
    for number in range(12):
        assert table.put_verdict(bulk_row(number, eligible=True, label="Beta Records" if number % 3 else None))
    assert len(list(table.eligible("ai_training"))) == 12
    # When the catalogue is re-evaluated under a carve-out for Beta Records, every AWS call recorded
    with aws_requests(monkeypatch) as requests:
        summary = Reevaluator(table, load_policy_file(policy_with_beta(tmp_path / "p.json")), ON).run(segments=2)
    # Then every call is one the re-evaluation function's role allows
    allowed = grants(deployed.stack, "ReevaluateFunctionRole")
    assert requests and all(
        any(action == granted and fnmatch.fnmatchcase(resource, arn) for granted, arn in allowed)
        for action, resource in requests
    ), requests
    # And the stack's index now lists exactly the uploads the carve-out does not cover
    assert summary.to_dict()["flips"]["ai_training"] == {"to_ineligible": 8}
    assert sorted(row["key"] for row in table.eligible("ai_training")) == [
        f"bulk/{n:04d}.mp3" for n in range(12) if n % 3 == 0
    ]
