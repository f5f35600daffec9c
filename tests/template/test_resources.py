"""The resources of the translated template: hardened, wired together, observable."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gatekeeper.dal.flags_table import table_schema
from gatekeeper.models import PURPOSES
from tests.template.cfn import Stack, assert_private_versioned_bucket, function_environment

#: Metrics the code emits (cross-team contract), by the dimensions besides `service`.
CONTRACT_METRICS = {
    ("Verdicts", ("outcome", "purpose")),
    *(
        (name, ())
        for name in (
            "Decided",
            "Revoked",
            "Superseded",
            "Unreadable",
            "RecordFailures",
            "PolicyInvalid",
            "PolicyUnavailable",
            # the reference indexing function (gatekeeper.handlers.references)
            "ReferencesIndexed",
            "ReferencesRemoved",
            # the consent propagation function (gatekeeper.handlers.consent)
            "ConsentRowsRewritten",
            "ReferenceUnreadable",
        )
    ),
}
#: Longest region names in use; a bucket name may not exceed 63 characters.
LONG_REGIONS = ("ap-southeast-5", "ap-northeast-3", "us-gov-west-1", "eu-central-2")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


# ---------------------------------------------------------------- bucket


def test_upload_bucket_is_private_encrypted_versioned_and_owner_enforced(stack: Stack) -> None:
    bucket = stack.properties("UploadBucket")
    assert_private_versioned_bucket(bucket, frozenset({"AES256", "aws:kms"}))


def test_upload_bucket_notifies_the_queue_of_creations_and_removals(translated: dict[str, Any], stack: Stack) -> None:
    # Given the bucket's notification configuration
    notifications = stack.properties("UploadBucket")["NotificationConfiguration"]
    # Then every creation and removal goes to the upload queue, nothing elsewhere
    assert set(notifications) == {"QueueConfigurations"}
    assert {(n["Event"], n["Queue"]) for n in notifications["QueueConfigurations"]} == {
        ("s3:ObjectCreated:*", "${UploadQueue.Arn}"),
        ("s3:ObjectRemoved:*", "${UploadQueue.Arn}"),
        ("s3:LifecycleExpiration:*", "${UploadQueue.Arn}"),
    }
    # And the bucket waits for the queue policy S3 checks when it stores them (and for the log bucket's policy)
    assert translated["Resources"]["UploadBucket"]["DependsOn"] == ["UploadQueuePolicy", "AccessLogBucketPolicy"]


@pytest.mark.parametrize("retention", ["365", "30"])
def test_upload_bucket_access_is_logged_to_a_locked_down_bucket(translated: dict[str, Any], retention: str) -> None:
    stack = Stack(translated, {"AccessLogRetentionDays": retention})
    # Given the upload bucket's server access logging
    logging = stack.properties("UploadBucket")["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": "${AccessLogBucket}", "LogFilePrefix": "upload-bucket/"}
    # Then the log bucket is private, owner-enforced, versioned and SSE-S3 (log delivery supports no SSE-KMS)
    logs = stack.properties("AccessLogBucket")
    rule = assert_private_versioned_bucket(logs)
    assert rule == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    # And logs expire after the retention, their old versions and delete markers too
    rules = {r["Id"]: r for r in logs["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireAccessLogs"]["ExpirationInDays"] == retention
    assert rules["ExpireAccessLogs"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert rules["RemoveExpiredDeleteMarkers"]["ExpiredObjectDeleteMarker"] is True
    assert all(r["Status"] == "Enabled" for r in rules.values())


@pytest.mark.parametrize("region", LONG_REGIONS)
def test_upload_bucket_name_is_valid_in_every_region(translated: dict[str, Any], region: str) -> None:
    # Given a stack in a region with a long name (the name is fixed before creation)
    pseudo = {**Stack(translated).pseudo, "AWS::Region": region}
    name = Stack(translated, pseudo=pseudo).properties("UploadBucket")["BucketName"]
    # Then the name is a valid, lower-case bucket name of at most 63 characters
    assert BUCKET_NAME.match(name), name
    assert len(name) <= 63


def test_stateful_resources_survive_stack_deletion(translated: dict[str, Any]) -> None:
    # Uploads, verdicts, uploads and invocations that were never handled, the access logs,
    # and the reference catalogue: its deliveries, its index, the reference events never handled
    for logical_id in (
        "UploadBucket",
        "FlagsTable",
        "UploadDeadLetterQueue",
        "FailedInvocationQueue",
        "AccessLogBucket",
        "ReferenceBucket",
        "FingerprintTable",
        "ReferenceDeadLetterQueue",
    ):
        resource = translated["Resources"][logical_id]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


# ---------------------------------------------------------------- queue


def test_queues_are_encrypted_and_failures_move_to_the_dead_letter_queue(translated: dict[str, Any]) -> None:
    # Given a stack with a non-default redrive limit
    stack = Stack(translated, {"MaxReceiveCount": "7"})
    queue, dlq = stack.properties("UploadQueue"), stack.properties("UploadDeadLetterQueue")
    # Then every queue is encrypted and the upload queue redrives to the DLQ after 7 receives
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in stack.resources("AWS::SQS::Queue").values())
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": "${UploadDeadLetterQueue.Arn}", "maxReceiveCount": "7"}
    # And failed uploads are kept longer than live ones, for the operator to redrive
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


def test_visibility_timeout_is_at_least_six_function_timeouts_plus_the_batching_window(
    translated: dict[str, Any],
) -> None:
    # Given every allowed function timeout and the largest allowed batching window
    parameters = translated["Parameters"]
    largest_window = int(parameters["MaxBatchingWindowSeconds"]["MaxValue"])
    timeouts = [str(t) for t in parameters["FunctionTimeout"]["AllowedValues"]]
    assert str(parameters["FunctionTimeout"]["Default"]) in timeouts
    for timeout in timeouts:
        # When the stack is made with that timeout
        stack = Stack(translated, {"FunctionTimeout": timeout})
        # Then the queue hides a message long enough for six attempts and the window
        visibility = stack.properties("UploadQueue")["VisibilityTimeout"]
        assert stack.properties("GatekeeperFunction")["Timeout"] == timeout
        assert visibility >= 6 * int(timeout) + largest_window, (timeout, visibility)


# ---------------------------------------------------------------- table


@pytest.mark.parametrize("protection", ["true", "false"])
def test_flags_table_matches_the_contract_and_is_protected(translated: dict[str, Any], protection: str) -> None:
    table = Stack(translated, {"TableDeletionProtection": protection}).properties("FlagsTable")
    assert table["KeySchema"] == [{"AttributeName": "object_uri", "KeyType": "HASH"}]
    # Keys, eligible-only indexes, stream and billing are exactly what the code creates and queries.
    schema = table_schema()
    for name in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"):
        assert table[name] == schema[name], name
    assert table["StreamSpecification"] == {"StreamViewType": schema["StreamSpecification"]["StreamViewType"]}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionProtectionEnabled"] == protection


# ---------------------------------------------------------------- function


def test_function_runs_the_handler_on_python_313_with_the_layer(stack: Stack) -> None:
    function = stack.properties("GatekeeperFunction")
    assert function["Runtime"] == "python3.13"
    assert function["Handler"] == "app.lambda_handler"
    assert function["Architectures"] == ["arm64"]
    assert function["Role"] == "${GatekeeperFunctionRole.Arn}"
    gatekeeper, content_id = function["Layers"]  # the library, then numpy and PyAV for content_id
    layers = stack.resources("AWS::Lambda::LayerVersion")
    assert gatekeeper.startswith("${GatekeeperLayer") and content_id.startswith("${ContentIdLayerArm64")
    for layer in (gatekeeper, content_id):
        assert layers[layer.strip("${}")]["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert function["LoggingConfig"] == {"LogGroup": "${GatekeeperLogGroup}"}
    assert stack.properties("GatekeeperLogGroup")["RetentionInDays"] == "30"


def _mapping(stack: Stack, queue: str) -> dict[str, Any]:
    """The event source mapping that reads `queue`."""
    (mapping,) = [
        m["Properties"]
        for m in stack.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == f"${{{queue}.Arn}}"
    ]
    return mapping


def test_queue_feeds_the_function_with_per_message_failures(stack: Stack) -> None:
    assert len(stack.resources("AWS::Lambda::EventSourceMapping")) == 3  # the upload and reference queues, the consent stream
    properties = _mapping(stack, "UploadQueue")
    assert properties["EventSourceArn"] == "${UploadQueue.Arn}"
    # The queue invokes the published alias, so SnapStart (published versions only) serves every upload
    assert properties["FunctionName"] == "${GatekeeperFunctionAliaslive}"
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (properties["BatchSize"], properties["MaximumBatchingWindowInSeconds"]) == ("10", "0")
    assert "ScalingConfig" not in properties


def test_reserved_concurrency_also_caps_the_sqs_poller(translated: dict[str, Any], stack: Stack) -> None:
    # Given no reservation by default
    assert "ReservedConcurrentExecutions" not in stack.properties("GatekeeperFunction")
    # When a reservation is set
    reserved = Stack(translated, {"ReservedConcurrency": "8"})
    # Then the poller never invokes beyond it (throttled batches would drift to the DLQ)
    assert reserved.properties("GatekeeperFunction")["ReservedConcurrentExecutions"] == "8"
    assert _mapping(reserved, "UploadQueue")["ScalingConfig"] == {"MaximumConcurrency": "8"}
    # And the reference indexing function keeps its own setting (none by default)
    assert "ReservedConcurrentExecutions" not in reserved.properties("ReferenceIndexFunction")
    assert "ScalingConfig" not in _mapping(reserved, "ReferenceQueue")


@pytest.mark.parametrize(
    ("mode", "lambda_mode", "trace_disabled"),
    [("Active", "Active", "false"), ("PassThrough", "PassThrough", "true"), ("Disabled", "PassThrough", "true")],
)
def test_tracing_mode_sets_lambda_and_powertools_alike(
    translated: dict[str, Any], mode: str, lambda_mode: str, trace_disabled: str
) -> None:
    stack = Stack(translated, {"TracingMode": mode})
    assert stack.properties("GatekeeperFunction")["TracingConfig"] == {"Mode": lambda_mode}
    assert function_environment(stack)["POWERTOOLS_TRACE_DISABLED"] == trace_disabled


def test_function_environment_follows_the_contracts(translated: dict[str, Any]) -> None:
    # Given non-default log level and policy TTL
    stack = Stack(translated, {"LogLevel": "DEBUG", "PolicyTtlSeconds": "60"})
    # Then the function gets exactly the contract's variables
    assert function_environment(stack) == {
        "FLAGS_TABLE_NAME": "${FlagsTable}",
        "FINGERPRINT_TABLE_NAME": "${FingerprintTable}",
        "CONSENT_TABLE_NAME": "${ConsentTable}",
        "POLICY_URI": "/opt/python/gatekeeper/data/default-policy.json",
        "GATEKEEPER_POLICY_TTL_SECONDS": "60",
        "GATEKEEPER_POLICY_MAX_BYTES": "16777216",
        "POWERTOOLS_SERVICE_NAME": "gatekeeper",
        "POWERTOOLS_METRICS_NAMESPACE": "UploadGatekeeper",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


# ---------------------------------------------------------------- observability


def _alarms(stack: Stack) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Alarms by (namespace, metric, value of their one dimension)."""
    alarms = {}
    for alarm in stack.resources("AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        (dimension,) = properties["Dimensions"]
        alarms[(properties["Namespace"], properties["MetricName"], dimension["Value"])] = properties
    return alarms


@pytest.mark.parametrize(
    ("metric", "dimension"),
    [
        (("AWS/SQS", "ApproximateNumberOfMessagesVisible"), {"QueueName": "${UploadDeadLetterQueue.QueueName}"}),
        (("AWS/SQS", "ApproximateAgeOfOldestMessage"), {"QueueName": "${UploadQueue.QueueName}"}),
        (("AWS/Lambda", "Errors"), {"FunctionName": "${GatekeeperFunction}"}),
        (("AWS/Lambda", "Throttles"), {"FunctionName": "${GatekeeperFunction}"}),
        (("UploadGatekeeper", "PolicyInvalid"), {"service": "gatekeeper"}),
        (("UploadGatekeeper", "PolicyUnavailable"), {"service": "gatekeeper"}),
        (("AWS/SQS", "ApproximateNumberOfMessagesVisible"), {"QueueName": "${FailedInvocationQueue.QueueName}"}),
        (("AWS/SQS", "ApproximateNumberOfMessagesVisible"), {"QueueName": "${ReferenceDeadLetterQueue.QueueName}"}),
        (("UploadGatekeeper", "ReferenceUnreadable"), {"service": "gatekeeper"}),
    ],
)
def test_alarms_watch_the_failure_paths_and_notify_the_topic(
    stack: Stack, metric: tuple[str, str], dimension: dict[str, str]
) -> None:
    alarm = _alarms(stack)[(*metric, *dimension.values())]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == dimension
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == ["${AlarmTopic}"]


@pytest.mark.parametrize("function", ["GatekeeperFunction", "ReevaluateFunction", "ReferenceIndexFunction"])
def test_failed_asynchronous_invocations_go_to_an_encrypted_queue_kept_14_days(stack: Stack, function: str) -> None:
    # Given the function's asynchronous-invocation configuration (direct S3, EventBridge, re-evaluation segments)
    (config,) = [
        c["Properties"]
        for c in stack.resources("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == f"${{{function}}}"
    ]
    # Then, after Lambda's retries, a failed event is recorded in the failed-invocation queue, not dropped
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": "${FailedInvocationQueue.Arn}"}}
    qualifier = "live" if config["FunctionName"] == "${GatekeeperFunction}" else "$LATEST"
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"], config["Qualifier"]) == (2, 21600, qualifier)
    queue = stack.properties("FailedInvocationQueue")
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 1209600
    # And the operator finds it in the outputs
    outputs = stack.template["Outputs"]
    assert stack.resolve(outputs["FailedInvocationQueueUrl"]["Value"]) == "${FailedInvocationQueue}"
    assert stack.resolve(outputs["FailedInvocationQueueArn"]["Value"]) == "${FailedInvocationQueue.Arn}"


def test_alarm_email_is_subscribed_only_when_given(translated: dict[str, Any], stack: Stack) -> None:
    assert not stack.resources("AWS::SNS::Subscription")
    with_email = Stack(translated, {"AlarmEmail": "oncall@example.com"})
    (subscription,) = with_email.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Endpoint"] == "oncall@example.com"


def _dashboard_metrics(stack: Stack) -> list[list[Any]]:
    body = json.loads(stack.properties("Dashboard")["DashboardBody"])
    return [metric for widget in body["widgets"] for metric in widget["properties"]["metrics"]]


def test_dashboard_shows_every_contract_metric_as_the_code_emits_it(stack: Stack) -> None:
    # Given the dashboard's metrics in the service's namespace
    env = function_environment(stack)
    ours = [m for m in _dashboard_metrics(stack) if m[0] == env["POWERTOOLS_METRICS_NAMESPACE"]]
    shown = set()
    for namespace, name, *dimensions in ours:
        pairs = dict(zip(dimensions[::2], dimensions[1::2], strict=True))
        # Then each carries the service dimension the function's Powertools adds
        assert pairs.pop("service") == env["POWERTOOLS_SERVICE_NAME"]
        shown.add((name, tuple(sorted(pairs))))
        if name == "Verdicts":
            shown.add(("verdict", (pairs["purpose"], pairs["outcome"])))
    # And every contract metric is there, and verdicts for every purpose and outcome
    assert {s for s in shown if s[0] != "verdict"} == CONTRACT_METRICS
    assert {s[1] for s in shown if s[0] == "verdict"} == {
        (purpose, outcome) for purpose in PURPOSES for outcome in ("eligible", "ineligible")
    }


def test_dashboard_shows_function_and_queue_health(stack: Stack) -> None:
    shown = {(m[0], m[1], m[3]) for m in _dashboard_metrics(stack) if m[0].startswith("AWS/")}
    function = "${GatekeeperFunction}"
    queue, dlq = "${UploadQueue.QueueName}", "${UploadDeadLetterQueue.QueueName}"
    assert {
        ("AWS/Lambda", "Errors", function),
        ("AWS/Lambda", "Throttles", function),
        ("AWS/Lambda", "Duration", function),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", queue),
    } <= shown
    durations = {m[-1]["stat"] for m in _dashboard_metrics(stack) if m[1] == "Duration"}
    assert {"p50", "p99"} <= durations


def test_outputs_name_what_operators_and_consumers_need(translated: dict[str, Any]) -> None:
    assert {
        "UploadBucketName",
        "FlagsTableName",
        "FlagsTableArn",
        "UploadQueueUrl",
        "DeadLetterQueueUrl",
        "GatekeeperFunctionArn",
        "FingerprintTableName",
        "FingerprintTableArn",
        "ReferenceBucketName",
        "ReferenceQueueUrl",
        "ReferenceDeadLetterQueueUrl",
        "ReferenceIndexFunctionArn",
        "ContentIdLayerArn",
        "ReferenceBatchRoleArn",
    } <= set(translated["Outputs"])


def test_snapstart_serves_the_upload_function_through_its_alias(translated: dict[str, Any], stack: Stack) -> None:
    # Given the default stack: SnapStart on the published versions of the upload function, behind `live`
    assert stack.properties("GatekeeperFunction")["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    (alias,) = stack.resources("AWS::Lambda::Alias").values()
    assert (alias["Properties"]["Name"], alias["Properties"]["FunctionName"]) == ("live", "${GatekeeperFunction}")
    assert len(stack.resources("AWS::Lambda::Version")) == 1
    # And the operator can turn it off (it is charged for Python), keeping the alias
    off = Stack(translated, {"SnapStart": "None"})
    assert "SnapStart" not in off.properties("GatekeeperFunction")
    assert len(off.resources("AWS::Lambda::Alias")) == 1
    # The batch re-evaluation and the reference indexing (rare, long invocations) need no fast
    # cold start: no SnapStart, no alias
    assert "SnapStart" not in stack.properties("ReevaluateFunction")
    assert "SnapStart" not in stack.properties("ReferenceIndexFunction")  # and the one alias above is the upload function's
