"""The handler runs against exactly the resources and environment the template makes.

moto's CloudFormation creates the translated template's bucket, queues and table;
the handler then runs with the function's environment variables as the template
resolves them, on uploads that reach it through the template's queue. A drift in
key schema, resource names, environment variable names, the layer path of the
default policy or the metrics on the dashboard fails here.

What moto does not do is bridged openly: its CloudFormation has no support for
queue and bucket policies or IAM (`test_iam` checks those) and ignores a bucket's
versioning and notification settings, which are applied from the same translated
properties; its S3 notifications carry no `versionId` or `sequencer` (real S3
always sends both), which are added; it sends none for deletions, so the removal
notification is built and sent through the queue.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gatekeeper.logic.policy import load_policy_file
from gatekeeper.samples import make_audio
from tests.aws.support import Context, next_sequencer, remove, s3_notification
from tests.template.cfn import REGION, Stack, function_environment, local_path

#: The resources the handler talks to, which moto's CloudFormation can create.
DATA_PLANE = {"AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::DynamoDB::Table"}
STACK_NAME = "upload-gatekeeper"
KEY = "artists/Zoë Ünder/take 1+2 (live) & more=yes%.mp3"
METADATA = {"uploader-id": "u-1001", "terms-version": "2025-05-14"}
#: Variables the code reads that other tests may have left set; the template's replace them.
OUR_VARIABLE_PREFIXES = ("GATEKEEPER_", "FLAGS_TABLE_NAME", "POLICY_URI", "AWS_ENDPOINT_URL")


def data_plane(translated: dict[str, Any]) -> dict[str, Any]:
    """The translated template cut to the data plane, as moto's CloudFormation takes it."""
    template = copy.deepcopy(translated)
    template["Resources"] = {k: r for k, r in template["Resources"].items() if r["Type"] in DATA_PLANE}
    for resource in template["Resources"].values():
        resource.pop("DependsOn", None)  # only on the queue policy, which moto cannot create
    template.pop("Outputs", None)
    for parameter in template["Parameters"].values():
        # CloudFormation passes parameter values as strings; moto keeps YAML's ints.
        parameter["Default"] = str(parameter["Default"])
    return template


@dataclass
class Deployment:
    stack: Stack  # the translated template, resolved with moto's physical ids
    s3: Any
    sqs: Any
    dynamodb: Any

    @property
    def bucket(self) -> str:
        return self.stack.physical["UploadBucket"]["Ref"]

    @property
    def queue_url(self) -> str:
        return self.stack.physical["UploadQueue"]["Ref"]

    def received_sqs_event(self) -> dict[str, Any]:
        """Every message waiting in the upload queue, as the SQS event source hands it over."""
        arn = self.stack.physical["UploadQueue"]["Arn"]
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }


def _physical_ids(cloudformation: Any, sqs: Any) -> dict[str, dict[str, str]]:
    physical: dict[str, dict[str, str]] = {}
    for summary in cloudformation.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]:
        ref = summary["PhysicalResourceId"]
        physical[summary["LogicalResourceId"]] = {"Ref": ref}
        if summary["ResourceType"] == "AWS::SQS::Queue":
            arn = sqs.get_queue_attributes(QueueUrl=ref, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            physical[summary["LogicalResourceId"]].update(Arn=arn, QueueName=arn.rsplit(":", 1)[1])
        elif summary["ResourceType"] == "AWS::S3::Bucket":
            physical[summary["LogicalResourceId"]]["Arn"] = f"arn:aws:s3:::{ref}"
    return physical


@pytest.fixture
def deployed(translated: dict[str, Any]) -> Iterator[Deployment]:
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(StackName=STACK_NAME, TemplateBody=json.dumps(data_plane(translated)))
        (description,) = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"]
        assert description["StackStatus"] == "CREATE_COMPLETE"
        sqs = boto3.client("sqs")
        pseudo = {**Stack(translated).pseudo, "AWS::StackId": description["StackId"], "AWS::StackName": STACK_NAME}
        stack = Stack(translated, pseudo=pseudo, physical=_physical_ids(cloudformation, sqs))
        yield Deployment(stack, boto3.client("s3"), sqs, boto3.client("dynamodb"))


@pytest.fixture
def wired(deployed: Deployment) -> Deployment:
    """The bucket settings moto's CloudFormation skips, applied from the translated properties."""
    bucket = deployed.stack.properties("UploadBucket")
    deployed.s3.put_bucket_versioning(
        Bucket=deployed.bucket, VersioningConfiguration=bucket["VersioningConfiguration"]
    )
    deployed.s3.put_bucket_notification_configuration(
        Bucket=deployed.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": n["Queue"], "Events": [n["Event"]]}
                for n in bucket["NotificationConfiguration"]["QueueConfigurations"]
            ]
        },
    )
    return deployed


