"""Every IAM grant of the translated template is on an allow-list of what the code calls.

The template is translated by the SAM transform first, so whatever SAM itself
generates (roles, managed policies for event sources or tracing) is checked too.
The allow-list is per role: each role gets exactly what its own code (or the
service that assumes it) calls, under every scenario of parameters.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.template.cfn import ACCOUNT, Stack

BUCKET_OBJECTS = "${UploadBucket.Arn}/*"
POLICY_BUCKET, POLICY_KEY = "operator-policies", "gatekeeper/policy.json"
POLICY_OBJECT = f"arn:aws:s3:::{POLICY_BUCKET}/{POLICY_KEY}"
BACKFILL_MANIFESTS, REFERENCE_MANIFESTS = "operator-inventory", "operator-reference-manifests"

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
    # Content identification (the policy may turn it on at run time): matching reads the
    # postings of the upload's hash keys and resolves the matched references, both BatchGetItem.
    ("dynamodb:BatchGetItem", "${FingerprintTable.Arn}"),
    # Account consent: the uploader's record, read before the verdict is written and once after.
    ("dynamodb:GetItem", "${ConsentTable.Arn}"),
}
#: The re-evaluation function reads no upload: its logs, the table's scan and conditional rewrite,
#: and (content_id on) the stored fingerprints matched again, BatchGetItem as above.
REEVALUATE_NEEDS = {
    ("logs:CreateLogStream", "${ReevaluateLogGroup.Arn}"),
    ("logs:PutLogEvents", "${ReevaluateLogGroup.Arn}"),
    ("dynamodb:Scan", "${FlagsTable.Arn}"),
    ("dynamodb:PutItem", "${FlagsTable.Arn}"),
    ("sqs:SendMessage", "${FailedInvocationQueue.Arn}"),
    ("dynamodb:BatchGetItem", "${FingerprintTable.Arn}"),
    ("dynamodb:GetItem", "${ConsentTable.Arn}"),  # each account's record, once per run
}
#: Consent propagation: its logs, the consent stream (Lambda's poller), the account's record,
#: the account's rows from the uploader index and their conditional rewrites, stored
#: fingerprints matched again (content_id on), and the stream mapping's on-failure destination.
CONSENT_NEEDS = {
    ("logs:CreateLogStream", "${ConsentLogGroup.Arn}"),
    ("logs:PutLogEvents", "${ConsentLogGroup.Arn}"),
    ("dynamodb:DescribeStream", "${ConsentTable.StreamArn}"),
    ("dynamodb:GetRecords", "${ConsentTable.StreamArn}"),
    ("dynamodb:GetShardIterator", "${ConsentTable.StreamArn}"),
    ("dynamodb:ListStreams", "${ConsentTable.Arn}/stream/*"),
    ("dynamodb:GetItem", "${ConsentTable.Arn}"),
    ("dynamodb:Query", "${FlagsTable.Arn}/index/by-uploader"),
    ("dynamodb:PutItem", "${FlagsTable.Arn}"),
    ("dynamodb:BatchGetItem", "${FingerprintTable.Arn}"),
    ("sqs:SendMessage", "${ConsentDeadLetterQueue.Arn}"),
}
#: The reference indexing function: its logs, its queue (the SQS poller), the current object
#: under references/ (pinned by ETag, never a version), 404 for one removed before it is read,
#: and the index's writes (`FingerprintIndex.add`/`remove`: get, put, update, delete; no
#: BatchGetItem, which only matching calls, and no Scan, which only `catalogue list` calls).
REFERENCE_INDEX_NEEDS = {
    ("logs:CreateLogStream", "${ReferenceIndexLogGroup.Arn}"),
    ("logs:PutLogEvents", "${ReferenceIndexLogGroup.Arn}"),
    ("sqs:ReceiveMessage", "${ReferenceQueue.Arn}"),
    ("sqs:DeleteMessage", "${ReferenceQueue.Arn}"),
    ("sqs:GetQueueAttributes", "${ReferenceQueue.Arn}"),
    ("s3:GetObject", "${ReferenceBucket.Arn}/references/*"),
    ("s3:ListBucket", "${ReferenceBucket.Arn}"),
    ("dynamodb:GetItem", "${FingerprintTable.Arn}"),
    ("dynamodb:PutItem", "${FingerprintTable.Arn}"),
    ("dynamodb:UpdateItem", "${FingerprintTable.Arn}"),
    ("dynamodb:DeleteItem", "${FingerprintTable.Arn}"),
    ("sqs:SendMessage", "${FailedInvocationQueue.Arn}"),
}
#: S3 Batch Operations roles: invoke the function, read the manifests, write the reports.
BACKFILL_NEEDS = {
    ("lambda:InvokeFunction", "${GatekeeperFunctionAliaslive}"),
    ("s3:GetObject", f"arn:aws:s3:::{BACKFILL_MANIFESTS}/*"),
    ("s3:GetObjectVersion", f"arn:aws:s3:::{BACKFILL_MANIFESTS}/*"),
    ("s3:PutObject", f"arn:aws:s3:::{BACKFILL_MANIFESTS}/gatekeeper-backfill-reports/*"),
    ("s3:GetBucketLocation", f"arn:aws:s3:::{BACKFILL_MANIFESTS}"),
}
REFERENCE_BATCH_NEEDS = {
    ("lambda:InvokeFunction", "${ReferenceIndexFunction.Arn}"),
    ("s3:GetObject", f"arn:aws:s3:::{REFERENCE_MANIFESTS}/*"),
    ("s3:GetObjectVersion", f"arn:aws:s3:::{REFERENCE_MANIFESTS}/*"),
    ("s3:PutObject", f"arn:aws:s3:::{REFERENCE_MANIFESTS}/gatekeeper-reference-reports/*"),
    ("s3:GetBucketLocation", f"arn:aws:s3:::{REFERENCE_MANIFESTS}"),
}
TRACING_NEEDS = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}
POLICY_ON_S3_NEEDS = {("s3:GetObject", POLICY_OBJECT)}

#: Role -> (what it always needs, who assumes it, whether it reads the policy document).
ROLES = {
    "GatekeeperFunctionRole": (FUNCTION_NEEDS, "lambda.amazonaws.com", True),
    "ReevaluateFunctionRole": (REEVALUATE_NEEDS, "lambda.amazonaws.com", True),
    "ReferenceIndexFunctionRole": (REFERENCE_INDEX_NEEDS, "lambda.amazonaws.com", False),
    "ConsentFunctionRole": (CONSENT_NEEDS, "lambda.amazonaws.com", True),
    "BackfillRole": (BACKFILL_NEEDS, "batchoperations.s3.amazonaws.com", False),
    "ReferenceBatchRole": (REFERENCE_BATCH_NEEDS, "batchoperations.s3.amazonaws.com", False),
}
ALLOW_LIST = set().union(*(needs for needs, _, _ in ROLES.values())) | TRACING_NEEDS | POLICY_ON_S3_NEEDS
LAMBDA_ROLES = {"GatekeeperFunctionRole", "ReevaluateFunctionRole", "ReferenceIndexFunctionRole", "ConsentFunctionRole"}

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
    "both batch roles, tracing active, reference concurrency": {
        "BackfillManifestBucket": BACKFILL_MANIFESTS,
        "ReferenceManifestBucket": REFERENCE_MANIFESTS,
        "TracingMode": "Active",
        "ReferenceIndexConcurrency": "4",
    },
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


def _pairs(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    grants = set()
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        assert "Condition" not in statement, statement
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                grants.add((action, str(resource)))
    return grants


def _grants(stack: Stack) -> set[tuple[str, str]]:
    return _pairs(_statements(stack))


def _role_grants(stack: Stack, role: str) -> set[tuple[str, str]]:
    """What one role's inline policies allow."""
    statements: list[dict[str, Any]] = []
    for policy in stack.properties(role).get("Policies", []):
        statements += _as_list(policy["PolicyDocument"]["Statement"])
    return _pairs(statements)


