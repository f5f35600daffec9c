"""`gatekeeper demo`: the main job, end to end, on an in-process AWS emulator.

A versioned upload bucket, an SQS queue, the flags table and the account consent
table are created in moto; sample uploads covering every decision rule are put with
their platform metadata; their S3 notifications travel through the queue to the real
Lambda handler in SQS batches, exactly as the event source mapping delivers them; the
verdicts are then read back from the table and printed.

Then an account that had opted in to generative training withdraws its opt-in: the
consent table's stream records are read from the emulated stream and handed to the
real consent propagation handler, and the account's rows flip (and no one else's).

The emulator is not a dependency of the gatekeeper: it comes with the `demo`
extra (`pip install 'upload-gatekeeper[demo]'`). Without it `run_demo` raises
`DemoUnavailable`, which the command reports in one line (exit status 2).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote_plus

from gatekeeper import demo_content
from gatekeeper.local import LocalContext, lambda_sqs_event, upload_handler
from gatekeeper.models import PURPOSES

BUCKET = "gatekeeper-demo-uploads"
QUEUE = "gatekeeper-demo-events"
TABLE = "gatekeeper-demo-flags"
CONSENT_TABLE = "gatekeeper-demo-consent"
REGION = "us-east-1"
#: Decision date of the demo (fixed, so the table is the same every run).
DEMO_DATE = "2026-01-15"
#: A date before the revisions, to show the terms *in force* deciding.
EARLY_DATE = "2023-06-01"

#: The package extra that brings the emulator, and the emulated services the demo uses.
DEMO_EXTRA = "upload-gatekeeper[demo]"
EMULATED_SERVICES = ("s3", "sqs", "dynamodb", "dynamodbstreams")

Mutator = Callable[[bytes], bytes]


class DemoUnavailable(RuntimeError):
    """The demo's emulator (the `demo` extra) is not installed; str() is one line saying how to get it."""


def require_emulator() -> None:
    """Import moto and the backends of the services the demo emulates, or raise `DemoUnavailable`."""
    try:
        importlib.import_module("moto")
        for service in EMULATED_SERVICES:
            importlib.import_module(f"moto.{service}.models")
    except ImportError as exc:
        missing = exc.name or str(exc)
        raise DemoUnavailable(
            f"the demo needs the AWS emulator moto, from the 'demo' extra ({missing} is not installed): "
            f"pip install '{DEMO_EXTRA}'"
        ) from None


@dataclass(frozen=True)
class Upload:
    """One sample upload and the rule it shows."""

    key: str
    fmt: str
    shows: str
    metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    xmp: tuple[str | None, str | None] | None = None  # (DMI code, tdm:reservation)
    c2pa: dict[str, str] | None = None  # entry -> use, in a c2pa.training-mining assertion
    corrupt: bool = False
    delete_after: bool = False
    date: str = DEMO_DATE


def _accepted(version: str = "2025-05-14", **extra: str) -> dict[str, str]:
    return {"uploader-id": "user-1001", "terms-version": version, **extra}