@pytest.fixture
def handler(wired: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Lambda module with exactly the function's environment from the template."""
    from functions.gatekeeper import app

    env = function_environment(wired.stack)
    env["POLICY_URI"] = str(local_path(env["POLICY_URI"]))  # the layer, as Lambda mounts it
    for name in [n for n in os.environ if n.startswith(OUR_VARIABLE_PREFIXES)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app.reset_runtime()
    yield app
    app.reset_runtime()


def _with_version_and_sequencer(event: dict[str, Any], version_id: str) -> None:
    """Add what real S3 puts in every notification record and moto leaves out."""
    for record in event["Records"]:
        body = json.loads(record["body"])
        for notification in body.get("Records", []):
            notification["s3"]["object"].update(versionId=version_id, sequencer=next_sequencer())
        record["body"] = json.dumps(body)


def _emitted_metrics(stdout: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """(name, dimensions) of every EMF metric printed, namespace aside."""
    emitted = set()
    for line in stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((name, document[name]) for name in dimension_set))
                emitted.update((metric["Name"], dimensions) for metric in directive["Metrics"])
    return emitted


def _dashboard_metrics(stack: Stack) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    namespace = function_environment(stack)["POWERTOOLS_METRICS_NAMESPACE"]
    body = json.loads(stack.properties("Dashboard")["DashboardBody"])
    return {
        (name, tuple(sorted(zip(dims[::2], dims[1::2], strict=True))))
        for widget in body["widgets"]
        for space, name, *dims in widget["properties"]["metrics"]
        if space == namespace
    }


def test_queue_policy_names_the_bucket_cloudformation_creates(deployed: Deployment) -> None:
    # Given the stack as CloudFormation (moto) created it
    document = deployed.stack.properties("UploadQueuePolicy")["PolicyDocument"]
    (allow,) = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    # Then the queue policy's source ARN, computed before the bucket exists, is the bucket's
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:s3:::{deployed.bucket}"
    assert deployed.s3.head_bucket(Bucket=deployed.bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_upload_through_the_stack_is_decided_then_revoked(
    wired: Deployment, handler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a real MP3 uploaded to the stack's bucket with platform metadata
    put = wired.s3.put_object(
        Bucket=wired.bucket, Key=KEY, Body=make_audio("mp3", tags={"title": "Take 1"}), Metadata=METADATA
    )
    # When the messages S3 put in the stack's queue (its test event and the upload) reach the handler
    created = wired.received_sqs_event()
    assert len(created["Records"]) == 2
    _with_version_and_sequencer(created, put["VersionId"])
    response = handler.lambda_handler(created, Context())

    # Then every message succeeded and the verdict row is in the stack's table
    assert response == {"batchItemFailures": []}
    table = wired.stack.physical["FlagsTable"]["Ref"]
    object_uri = f"s3://{wired.bucket}/{KEY}"
    row = wired.dynamodb.get_item(TableName=table, Key={"object_uri": {"S": object_uri}})["Item"]
    assert row["status"] == {"S": "decided"}
    assert row["version_id"] == {"S": put["VersionId"]}
    assert row["eligible"]["M"] == {"ai_training": {"BOOL": True}, "genai_training": {"BOOL": False}}
    assert {"S": "OPT_IN_REQUIRED"} in row["reasons"]["M"]["genai_training"]["L"]
    # And it was decided under the policy the template's POLICY_URI names in the layer
    policy_path = local_path(function_environment(wired.stack)["POLICY_URI"])
    assert row["policy_id"] == {"S": load_policy_file(policy_path).policy_id}

    # When the upload is deleted and S3's removal notification arrives through the queue
    removal = remove(wired.s3, KEY, bucket=wired.bucket)
    wired.sqs.send_message(QueueUrl=wired.queue_url, MessageBody=json.dumps(s3_notification(removal)))
    response = handler.lambda_handler(wired.received_sqs_event(), Context())

    # Then the row is revoked
    assert response == {"batchItemFailures": []}
    row = wired.dynamodb.get_item(TableName=table, Key={"object_uri": {"S": object_uri}})["Item"]
    assert row["status"] == {"S": "deleted"}
    assert row["eligible"]["M"] == {"ai_training": {"BOOL": False}, "genai_training": {"BOOL": False}}
    assert row["reasons"]["M"]["ai_training"] == {"L": [{"S": "DELETED"}]}

    # And every metric the handler emitted is on the stack's dashboard
    emitted = _emitted_metrics(capsys.readouterr().out)
    assert {name for name, _ in emitted} >= {"Decided", "Verdicts", "Revoked"}
    assert emitted <= _dashboard_metrics(wired.stack), emitted - _dashboard_metrics(wired.stack)