def _expected(stack: Stack, role: str) -> set[tuple[str, str]]:
    """Exactly what `role` needs in this stack: its own needs, X-Ray when tracing, the policy object when on S3."""
    needs, _, reads_policy = ROLES[role]
    expected = set(needs)
    if role in LAMBDA_ROLES and stack.condition("TracingActive"):
        expected |= TRACING_NEEDS
    if reads_policy and stack.condition("PolicyOnS3"):
        expected |= POLICY_ON_S3_NEEDS
    return expected


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


def test_each_role_is_assumed_by_its_service_only(scenario: Stack) -> None:
    # Given every role of the stack: the functions' (Lambda) and the batch jobs' (S3 Batch Operations)
    for logical_id, role in scenario.resources("AWS::IAM::Role").items():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        # Then only the service its code runs under may assume it
        assert statement["Principal"] == {"Service": ROLES[logical_id][1]}, logical_id
        assert statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"])


def test_each_role_has_exactly_what_its_code_calls(scenario: Stack) -> None:
    # Given the roles of the stack under a set of parameters (a batch role exists only with its manifest bucket)
    roles = set(scenario.resources("AWS::IAM::Role"))
    assert roles == LAMBDA_ROLES | {
        role
        for role, condition in (("BackfillRole", "HasBackfill"), ("ReferenceBatchRole", "HasReferenceBatch"))
        if scenario.condition(condition)
    }
    # Then each role's grants are exactly its own needs in that stack, nothing of another role's
    for role in roles:
        assert _role_grants(scenario, role) == _expected(scenario, role), role