UPLOADS: tuple[Upload, ...] = (
    Upload("tracks/current terms.mp3", "mp3", "current terms: ai granted, genai needs opt-in", _accepted(),
           tags={"title": "Morning", "artist": "Ana Ruiz", "isrc": "GBXYZ2500001"}),
    Upload("tracks/opted-in.flac", "flac", "explicit genai opt-in", _accepted(**{"genai-opt-in": "true"}),
           tags={"title": "Opt In", "artist": "Ana Ruiz"}),
    Upload("tracks/2024 terms.ogg", "ogg_vorbis", "older terms: the current terms still need opt-in", _accepted("2024-02-12")),
    Upload("tracks/legacy+terms.m4a", "mp4", "accepted terms grant nothing", _accepted("2023-01-01")),
    Upload("tracks/no terms.wav", "wav", "no terms-version", {"uploader-id": "user-1002"}),
    Upload("tracks/future terms.aiff", "aiff", "terms version the policy does not know", _accepted("2099-01-01")),
    Upload("tracks/opted out.opus", "opus", "uploader opted out of all AI use", _accepted(**{"ai-opt-out": ""})),
    Upload("labels/acme by label.mp3", "mp3", "carve-out: label/publisher tag", _accepted(),
           tags={"label": "ACME RECORDS"}),
    Upload("labels/acme by isrc.flac", "flac", "carve-out: ISRC registrant", _accepted(),
           tags={"isrc": "US-AC1-25-00042"}),
    Upload("labels/acme by upc.ogg", "ogg_vorbis", "carve-out: UPC (leading zeros)", _accepted(),
           tags={"upc": "00123456789012"}),
    Upload("labels/acme copyright.m4a", "mp4", "carve-out: label named in the copyright", _accepted(),
           tags={"copyright": "℗ 2025 Acme Music Group Ltd."}),
    Upload("labels/acme official.wav", "wav", "carve-out: the label's own account",
           {"uploader-id": "acme-official", "terms-version": "2025-05-14"}),
    Upload("labels/acme feed.m4a", "mp4", "carve-out: partner feed", _accepted(**{"partner-id": "acme-feed"})),
    Upload("labels/other distributor.mp3", "mp3", "partner no carve-out lists", _accepted(**{"partner-id": "indie-dist"})),
    Upload("signals/xmp no genai.mp3", "mp3", "XMP plus:DataMining prohibits genai", _accepted(**{"genai-opt-in": "true"}),
           xmp=("DMI-PROHIBITED-GENAIMLTRAINING", None)),
    Upload("signals/xmp no ai.mp3", "mp3", "XMP plus:DataMining prohibits all AI/ML training", _accepted(),
           xmp=("DMI-PROHIBITED-AIMLTRAINING", None)),
    Upload("signals/tdmrep.wav", "wav", "XMP tdm:reservation = 1", _accepted(), xmp=(None, "1")),
    Upload("signals/tdm tag.ogg", "ogg_vorbis", "text tag TDM_RESERVATION=1", _accepted(),
           tags={"TDM_RESERVATION": "1"}),
    Upload("signals/ai_training no.m4a", "mp4", "text tag AI_TRAINING=no", _accepted(),
           tags={"AI_TRAINING": "no"}),
    Upload("signals/genai-training no.flac", "flac", "text tag GENAI-TRAINING=denied", _accepted(**{"genai-opt-in": "true"}),
           tags={"GENAI-TRAINING": "denied"}),
    Upload("signals/c2pa.wav", "wav", "C2PA training-mining: genai notAllowed", _accepted(**{"genai-opt-in": "true"}),
           c2pa={"c2pa.ai_generative_training": "notAllowed", "c2pa.ai_training": "allowed"}),
    Upload("broken/truncated.flac", "flac", "not readable as audio: fail closed", _accepted(), corrupt=True),
    Upload("broken/deleted.mp3", "mp3", "uploaded, then deleted: revoked", _accepted(), delete_after=True),
    Upload("early/decided 2023.mp3", "mp3", f"decided on {EARLY_DATE}: terms then in force grant nothing",
           _accepted("2023-01-01"), date=EARLY_DATE),
)


#: The account that withdraws its genai opt-in, and its uploads (their metadata opted in too).
CONSENT_ACCOUNT = "user-3001"
CONSENT_UPLOADS: tuple[Upload, ...] = tuple(
    Upload(f"account/{name}", fmt, "an account's upload: its record decides consent", _accepted(**{"genai-opt-in": "true"})
           | {"uploader-id": CONSENT_ACCOUNT}, tags={"title": title, "artist": "Mara Lind"})
    for name, fmt, title in (("first single.mp3", "mp3", "First"), ("b-side.flac", "flac", "Second"),
                             ("live take.m4a", "mp4", "Third"))
)  # fmt: skip


#: The content-identification scene's uploads (gatekeeper.demo_content), as the table shows them.
CONTENT_UPLOADS: tuple[Upload, ...] = tuple(
    Upload(u.key, u.container, u.shows, _accepted(**{"genai-opt-in": "true"})) for u in demo_content.CONTENT_UPLOADS
)


# ---------------------------------------------------------------- audio


