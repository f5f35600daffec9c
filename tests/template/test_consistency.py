"""The handlers run against exactly the resources and environment the template makes.

moto's CloudFormation creates the translated template's bucket, queues and table;
the handler then runs with the function's environment variables as the template
resolves them, on uploads that reach it through the template's queue, with the
default policy in the layer and with an operator's policy on S3. A drift in key
schema, resource names, environment variable names, the layer path of the default
policy or the metrics on the dashboard fails here, and so does an AWS call the
code makes that the function's role does not allow on that resource.

What moto does not do is bridged openly: its CloudFormation has no support for
queue and bucket policies or IAM (`test_iam` checks those) and ignores a bucket's
versioning and notification settings, which are applied from the same translated
properties; its S3 notifications carry no `versionId` or `sequencer` (real S3
always sends both), which are added; it sends none for deletions, so the removal
notification is built and sent through the queue.

The reference indexing function's handler runs the same way, on the stack's
reference bucket, reference queue and fingerprint table. Its *put* path decodes the
recording with numpy and PyAV (`gatekeeper.content_id`): that test runs where they
and the library's decoder are installed and is skipped elsewhere; the removal path
and keys outside `references/`, which need no decoding, always run.
"""

from __future__ import annotations

import copy
import io
import fnmatch
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from gatekeeper.dal.fingerprint_index import FingerprintIndex
from gatekeeper.handlers import references as references_handler
from gatekeeper.handlers.runtime import CONFIG_VARIABLES, reset_runtime
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.samples import make_audio
from tests.aws.support import Context, next_sequencer, remove, s3_notification
from tests.template.cfn import ACCOUNT, LAYER_MOUNT, REGION, Stack, function_environment, local_path