def test_default_grants_are_exactly_what_the_function_needs(stack: Stack) -> None:
    # Given the defaults (tracing PassThrough, the policy packaged in the layer, no batch roles)
    # Then the functions get what they call, no X-Ray and no policy object
    assert _grants(stack) == FUNCTION_NEEDS | REEVALUATE_NEEDS | REFERENCE_INDEX_NEEDS | CONSENT_NEEDS


def test_the_fingerprint_table_is_read_only_for_the_upload_and_reevaluation_functions(stack: Stack) -> None:
    # Given what each role may do on the fingerprint table
    on_index = {
        role: {action for action, resource in _role_grants(stack, role) if resource == "${FingerprintTable.Arn}"}
        for role in LAMBDA_ROLES
    }
    # Then matching (upload, re-evaluation) reads it with BatchGetItem alone; only the indexing function writes
    assert on_index == {
        "GatekeeperFunctionRole": {"dynamodb:BatchGetItem"},
        "ReevaluateFunctionRole": {"dynamodb:BatchGetItem"},
        "ReferenceIndexFunctionRole": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
        "ConsentFunctionRole": {"dynamodb:BatchGetItem"},
    }
    # And the indexing function reads the reference bucket under references/ only, and no upload
    reads = {(a, r) for a, r in _role_grants(stack, "ReferenceIndexFunctionRole") if a.startswith("s3:")}
    assert reads == {("s3:GetObject", "${ReferenceBucket.Arn}/references/*"), ("s3:ListBucket", "${ReferenceBucket.Arn}")}


def test_policy_on_s3_grants_that_object_only_and_disabled_tracing_no_xray(translated: dict[str, Any]) -> None:
    # Given the policy on S3 and tracing disabled
    stack = Stack(translated, SCENARIOS["policy on S3, tracing off, reserved concurrency"])
    # Then the grants are the functions' needs plus exactly that one object (the indexer reads no policy)
    assert _grants(stack) == FUNCTION_NEEDS | REEVALUATE_NEEDS | REFERENCE_INDEX_NEEDS | CONSENT_NEEDS | POLICY_ON_S3_NEEDS
    assert POLICY_ON_S3_NEEDS.isdisjoint(_role_grants(stack, "ReferenceIndexFunctionRole"))
    env = stack.properties("GatekeeperFunction")["Environment"]["Variables"]
    assert env["POLICY_URI"] == f"s3://{POLICY_BUCKET}/{POLICY_KEY}"


@pytest.mark.parametrize(
    ("bucket", "queue", "sid"),
    [
        ("UploadBucket", "UploadQueue", "AllowUploadBucketNotifications"),
        ("ReferenceBucket", "ReferenceQueue", "AllowReferenceBucketNotifications"),
    ],
)
def test_queue_accepts_notifications_from_its_bucket_only(stack: Stack, bucket: str, queue: str, sid: str) -> None:
    # Given the queue policy and the bucket's (pre-computed) name
    bucket_name = stack.properties(bucket)["BucketName"]
    document = stack.properties(f"{queue}Policy")["PolicyDocument"]
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    # Then S3 may send messages only on behalf of that bucket in this account
    assert allows == [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": f"${{{queue}.Arn}}",
            "Condition": {
                "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket_name}"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        }
    ]
    assert stack.properties(f"{queue}Policy")["Queues"] == [f"${{{queue}}}"]


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
        ("ReferenceQueuePolicy", ["${ReferenceQueue.Arn}"]),
        ("ReferenceDeadLetterQueuePolicy", ["${ReferenceDeadLetterQueue.Arn}"]),
        ("UploadBucketPolicy", ["${UploadBucket.Arn}", "${UploadBucket.Arn}/*"]),
        ("ReferenceBucketPolicy", ["${ReferenceBucket.Arn}", "${ReferenceBucket.Arn}/*"]),
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
    assert len(queues) == 6 and len(buckets) == 3


def test_only_s3_log_delivery_for_each_logged_bucket_may_write_its_access_logs(stack: Stack) -> None:
    # Given the access-log bucket's policy, and the (pre-computed) name and log prefix of each bucket logged there
    document = stack.properties("AccessLogBucketPolicy")["PolicyDocument"]
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    logged = ("UploadBucket", "ReferenceBucket")
    prefixes = [stack.properties(bucket)["LoggingConfiguration"]["LogFilePrefix"] for bucket in logged]
    assert len(set(prefixes)) == len(prefixes), "each bucket logs under a prefix of its own"
    # Then S3's log delivery may put objects under that bucket's prefix, for that bucket in this account only
    assert allows == [
        {
            "Sid": f"Allow{bucket}AccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"${{AccessLogBucket.Arn}}/{prefix}*",
            "Condition": {
                "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{stack.properties(bucket)['BucketName']}"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        }
        for bucket, prefix in zip(logged, prefixes, strict=True)
    ]