def _audio(upload: Upload) -> bytes:
    from gatekeeper.samples import make_audio
    from gatekeeper.tags.xmp import xmp_packet

    xmp = xmp_packet(dmi=upload.xmp[0], tdm=upload.xmp[1]) if upload.xmp else None
    data = make_audio(upload.fmt, tags=upload.tags, xmp=xmp)
    if upload.c2pa:
        from gatekeeper.tags.c2pa import c2pa_store
        from gatekeeper.tags.riff import add_riff_chunk

        store = c2pa_store({"c2pa.training-mining": {"entries": {e: {"use": u} for e, u in upload.c2pa.items()}}})
        data = add_riff_chunk(data, b"C2PA", store)
    if upload.corrupt:
        data = data[: len(data) // 3]
        data = data[:4] + b"\x00" * 60 + data[64:]
    return data


# ---------------------------------------------------------------- AWS plumbing


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _notification(kind: str, key: str, sequencer: str, response: dict[str, Any], size: int | None) -> str:
    """The S3 event notification S3 would queue for one operation (keys URL-encoded)."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": sequencer}
    if response.get("ETag"):
        obj["eTag"] = response["ETag"].strip('"')
    if response.get("VersionId"):
        obj["versionId"] = response["VersionId"]
    if size is not None:
        obj["size"] = size
    name = "ObjectCreated:Put"
    if kind == "removed":
        name = "ObjectRemoved:DeleteMarkerCreated" if response.get("DeleteMarker") else "ObjectRemoved:Delete"
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": f"{DEMO_DATE}T12:00:00.000Z",
        "eventName": name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "gatekeeper-demo",
            "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
            "object": obj,
        },
    }
    return json.dumps({"Records": [record]})


class _Emulated:
    """The demo's bucket, queue and table in moto, and the handler fed from the queue."""

    def __init__(self) -> None:
        import boto3
        from botocore.config import Config

        from gatekeeper.dal import consent_table
        from gatekeeper.dal.clients import aws_client
        from gatekeeper.dal.flags_table import create_table

        self.s3 = aws_client("s3")
        self.sqs = aws_client("sqs")
        self.dynamodb = aws_client("dynamodb")
        self.s3.create_bucket(Bucket=BUCKET)
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        create_table(self.dynamodb, TABLE)
        consent_table.create_table(self.dynamodb, CONSENT_TABLE)
        self.consents = consent_table.ConsentTable(self.dynamodb, CONSENT_TABLE)
        # botocore addresses a stream by its account (<account>.streams-ddb...), which moto does not route
        self.streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        self.stream_arn = self.dynamodb.describe_table(TableName=CONSENT_TABLE)["Table"]["LatestStreamArn"]
        self._stream_position: dict[str, str] = {}  # shard -> iterator for the next records
        self.handler = upload_handler()
        self.context_factory = LocalContext
        self._sequence = itertools.count(0x5A00_0000_0000_0000_00)
        self.handler_output = io.StringIO()

    def _sequencer(self) -> str:
        return f"{next(self._sequence):018X}"

    def put(self, upload: Upload) -> None:
        body = _audio(upload)
        response = self.s3.put_object(Bucket=BUCKET, Key=upload.key, Body=body, Metadata=upload.metadata)
        self._queue("created", upload.key, response, len(body))

    def put_body(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        response = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=metadata)
        self._queue("created", key, response, len(body))

    def delete(self, key: str) -> None:
        self._queue("removed", key, self.s3.delete_object(Bucket=BUCKET, Key=key), None)

    def _queue(self, kind: str, key: str, response: dict[str, Any], size: int | None) -> None:
        body = _notification(kind, key, self._sequencer(), response, size)
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def drain(self) -> int:
        """Deliver the queue to the handler in batches of up to 10; the failed messages count."""
        failed = 0
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
            ).get("Messages", [])
            if not messages:
                return failed
            # The handler's structured logs and EMF metrics go to stdout, as in Lambda; keep them aside.
            with contextlib.redirect_stdout(self.handler_output):
                response = self.handler(lambda_sqs_event(messages, self.queue_arn), self.context_factory())
            failures = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            failed += len(failures)
            for message in messages:  # the event source mapping deletes what succeeded
                if message["MessageId"] not in failures:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if failures:  # failed ones would come back after the visibility timeout; the demo stops here
                return failed

    def stream_records(self) -> list[dict[str, Any]]:
        """The consent table's stream records not read yet, shard by shard (GetRecords)."""
        records: list[dict[str, Any]] = []
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            iterator = self._stream_position.get(shard["ShardId"]) or self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            page = self.streams.get_records(ShardIterator=iterator)
            records += page["Records"]
            self._stream_position[shard["ShardId"]] = page["NextShardIterator"]
        return records

    def propagate(self) -> int:
        """Hand the new stream records to the consent function, as its event source mapping would; failures."""
        from gatekeeper.local import consent_handler, lambda_stream_event

        records = self.stream_records()
        if not records:
            return 0
        with contextlib.redirect_stdout(self.handler_output):
            response = consent_handler()(lambda_stream_event(records, self.stream_arn), self.context_factory())
        return len(response.get("batchItemFailures", []))

    def rows(self) -> dict[str, dict[str, Any]]:
        from gatekeeper.dal.flags_table import FlagsTable

        table = FlagsTable(self.dynamodb, TABLE)
        return {row["key"]: dict(row) for row in table.scan()}