#: The resources the handler talks to, which moto's CloudFormation can create.
DATA_PLANE = {"AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::DynamoDB::Table"}
STACK_NAME = "upload-gatekeeper"
KEY = "artists/Zoë Ünder/take 1+2 (live) & more=yes%.mp3"
METADATA = {"uploader-id": "u-1001", "terms-version": "2025-05-14"}
POLICY_BUCKET, POLICY_KEY = "operator-policies", "gatekeeper/policy.json"
#: Deployments the handler is run against: the defaults, and the operator's policy on S3.
DEPLOYMENTS = {
    "default policy in the layer": {},
    "policy on S3": {"PolicyBucket": POLICY_BUCKET, "PolicyKey": POLICY_KEY},
}
#: Variables the code reads that other tests may have left set; the template's replace them.
OUR_VARIABLE_PREFIXES = ("GATEKEEPER_", "FLAGS_TABLE_NAME", "FINGERPRINT_TABLE_NAME", "POLICY_URI", "AWS_ENDPOINT_URL")
#: Every Lambda function of the template.
FUNCTIONS = ("GatekeeperFunction", "ReevaluateFunction", "ReferenceIndexFunction", "ConsentFunction")
#: A reference of the carve-out acme-records (SPEC: reference id = the key after references/<carve-out id>/).
CARVE_OUT, REFERENCE_ID = "acme-records", "x.wav"
REFERENCE_KEY = f"references/{CARVE_OUT}/{REFERENCE_ID}"


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

    @property
    def reference_bucket(self) -> str:
        return self.stack.physical["ReferenceBucket"]["Ref"]

    @property
    def reference_queue_url(self) -> str:
        return self.stack.physical["ReferenceQueue"]["Ref"]

    def received_sqs_event(self, queue: str = "UploadQueue") -> dict[str, Any]:
        """Every message waiting in the queue, as the SQS event source hands it over."""
        arn = self.stack.physical[queue]["Arn"]
        messages = self.sqs.receive_message(
            QueueUrl=self.stack.physical[queue]["Ref"], MaxNumberOfMessages=10, AttributeNames=["All"]
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
        elif summary["ResourceType"] == "AWS::DynamoDB::Table":
            physical[summary["LogicalResourceId"]]["Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{ref}"
    return physical


@pytest.fixture
def parameters() -> dict[str, str]:
    """The template parameters of the deployment (tests parametrize it)."""
    return {}


@pytest.fixture
def deployed(translated: dict[str, Any], parameters: dict[str, str]) -> Iterator[Deployment]:
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(StackName=STACK_NAME, TemplateBody=json.dumps(data_plane(translated)))
        (description,) = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"]
        assert description["StackStatus"] == "CREATE_COMPLETE"
        sqs = boto3.client("sqs")
        pseudo = {**Stack(translated).pseudo, "AWS::StackId": description["StackId"], "AWS::StackName": STACK_NAME}
        stack = Stack(translated, parameters, pseudo=pseudo, physical=_physical_ids(cloudformation, sqs))
        yield Deployment(stack, boto3.client("s3"), sqs, boto3.client("dynamodb"))


def _apply_bucket_settings(deployed: Deployment, logical_id: str) -> None:
    """A bucket's versioning and queue notifications (with their key filters), from the translated properties."""
    bucket = deployed.stack.properties(logical_id)
    name = deployed.stack.physical[logical_id]["Ref"]
    deployed.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=bucket["VersioningConfiguration"])
    notifications = []
    for n in bucket["NotificationConfiguration"]["QueueConfigurations"]:
        notification = {"QueueArn": n["Queue"], "Events": [n["Event"]]}
        if "Filter" in n:  # CloudFormation's S3Key.Rules are the API's Key.FilterRules
            notification["Filter"] = {"Key": {"FilterRules": n["Filter"]["S3Key"]["Rules"]}}
        notifications.append(notification)
    deployed.s3.put_bucket_notification_configuration(
        Bucket=name, NotificationConfiguration={"QueueConfigurations": notifications}
    )


@pytest.fixture
def wired(deployed: Deployment) -> Deployment:
    """The bucket settings moto's CloudFormation skips, applied from the translated properties."""
    _apply_bucket_settings(deployed, "UploadBucket")
    if deployed.stack.condition("PolicyOnS3"):  # the operator's policy, here the default one
        deployed.s3.create_bucket(Bucket=POLICY_BUCKET)
        deployed.s3.put_object(Bucket=POLICY_BUCKET, Key=POLICY_KEY, Body=DEFAULT_POLICY_PATH.read_bytes())
    return deployed


@pytest.fixture
def handler(wired: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Lambda module with exactly the function's environment from the template."""
    from functions.gatekeeper import app

    _with_environment(wired.stack, "GatekeeperFunction", monkeypatch)
    reset_runtime()
    yield app
    reset_runtime()


def _with_environment(stack: Stack, function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly the function's environment from the template, the layer's files where Lambda mounts them."""
    env = function_environment(stack, function)
    if env["POLICY_URI"].startswith(LAYER_MOUNT):
        env["POLICY_URI"] = str(local_path(env["POLICY_URI"]))  # the layer, as Lambda mounts it
    for name in [n for n in os.environ if n.startswith(OUR_VARIABLE_PREFIXES)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def references_wired(deployed: Deployment) -> Deployment:
    """The reference bucket's versioning and (filtered) notifications, applied from the translated properties."""
    _apply_bucket_settings(deployed, "ReferenceBucket")
    return deployed


@pytest.fixture
def reference_handler(references_wired: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The reference indexing function's Lambda module with exactly its environment from the template."""
    from functions.references import app

    _with_environment(references_wired.stack, "ReferenceIndexFunction", monkeypatch)
    references_handler.reset()
    yield app
    references_handler.reset()


@contextmanager
def aws_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Record the (IAM action, resource ARN) of every AWS call made inside the block."""
    requests: list[tuple[str, str]] = []
    original = BaseClient._make_api_call

    def recording(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        requests.append(_iam_request(client.meta.service_model.signing_name, operation, params))
        return original(client, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", recording)
        yield requests


def _iam_request(service: str, operation: str, params: dict[str, Any]) -> tuple[str, str]:
    """The action IAM authorizes a call as, and the resource it names."""
    if service == "s3":
        reads = operation in ("GetObject", "HeadObject")
        action = ("GetObjectVersion" if params.get("VersionId") else "GetObject") if reads else operation
        key = f"/{params['Key']}" if "Key" in params else ""
        return f"s3:{action}", f"arn:aws:s3:::{params['Bucket']}{key}"
    if service == "dynamodb":
        (table,) = params["RequestItems"] if "RequestItems" in params else [params["TableName"]]
        index = f"/index/{params['IndexName']}" if "IndexName" in params else ""
        return f"dynamodb:{operation}", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}{index}"
    return f"{service}:{operation}", "unknown"


def _allowed(stack: Stack, action: str, resource: str, role: str = "GatekeeperFunctionRole") -> bool:
    """Whether the function's role allows `action` on `resource` (IAM wildcards)."""
    for policy in stack.properties(role)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if action in actions and any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources):
                return True
    return False


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


@pytest.mark.parametrize("parameters", list(DEPLOYMENTS.values()), ids=list(DEPLOYMENTS))
def test_upload_through_the_stack_is_decided_then_revoked(
    wired: Deployment, handler: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a real MP3 uploaded to the stack's bucket with platform metadata
    put = wired.s3.put_object(
        Bucket=wired.bucket, Key=KEY, Body=make_audio("mp3", tags={"title": "Take 1"}), Metadata=METADATA
    )
    # When the messages S3 put in the stack's queue (its test event and the upload) reach the handler
    created = wired.received_sqs_event()
    assert len(created["Records"]) == 2
    _with_version_and_sequencer(created, put["VersionId"])
    with aws_requests(monkeypatch) as deciding:
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
    # And it was decided under the policy POLICY_URI names (in the layer, or on S3)
    assert row["policy_id"] == {"S": load_policy_file(DEFAULT_POLICY_PATH).policy_id}

    # When the upload is deleted and S3's removal notification arrives through the queue
    removal = remove(wired.s3, KEY, bucket=wired.bucket)
    wired.sqs.send_message(QueueUrl=wired.queue_url, MessageBody=json.dumps(s3_notification(removal)))
    removed = wired.received_sqs_event()
    with aws_requests(monkeypatch) as revoking:
        response = handler.lambda_handler(removed, Context())

    # Then the row is revoked
    assert response == {"batchItemFailures": []}
    row = wired.dynamodb.get_item(TableName=table, Key={"object_uri": {"S": object_uri}})["Item"]
    assert row["status"] == {"S": "deleted"}
    assert row["eligible"]["M"] == {"ai_training": {"BOOL": False}, "genai_training": {"BOOL": False}}
    assert row["reasons"]["M"]["ai_training"] == {"L": [{"S": "DELETED"}]}

    # And the function's role allows every AWS call the handler made, on its resource
    requests = set(deciding + revoking)
    assert ("s3:GetObjectVersion", f"arn:aws:s3:::{wired.bucket}/{KEY}") in requests
    assert {action for action, _ in requests} & {"dynamodb:PutItem", "dynamodb:UpdateItem"}
    if wired.stack.condition("PolicyOnS3"):
        assert ("s3:GetObject", f"arn:aws:s3:::{POLICY_BUCKET}/{POLICY_KEY}") in requests
    denied = {request for request in requests if not _allowed(wired.stack, *request)}
    assert not denied, denied

    # And every metric the handler emitted is on the stack's dashboard
    emitted = _emitted_metrics(capsys.readouterr().out)
    assert {name for name, _ in emitted} >= {"Decided", "Verdicts", "Revoked"}
    assert emitted <= _dashboard_metrics(wired.stack), emitted - _dashboard_metrics(wired.stack)


# ---------------------------------------------------------------- environment


def test_every_function_gets_the_variables_the_code_reads_and_only_those(stack: Stack) -> None:
    # Given the variables the library builds its runtime from (gatekeeper.handlers.runtime)
    optional = {"GATEKEEPER_MIN_REMAINING_MS", "AWS_ENDPOINT_URL"}  # a default applies; an emulator only
    required = set(CONFIG_VARIABLES) - optional
    assert "FINGERPRINT_TABLE_NAME" in required  # the policy may turn content_id on at run time
    # (and each function's own: the consent function's second look at the uploader index)
    own = {"ConsentFunction": {"GATEKEEPER_CONSENT_SETTLE_SECONDS"}}
    for function in FUNCTIONS:
        env = function_environment(stack, function)
        ours = {name for name in env if not name.startswith("POWERTOOLS_")} - own.get(function, set())
        # Then every function gets each of them, and nothing the code does not read
        assert ours == required, (function, ours ^ required)
        # And the table names are the template's tables
        assert (env["FLAGS_TABLE_NAME"], env["FINGERPRINT_TABLE_NAME"], env["CONSENT_TABLE_NAME"]) == (
            "${FlagsTable}", "${FingerprintTable}", "${ConsentTable}"
        )  # fmt: skip
    assert function_environment(stack, "ConsentFunction")["GATEKEEPER_CONSENT_SETTLE_SECONDS"] == "5"


# ---------------------------------------------------------------- reference catalogue


def _reference_index(deployment: Deployment) -> FingerprintIndex:
    return FingerprintIndex(deployment.dynamodb, deployment.stack.physical["FingerprintTable"]["Ref"])


def _role_allows_every_request(stack: Stack, requests: list[tuple[str, str]]) -> None:
    denied = {r for r in requests if not _allowed(stack, *r, role="ReferenceIndexFunctionRole")}
    assert not denied, denied


def test_reference_queue_policy_names_the_bucket_cloudformation_creates(deployed: Deployment) -> None:
    document = deployed.stack.properties("ReferenceQueuePolicy")["PolicyDocument"]
    (allow,) = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:s3:::{deployed.reference_bucket}"
    assert deployed.s3.head_bucket(Bucket=deployed.reference_bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_reference_removal_through_the_stack_removes_it_from_the_catalogue(
    references_wired: Deployment,
    reference_handler: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deployment = references_wired
    # Given a reference of acme-records in the stack's fingerprint table (indexed from its postings:
    # the decoding that made them is the put path's) and its recording in the stack's reference bucket
    index = _reference_index(deployment)
    index.add(REFERENCE_ID, CARVE_OUT, [(101, 5), (102, 9), (103, 14)], source=f"s3://{deployment.reference_bucket}/{REFERENCE_KEY}")
    deployment.s3.put_object(Bucket=deployment.reference_bucket, Key=REFERENCE_KEY, Body=b"RIFF....WAVE")
    # And a file outside references/ in the same bucket
    deployment.s3.put_object(Bucket=deployment.reference_bucket, Key=f"incoming/{CARVE_OUT}/{REFERENCE_ID}", Body=b"x")
    # Then S3 notified the reference queue of the put under references/ only (the filter), besides its test event
    notified = deployment.received_sqs_event("ReferenceQueue")
    keys = [
        unquote_plus(n["s3"]["object"]["key"])
        for m in notified["Records"]
        for n in json.loads(m["body"]).get("Records", [])
    ]
    assert keys == [REFERENCE_KEY]
    for message in notified["Records"]:  # consumed: the put path is the next test's
        deployment.sqs.delete_message(QueueUrl=deployment.reference_queue_url, ReceiptHandle=message["receiptHandle"])

    # When the recording is deleted and S3's removal notification arrives through the reference queue
    removal = remove(deployment.s3, REFERENCE_KEY, bucket=deployment.reference_bucket)
    deployment.sqs.send_message(QueueUrl=deployment.reference_queue_url, MessageBody=json.dumps(s3_notification(removal)))
    event = deployment.received_sqs_event("ReferenceQueue")
    assert len(event["Records"]) == 1
    with aws_requests(monkeypatch) as requests:
        response = reference_handler.lambda_handler(event, Context())

    # Then the message succeeded and the reference is gone from the catalogue, its postings too
    assert response == {"batchItemFailures": []}
    assert index.get(REFERENCE_ID) is None
    assert index.postings([101, 102, 103]) == {101: [], 102: [], 103: []}
    # And the indexing function's role allows every AWS call the handler made, on its resource
    assert ("dynamodb:DeleteItem", deployment.stack.physical["FingerprintTable"]["Arn"]) in requests
    _role_allows_every_request(deployment.stack, requests)
    # And the metric it emitted is on the stack's dashboard
    emitted = _emitted_metrics(capsys.readouterr().out)
    assert ("ReferencesRemoved", (("service", "gatekeeper"),)) in emitted
    assert emitted <= _dashboard_metrics(deployment.stack), emitted - _dashboard_metrics(deployment.stack)


@pytest.mark.parametrize(
    "key",
    [f"incoming/{CARVE_OUT}/{REFERENCE_ID}", f"references/{REFERENCE_ID}", f"references/{CARVE_OUT}/"],
    ids=["outside references/", "no carve-out", "no reference id"],
)
def test_a_key_that_names_no_reference_is_acknowledged_and_touches_nothing(
    references_wired: Deployment, reference_handler: Any, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    # Given a reference already in the catalogue
    index = _reference_index(references_wired)
    index.add(REFERENCE_ID, CARVE_OUT, [(7, 1)])
    # And an object put at a key that names no reference (S3 notifies the queue of it only under
    # references/), then removed (its notification sent through the queue whatever the key, as if
    # S3's filter had let it through)
    bucket = references_wired.reference_bucket
    references_wired.s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    removal = remove(references_wired.s3, key, bucket=bucket)
    references_wired.sqs.send_message(
        QueueUrl=references_wired.reference_queue_url, MessageBody=json.dumps(s3_notification(removal))
    )
    event = references_wired.received_sqs_event("ReferenceQueue")
    assert event["Records"]
    # When they reach the indexing function
    with aws_requests(monkeypatch) as requests:
        response = reference_handler.lambda_handler(event, Context())
    # Then every message succeeded without a call to S3 or the index, and the catalogue is as it was
    assert response == {"batchItemFailures": []}
    assert requests == []
    assert index.get(REFERENCE_ID) is not None


def _content_id_importable() -> bool:
    try:
        import gatekeeper.content_id  # noqa: F401 - numpy, PyAV and the library's decoder and fingerprint
    except ImportError:
        return False
    return True


def _noise_wav(seconds: float = 15.0, rate: int = 11025) -> bytes:
    """A mono 16-bit WAV of deterministic noise: audio that decodes whole and has structure everywhere."""
    import random
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(random.Random(11).randbytes(int(seconds * rate) * 2))
    return out.getvalue()


@pytest.mark.skipif(not _content_id_importable(), reason="numpy, PyAV or the library's decoder not installed")
def test_reference_put_through_the_stack_reaches_the_catalogue(
    references_wired: Deployment,
    reference_handler: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a recording put under references/acme-records/ of the stack's reference bucket
    deployment = references_wired
    deployment.s3.put_object(Bucket=deployment.reference_bucket, Key=REFERENCE_KEY, Body=_noise_wav())
    # When S3's messages in the reference queue (its test event and the put) reach the indexing function
    event = deployment.received_sqs_event("ReferenceQueue")
    with aws_requests(monkeypatch) as requests:
        response = reference_handler.lambda_handler(event, Context())
    # Then it was read (the current object, no version) and handed to the catalogue, which indexed it
    assert response == {"batchItemFailures": []}
    assert ("s3:GetObject", f"arn:aws:s3:::{deployment.reference_bucket}/{REFERENCE_KEY}") in requests
    emitted = {name for name, _ in _emitted_metrics(capsys.readouterr().out)}
    assert emitted & {"ReferencesIndexed", "ReferenceUnreadable"}, emitted
    if "ReferencesIndexed" in emitted:
        reference = _reference_index(deployment).get(REFERENCE_ID)
        assert reference is not None and reference.carve_out == CARVE_OUT
    # And every call it made is one the indexing function's role allows
    _role_allows_every_request(deployment.stack, requests)
