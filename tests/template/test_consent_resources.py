"""Account consent's resources (issue 13): the consent table and its stream, the propagation
function and its mapping, its dead-letter queue and alarms; and, on the stack's own tables in
moto, a change propagated by the function with its template environment and nothing its role
does not allow."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from gatekeeper.dal.consent_table import ConsentTable, table_schema
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.handlers import consent as consent_handler
from tests.aws.support import Context
from tests.downstream.support import bulk_row
from tests.template.cfn import Stack, load_template
from tests.template.test_consistency import (  # noqa: F401 (fixtures)
    Deployment,
    _allowed,
    _dashboard_metrics,
    _emitted_metrics,
    _with_environment,
    aws_requests,
    deployed,
    parameters,
)


@pytest.mark.parametrize("protection", ["true", "false"])
def test_consent_table_is_the_adapters_schema_streamed_encrypted_and_protected(
    translated: dict[str, Any], protection: str
) -> None:
    stack = Stack(translated, {"TableDeletionProtection": protection})
    table = stack.properties("ConsentTable")
    # Keys, billing and stream are what the adapter creates (`gatekeeper consent init`) and reads
    schema = table_schema()
    for name in ("AttributeDefinitions", "KeySchema", "BillingMode"):
        assert table[name] == schema[name], name
    # CloudFormation's StreamSpecification has no StreamEnabled: a view type turns it on
    assert table["StreamSpecification"] == {"StreamViewType": schema["StreamSpecification"]["StreamViewType"]}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionProtectionEnabled"] == protection
    assert stack.template["Resources"]["ConsentTable"]["DeletionPolicy"] == "Retain"


def test_the_stream_drives_the_function_with_per_record_failures_and_a_dead_letter_queue(stack: Stack) -> None:
    # Given the consent stream's event source mapping
    (mapping,) = [
        m["Properties"] for m in stack.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == "${ConsentTable.StreamArn}"
    ]  # fmt: skip
    # Then it invokes the consent function from the oldest record kept, reporting failures per record,
    assert mapping["FunctionName"] == "${ConsentFunction}"
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # splitting a failing batch, and sending what fails every retry to the consent dead-letter queue
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": "${ConsentDeadLetterQueue.Arn}"}}
    assert int(mapping["MaximumRetryAttempts"]) >= 1
    # And batches are delivered within a second, several per shard (one account's records stay in order)
    assert [int(mapping[n]) for n in ("BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor")] == [
        100, 1, 4
    ]  # fmt: skip
    sam = load_template()["Resources"]["ConsentFunction"]
    assert (sam["Metadata"]["BuildMethod"], sam["Properties"]["CodeUri"]) == ("makefile", "functions/consent")
    function = stack.properties("ConsentFunction")
    assert (function["Handler"], function["Role"]) == ("app.lambda_handler", "${ConsentFunctionRole.Arn}")
    assert function["LoggingConfig"] == {"LogGroup": "${ConsentLogGroup}"}
    # The settle wait (5 s) and 10,000 rows at ~1,000 a second fit the timeout many times over
    assert int(function["Timeout"]) >= 60


def test_propagation_lag_and_dead_letters_are_alarmed(stack: Stack) -> None:
    alarms = {
        (a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]): a["Properties"]
        for a in stack.resources("AWS::CloudWatch::Alarm").values()
    }
    lag = alarms[("IteratorAge", "${ConsentFunction}")]
    assert (lag["Namespace"], int(lag["Threshold"])) == ("AWS/Lambda", 30000)  # half the one-minute goal
    dead = alarms[("ApproximateNumberOfMessagesVisible", "${ConsentDeadLetterQueue.QueueName}")]
    assert (int(dead["Threshold"]), dead["AlarmActions"]) == (0, ["${AlarmTopic}"])


def test_outputs_name_the_consent_table_index_and_function(stack: Stack, translated: dict[str, Any]) -> None:
    outputs = translated["Outputs"]
    assert stack.resolve(outputs["ConsentTableName"]["Value"]) == "${ConsentTable}"
    assert outputs["UploaderIndexName"]["Value"] == "by-uploader"
    assert stack.resolve(outputs["ConsentFunctionArn"]["Value"]) == "${ConsentFunction.Arn}"


# ---------------------------------------------------------------- on the stack's own tables


def _stream_event(deployment: Deployment, table: str) -> dict[str, Any]:
    """The consent stream's records so far, as the mapping hands them to the function."""
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    arn = deployment.dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        records += streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return {"Records": [{**record, "eventSourceARN": arn} for record in records]}


def test_an_opt_out_through_the_stack_reaches_the_accounts_rows(
    deployed: Deployment,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the stack's flags table holding an account's eligible rows, and its consent table
    flags_name = deployed.stack.physical["FlagsTable"]["Ref"]
    consent_name = deployed.stack.physical["ConsentTable"]["Ref"]
    flags = FlagsTable(deployed.dynamodb, flags_name)
    rows = [bulk_row(n, eligible=True) for n in range(3)]
    assert all(flags.put_verdict(row) for row in rows)
    uploader = rows[0].inputs.metadata.uploader_id
    assert uploader and {row.inputs.metadata.uploader_id for row in rows} == {uploader}
    # When the account opts out and the function handles the stream records, with its template environment
    ConsentTable(deployed.dynamodb, consent_name).set(uploader, ai_opt_out=True)
    event = _stream_event(deployed, consent_name)
    _with_environment(deployed.stack, "ConsentFunction", monkeypatch)
    monkeypatch.setenv("GATEKEEPER_CONSENT_SETTLE_SECONDS", "0")
    consent_handler.reset()
    from functions.consent import app

    capsys.readouterr()
    with aws_requests(monkeypatch) as requests:
        response = app.lambda_handler(event, Context())
    consent_handler.reset()
    # Then every row of the account is opted out
    assert response == {"batchItemFailures": []}
    for row in rows:
        item = flags.get(row.object_uri)
        assert item["reasons"]["ai_training"] == ["UPLOADER_OPT_OUT"], item["reasons"]
    # And the role allowed every call the function made (the uploader index, the record, the rewrites)
    assert {action for action, _ in requests} == {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem"}
    denied = {r for r in requests if not _allowed(deployed.stack, *r, role="ConsentFunctionRole")}
    assert not denied, denied
    # And what it emitted is on the dashboard
    emitted = _emitted_metrics(capsys.readouterr().out)
    assert ("ConsentRowsRewritten", (("service", "gatekeeper"),)) in emitted
    assert emitted <= _dashboard_metrics(deployed.stack), emitted - _dashboard_metrics(deployed.stack)