# ---------------------------------------------------------------- output


def _cell(row: dict[str, Any], purpose: str) -> str:
    eligible = row.get("eligible", {}).get(purpose)
    return ("yes " if eligible else "no  ") + ", ".join(row.get("reasons", {}).get(purpose, []))


def _inputs(upload: Upload) -> str:
    """The upload's platform metadata and embedded tags, compactly: what the verdict rests on."""
    parts = [f"{k}={v!r}" if v == "" else f"{k}={v}" for k, v in upload.metadata.items()]
    parts += [f"{k}={v}" for k, v in upload.tags.items()]
    if upload.xmp:
        parts.append("xmp " + ("plus:DataMining=" + upload.xmp[0] if upload.xmp[0] else f"tdm:reservation={upload.xmp[1]}"))
    if upload.c2pa:
        parts.append("c2pa " + ", ".join(f"{e}={u}" for e, u in upload.c2pa.items()))
    if upload.corrupt:
        parts.append("truncated, header zeroed")
    return "; ".join(parts) or "-"


def render(rows: dict[str, dict[str, Any]], out: TextIO, uploads: tuple[Upload, ...] = UPLOADS) -> set[str]:
    """Print the verdict table of `uploads`; the reason codes it shows."""
    codes: set[str] = set()
    width = max(len(u.key) for u in UPLOADS + CONSENT_UPLOADS + CONTENT_UPLOADS)
    out.write(f"{'upload':<{width}}  {'format':<10}  what it shows / its inputs / per purpose: eligible? reasons\n")
    out.write("-" * (width + 90) + "\n")
    for upload in uploads:
        row = rows.get(upload.key)
        if row is None:
            out.write(f"{upload.key:<{width}}  MISSING: no row written\n")
            continue
        fmt = row.get("rights", {}).get("format", "-")
        status = "" if row.get("status") == "decided" else f" [status: {row.get('status')}]"
        out.write(f"{upload.key:<{width}}  {fmt:<10}  {upload.shows}{status}\n")
        out.write(f"{'':<{width}}  {'':<10}    inputs: {_inputs(upload)}\n")
        account = (row.get("inputs", {}).get("consent") or {}).get("account")
        if account:
            out.write(f"{'':<{width}}  {'':<10}    consent: the account's record, genai_opt_in="
                      f"{str(account['genai_opt_in']).lower()} ai_opt_out={str(account['ai_opt_out']).lower()}\n")  # fmt: skip
        for purpose in PURPOSES:
            out.write(f"{'':<{width}}  {'':<10}    {purpose:<15} {_cell(row, purpose)}\n")
            codes.update(reason.split(":", 1)[0] for reason in row.get("reasons", {}).get(purpose, []))
    return codes


