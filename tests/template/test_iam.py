"""Every IAM grant of the translated template is on an allow-list of what the code calls.

The template is translated by the SAM transform first, so whatever SAM itself
generates (roles, managed policies for event sources or tracing) is checked too.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.template.cfn import ACCOUNT, Stack

BUCKET_OBJECTS = "${UploadBucket.Arn}/*"
POLICY_BUCKET, POLICY_KEY = "operator-policies", "gatekeeper/policy.json"
POLICY_OBJECT = f"arn:aws:s3:::{POLICY_BUCKET}/{POLICY_KEY}"

#: (action, resource) pairs the gatekeeper function needs: what the code calls, and
#: what Lambda calls on its behalf (logs, the SQS poller, X-Ray).
FUNCTION_NEEDS = {
    ("logs:CreateLogStream", "${GatekeeperLogGroup.Arn}"),
    ("logs:PutLogEvents", "${GatekeeperLogGroup.Arn}"),
    ("sqs:ReceiveMessage", "${UploadQueue.Arn}"),
    ("sqs:DeleteMessage", "${UploadQueue.Arn}"),
    ("sqs:GetQueueAttributes", "${UploadQueue.Arn}"),
    ("s3:GetObject", BUCKET_OBJECTS),
    ("s3:GetObjectVersion", BUCKET_OBJECTS),
    # 404 rather than 403 for an upload deleted before it is read (superseded, not retried).
    ("s3:ListBucket", "${UploadBucket.Arn}"),
    ("dynamodb:GetItem", "${FlagsTable.Arn}"),
    ("dynamodb:PutItem", "${FlagsTable.Arn}"),
    ("dynamodb:UpdateItem", "${FlagsTable.Arn}"),
    # Lambda sends the on-failure record of an asynchronous invocation with the function's role.
    ("sqs:SendMessage", "${FailedInvocationQueue.Arn}"),
}
#: The re-evaluation function reads no upload: its logs, the table's scan and conditional rewrite.
REEVALUATE_NEEDS = {
    ("logs:CreateLogStream", "${ReevaluateLogGroup.Arn}"),
    ("logs:PutLogEvents", "${ReevaluateLogGroup.Arn}"),
    ("dynamodb:Scan", "${FlagsTable.Arn}"),
    ("dynamodb:PutItem", "${FlagsTable.Arn}"),
    ("sqs:SendMessage", "${FailedInvocationQueue.Arn}"),
}
TRACING_NEEDS = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}
POLICY_ON_S3_NEEDS = {("s3:GetObject", POLICY_OBJECT)}
ALLOW_LIST = FUNCTION_NEEDS | REEVALUATE_NEEDS | TRACING_NEEDS | POLICY_ON_S3_NEEDS

#: Services without resource-level permissions: the only ones that may get "*".
STAR_RESOURCE_SERVICES = {"xray"}

SCENARIOS = {
    "defaults": {},
    "policy on S3, tracing off, reserved concurrency": {
        "PolicyBucket": POLICY_BUCKET,
        "PolicyKey": POLICY_KEY,
        "TracingMode": "Disabled",
        "ReservedConcurrency": "5",
    },
    "passthrough tracing, x86_64": {"TracingMode": "PassThrough", "Architecture": "x86_64"},
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(stack: Stack) -> list[dict[str, Any]]:
    """Every identity-policy statement attached to a role of the stack."""
    statements = []
    for role in stack.resources("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            statements += _as_list(policy["PolicyDocument"]["Statement"])
    for policy in stack.resources("AWS::IAM::Policy").values():
        statements += _as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _grants(stack: Stack) -> set[tuple[str, str]]:
    grants = set()
    for statement in _statements(stack):
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                grants.add((action, str(resource)))
    return grants


@pytest.fixture(params=list(SCENARIOS), ids=list(SCENARIOS))
def scenario(request: pytest.FixtureRequest, translated: dict[str, Any]) -> Stack:
    return Stack(translated, SCENARIOS[request.param])


def test_every_grant_is_on_the_allow_list(scenario: Stack) -> None:
    # Given the translated template under a set of parameters
    # When its grants are listed
    grants = _grants(scenario)
    # Then each is allowed, no action is a wildcard, and "*" is only for X-Ray
    assert grants <= ALLOW_LIST, grants - ALLOW_LIST
    assert not [action for action, _ in grants if "*" in action or "?" in action]
    star = {action for action, resource in grants if resource == "*"}
    assert {action.split(":")[0] for action in star} <= STAR_RESOURCE_SERVICES


def test_no_managed_policies_are_attached(scenario: Stack) -> None:
    # Given the translated template (SAM attaches managed policies on "*" to roles it generates)
    roles = scenario.resources("AWS::IAM::Role")
    # Then the roles carry no managed policy: every grant is an explicit statement above
    assert roles, "the function needs a role"
    assert all(not role["Properties"].get("ManagedPolicyArns") for role in roles.values())
    assert not scenario.resources("AWS::IAM::ManagedPolicy")


def test_roles_can_be_assumed_by_lambda_only(scenario: Stack) -> None:
    for role in scenario.resources("AWS::IAM::Role").values():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"])


def test_default_grants_are_exactly_what_the_function_needs(stack: Stack) -> None:
    # Given the defaults (tracing PassThrough, the policy packaged in the layer)
    # Then the function gets what it calls, no X-Ray and no policy object
    assert _grants(stack) == FUNCTION_NEEDS | REEVALUATE_NEEDS


def test_policy_on_s3_grants_that_object_only_and_disabled_tracing_no_xray(translated: dict[str, Any]) -> None:
    # Given the policy on S3 and tracing disabled
    stack = Stack(translated, SCENARIOS["policy on S3, tracing off, reserved concurrency"])
    # Then the grants are the function's needs plus exactly that one object
    assert _grants(stack) == FUNCTION_NEEDS | REEVALUATE_NEEDS | POLICY_ON_S3_NEEDS
    env = stack.properties("GatekeeperFunction")["Environment"]["Variables"]
    assert env["POLICY_URI"] == f"s3://{POLICY_BUCKET}/{POLICY_KEY}"


def test_queue_accepts_notifications_from_the_upload_bucket_only(stack: Stack) -> None:
    # Given the queue policy and the bucket's (pre-computed) name
    bucket_name = stack.properties("UploadBucket")["BucketName"]
    document = stack.properties("UploadQueuePolicy")["PolicyDocument"]
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    # Then S3 may send messages only on behalf of that bucket in this account
    assert allows == [
        {
            "Sid": "AllowUploadBucketNotifications",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "${UploadQueue.Arn}",
            "Condition": {
                "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket_name}"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        }
    ]
    assert stack.properties("UploadQueuePolicy")["Queues"] == ["${UploadQueue}"]


def _tls_only(document: dict[str, Any]) -> list[str]:
    """The resources a policy denies every request to that comes without TLS."""
    denies = [s for s in document["Statement"] if s["Effect"] == "Deny"]
    assert len(denies) == 1, denies
    (deny,) = denies
    assert deny["Principal"] == "*" and deny["Action"] in ("s3:*", "sqs:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    return _as_list(deny["Resource"])


@pytest.mark.parametrize(
    ("policy", "resources"),
    [
        ("UploadQueuePolicy", ["${UploadQueue.Arn}"]),
        ("UploadDeadLetterQueuePolicy", ["${UploadDeadLetterQueue.Arn}"]),
        ("FailedInvocationQueuePolicy", ["${FailedInvocationQueue.Arn}"]),
        ("UploadBucketPolicy", ["${UploadBucket.Arn}", "${UploadBucket.Arn}/*"]),
        ("AccessLogBucketPolicy", ["${AccessLogBucket.Arn}", "${AccessLogBucket.Arn}/*"]),
    ],
)
def test_resource_policies_deny_requests_without_tls(stack: Stack, policy: str, resources: list[str]) -> None:
    assert _tls_only(stack.properties(policy)["PolicyDocument"]) == resources


def test_every_queue_and_bucket_of_the_stack_is_tls_only(stack: Stack) -> None:
    # Given every queue and bucket, and the resource policies that name them
    queues = {f"${{{name}}}" for name in stack.resources("AWS::SQS::Queue")}
    buckets = {f"${{{name}}}" for name in stack.resources("AWS::S3::Bucket")}
    covered = set()
    for policy in stack.resources("AWS::SQS::QueuePolicy").values():
        for queue in policy["Properties"]["Queues"]:
            assert f"{queue[:-1]}.Arn}}" in _tls_only(policy["Properties"]["PolicyDocument"])
            covered.add(queue)
    for policy in stack.resources("AWS::S3::BucketPolicy").values():
        bucket = policy["Properties"]["Bucket"]
        assert _tls_only(policy["Properties"]["PolicyDocument"]) == [f"{bucket[:-1]}.Arn}}", f"{bucket[:-1]}.Arn}}/*"]
        covered.add(bucket)
    # Then each has a policy refusing requests without TLS
    assert queues | buckets == covered
    assert len(queues) == 3 and len(buckets) == 2


def test_only_s3_log_delivery_for_the_upload_bucket_may_write_access_logs(stack: Stack) -> None:
    # Given the access-log bucket's policy and the upload bucket's (pre-computed) name
    bucket_name = stack.properties("UploadBucket")["BucketName"]
    prefix = stack.properties("UploadBucket")["LoggingConfiguration"]["LogFilePrefix"]
    document = stack.properties("AccessLogBucketPolicy")["PolicyDocument"]
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    # Then S3's log delivery may put objects under the upload bucket's prefix, for that bucket in this account only
    assert allows == [
        {
            "Sid": "AllowUploadBucketAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"${{AccessLogBucket.Arn}}/{prefix}*",
            "Condition": {
                "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket_name}"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        }
    ]