def run_demo(out: TextIO) -> int:
    """Run the demo; 0 when every upload got its row and every reason code was shown.

    Raises `DemoUnavailable` before doing anything when the `demo` extra is missing.
    """
    require_emulator()
    from moto import mock_aws

    from gatekeeper.logic.decision import CONTENT_MATCH, CONTENT_UNCHECKED, REASON_CODES
    from gatekeeper.logic.policy import DEFAULT_POLICY_PATH

    environment = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "FLAGS_TABLE_NAME": TABLE,
        "CONSENT_TABLE_NAME": CONSENT_TABLE,
        # Read only under a policy with content_id (the content-identification scene)
        "FINGERPRINT_TABLE_NAME": demo_content.FINGERPRINT_TABLE,
        "GATEKEEPER_CONSENT_SETTLE_SECONDS": "0",  # the emulator's index is consistent at once
        "POLICY_URI": str(DEFAULT_POLICY_PATH),
        "GATEKEEPER_DECISION_DATE": DEMO_DATE,
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "gatekeeper",
        "POWERTOOLS_METRICS_NAMESPACE": "UploadGatekeeper",
    }
    with _environment({**environment, "AWS_ENDPOINT_URL": ""}), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL")  # the emulator is in process: no endpoint
        aws = _Emulated()
        aws.consents.set(CONSENT_ACCOUNT, genai_opt_in=True)  # the account opted in, in its settings
        failed = aws.propagate()  # (it has no uploads yet)
        for date in sorted({u.date for u in UPLOADS}):
            os.environ["GATEKEEPER_DECISION_DATE"] = date
            for upload in (u for u in UPLOADS + CONSENT_UPLOADS if u.date == date):
                aws.put(upload)
            failed += aws.drain()
        os.environ["GATEKEEPER_DECISION_DATE"] = DEMO_DATE
        for upload in UPLOADS:
            if upload.delete_after:
                aws.delete(upload.key)
        failed += aws.drain()
        rows = aws.rows()
        # The account withdraws its opt-in: its stream record drives the consent function
        withdrawn = aws.consents.set(CONSENT_ACCOUNT, genai_opt_in=False)
        failed += aws.propagate()
        after = aws.rows()
        # Content identification: a reference catalogue, and uploads whose audio alone names the label
        skipped = demo_content.unavailable()
        if skipped is None:
            with tempfile.TemporaryDirectory(prefix="gatekeeper-demo-") as scratch:
                reference = demo_content.build_catalogue(aws.dynamodb)
                os.environ["POLICY_URI"] = str(demo_content.content_policy(DEFAULT_POLICY_PATH, Path(scratch)))
                for key, body in demo_content.bodies().items():
                    aws.put_body(key, body, _accepted(**{"genai-opt-in": "true"}))
                failed += aws.drain()
            content_rows = aws.rows()
        emitted = aws.handler_output.getvalue().splitlines()
    policy_id = json.loads(DEFAULT_POLICY_PATH.read_text())["policy_id"]
    out.write(f"Uploads to s3://{BUCKET}/ (moto, in process) -> SQS -> Lambda handler -> DynamoDB {TABLE}\n")
    out.write(f"Policy {policy_id} (built-in default); decision date {DEMO_DATE} unless shown otherwise\n\n")
    codes = render(rows, out)
    out.write(f"\nAccount consent: {CONSENT_ACCOUNT} had opted in to generative training in its settings\n\n")
    render(rows, out, CONSENT_UPLOADS)
    out.write(f"\n{CONSENT_ACCOUNT} withdraws the opt-in (consent table, updated_at {withdrawn.updated_at}); its stream\n"
              "record -> the consent function -> every upload of the account re-decided from stored inputs:\n\n")  # fmt: skip
    render(after, out, CONSENT_UPLOADS)
    flipped = [u.key for u in CONSENT_UPLOADS if after[u.key]["eligible"]["genai_training"] is False]
    others_same = all(after[u.key]["eligible"] == rows[u.key]["eligible"] for u in UPLOADS if u.key in rows)
    out.write(f"\n{len(flipped)}/{len(CONSENT_UPLOADS)} uploads of {CONSENT_ACCOUNT} flipped for genai_training; "
              f"the other {len(UPLOADS)} uploads {'unchanged' if others_same else 'CHANGED'}\n")  # fmt: skip
    missing_rows = [u.key for u in UPLOADS + CONSENT_UPLOADS if u.key not in rows]
    if skipped is None:
        out.write(f"\nContent identification (policy with content_id): {reference.carve_out} delivered the reference "
                  f"{reference.reference_id} ({reference.duration_s:.0f} s, {reference.keys} keys in the fingerprint "
                  "table);\nthe uploads below carry no tags naming the label:\n\n")  # fmt: skip
        codes |= render(content_rows, out, CONTENT_UPLOADS)
        missing_rows += [u.key for u in CONTENT_UPLOADS if u.key not in content_rows]
        shown = list(REASON_CODES)
    else:  # content identification's reasons need the extra and the music
        out.write(f"\nContent identification: skipped ({skipped})\n")
        shown = [code for code in REASON_CODES if code not in (CONTENT_MATCH, CONTENT_UNCHECKED)]
    missing_codes = [code for code in shown if code not in codes]
    metrics = sum('"_aws"' in line for line in emitted)
    out.write(f"\nThe handler emitted {metrics} EMF metric records and {len(emitted) - metrics} log lines (not shown).")
    out.write(f"\n{len(rows)} rows; reason codes shown: {len(shown) - len(missing_codes)}/{len(shown)}")
    out.write(f" (missing: {', '.join(missing_codes)})\n" if missing_codes else "\n")
    if failed or missing_rows or len(flipped) != len(CONSENT_UPLOADS) or not others_same:
        out.write(f"FAILED: {failed} message(s) failed; rows missing for {missing_rows}\n")
        return 1
    return 0 if not missing_codes else 1
