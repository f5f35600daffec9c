"""The `gatekeeper` command line.

    gatekeeper decide FILE... [--policy P] [--meta KEY=VALUE]... [--date YYYY-MM-DD] [--json]
    gatekeeper invoke --event EVENT.json
    gatekeeper demo
    gatekeeper export --purpose P [--format jsonl|csv] [--output FILE]
    gatekeeper reevaluate [--policy P] [--segments N] [--date YYYY-MM-DD] [--json]
    gatekeeper policy check FILE
    gatekeeper catalogue init | add --carve-out ID [--reference-id REF] SOURCE... | remove REF... |
                         list [--json] | match FILE... [--json]
    gatekeeper consent set UPLOADER [--ai-opt-out|--no-ai-opt-out] [--genai-opt-in|--no-genai-opt-in] [--no-apply]
    gatekeeper consent show UPLOADER [--json] | init

Exit status: 0 on success (an ineligible upload is a success), 1 when the handler
failed (the event would be retried), 2 on bad usage or an invalid policy.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from gatekeeper.models import PURPOSES, DecisionInputs, PlatformMetadata, Policy, PolicyError, Verdict

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad usage or an invalid policy: a one-line message, exit status 2."""


class AwsFailure(Exception):
    """An AWS call failed (after botocore's retries): a one-line message, exit status 1."""


@contextlib.contextmanager
def _aws_calls(what: str) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise AwsFailure(f"{what} failed: {exc}") from exc


# ----------------------------------------------------------------- helpers


def _parse_date(text: str) -> dt.date:
    from gatekeeper.logic.policy import parse_day

    day = parse_day(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"bad date {text!r} (expected YYYY-MM-DD)")
    return day


def _parse_meta(pairs: Sequence[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--meta {pair!r}: expected KEY=VALUE")
        meta[key.strip().lower()] = value
    return meta


def _policy_max_bytes() -> int:
    from gatekeeper.logic.policy_document import max_bytes_from_env

    try:
        return max_bytes_from_env()
    except PolicyError as exc:
        raise UsageError(str(exc)) from exc


def load_policy(location: str | None) -> Policy:
    """`--policy`, else `POLICY_URI`, else the packaged default policy.

    Read by the function's own loader (the same bounds); a policy that cannot be read
    or validated is bad usage (exit 2), one S3 cannot serve right now a failure (exit 1).
    """
    from gatekeeper.dal.policy_source import PolicySource
    from gatekeeper.errors import PolicyUnavailable
    from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_text

    location = location or os.environ.get("POLICY_URI") or str(DEFAULT_POLICY_PATH)
    s3 = None
    if location.startswith("s3://"):
        from gatekeeper.dal.clients import aws_client

        s3 = aws_client("s3")
    source = PolicySource(location, s3_client=s3, max_bytes=_policy_max_bytes())
    try:
        data = source.document_bytes()
    except PolicyError as exc:  # no such file or object, not a file, over the size bound, access denied
        raise UsageError(str(exc)) from exc
    except PolicyUnavailable as exc:
        raise AwsFailure(f"reading the policy {location} failed: {exc.__cause__ or exc}") from exc
    try:
        return load_policy_text(data, source.max_bytes)
    except PolicyError as exc:
        raise UsageError(f"invalid policy {location}: {exc}") from exc


def verdict_json(inputs: DecisionInputs, verdict: Verdict) -> dict[str, Any]:
    """The table's consumer-facing attributes of one decision."""
    out: dict[str, Any] = {
        "eligible": dict(verdict.eligible),
        "reasons": {p: list(r) for p, r in verdict.reasons.items()},
        "rights": inputs.rights_summary(),
        "signals": inputs.signals,
        "policy_id": verdict.policy_id,
    }
    if verdict.terms_version:
        out["terms_version"] = verdict.terms_version
    if verdict.accepted_terms_version:
        out["accepted_terms_version"] = verdict.accepted_terms_version
    return out


def _verdict_cell(verdict: Verdict, purpose: str) -> str:
    mark = "ELIGIBLE" if verdict.eligible[purpose] else "no"
    return f"{mark} ({', '.join(verdict.reasons[purpose])})"


# ----------------------------------------------------------------- decide


def cmd_decide(args: argparse.Namespace) -> int:
    from gatekeeper.logic.decision import decide, decision_date
    from gatekeeper.tags import extract
    from gatekeeper.tags.limits import Limits

    policy = load_policy(args.policy)
    try:
        on = args.date or decision_date()
        limits = Limits.from_env()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    metadata = PlatformMetadata.from_user_metadata(_parse_meta(args.meta))
    _require_files(args.files)
    references = _references(policy)
    consent = _account_consent(metadata.uploader_id)
    for name in args.files:
        with open(name, "rb") as fileobj:
            extraction = extract(fileobj, limits=limits)
            content = _check_content(fileobj, references) if references is not None else None
        inputs = DecisionInputs(metadata=metadata, extraction=extraction, content=content, consent=consent)
        verdict = decide(inputs, policy, on)
        if args.json:
            print(json.dumps({"file": name, **verdict_json(inputs, verdict)}, ensure_ascii=False))
        else:
            fmt = extraction.format or "?"
            cells = "  ".join(f"{p}: {_verdict_cell(verdict, p)}" for p in PURPOSES)
            print(f"{name} [{fmt}]  {cells}")
    return EXIT_OK


def _require_files(names: Sequence[str]) -> None:
    for name in names:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"{name}: {'not a file' if path.exists() else 'no such file'}")


def _fingerprint_index() -> Any:
    """The reference catalogue named by `FINGERPRINT_TABLE_NAME`, at `AWS_ENDPOINT_URL` or AWS."""
    from gatekeeper.dal.fingerprint_index import index_from_env

    index = index_from_env()
    if index is None:
        raise UsageError("FINGERPRINT_TABLE_NAME is not set (the reference catalogue's fingerprint index)")
    return index


def _references(policy: Policy) -> Any:
    """The fingerprint index when the policy turns content identification on (else None)."""
    if policy.content_id is None:
        return None
    try:
        return _fingerprint_index()
    except UsageError as exc:
        raise UsageError(f"{exc}: the policy {policy.policy_id!r} turns content_id on") from None


def _consent_table(required: bool = False) -> Any:
    """The account consent table named by `CONSENT_TABLE_NAME` (None when unset, unless `required`)."""
    from gatekeeper.dal.consent_table import consents_from_env

    table = consents_from_env()
    if table is None and required:
        raise UsageError("CONSENT_TABLE_NAME is not set (the account consent table)")
    return table


def _account_consent(uploader_id: str | None) -> Any:
    table = _consent_table()
    if table is None or not uploader_id:
        return None
    with _aws_calls(f"reading the consent of {uploader_id}"):
        return table.get(uploader_id)


def _check_content(fileobj: Any, references: Any) -> Any:
    from gatekeeper import content_id

    fileobj.seek(0)
    with _aws_calls("matching against the reference catalogue"):
        return content_id.check(fileobj, references)


# ----------------------------------------------------------------- invoke


def cmd_invoke(args: argparse.Namespace) -> int:
    try:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--event {args.event}: {exc}") from exc
    if not os.environ.get("FLAGS_TABLE_NAME"):
        raise UsageError("FLAGS_TABLE_NAME is not set")
    # Like `decide`, default to the built-in policy; an invalid one is bad usage here.
    if not os.environ.get("POLICY_URI"):
        from gatekeeper.logic.policy import DEFAULT_POLICY_PATH

        os.environ["POLICY_URI"] = str(DEFAULT_POLICY_PATH)
    load_policy(os.environ["POLICY_URI"])
    # The template sets these for the function; give a local run the same defaults.
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "gatekeeper")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "UploadGatekeeper")
    from gatekeeper.local import LocalContext, handler_failed, upload_handler

    # The handler's structured logs and EMF metrics go to stderr, so stdout is the response alone.
    try:
        with contextlib.redirect_stdout(sys.stderr):
            response = upload_handler()(event, LocalContext())
    except Exception as exc:  # the event would be retried by Lambda
        print(json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}))
        return EXIT_FAILED
    print(json.dumps(response, indent=2, default=str, ensure_ascii=False))
    return EXIT_FAILED if handler_failed(response) else EXIT_OK


# ----------------------------------------------------------------- demo


def cmd_demo(args: argparse.Namespace) -> int:
    from gatekeeper.demo import DemoUnavailable, run_demo

    try:
        return run_demo(out=sys.stdout)
    except DemoUnavailable as exc:  # installed without the `demo` extra
        raise UsageError(str(exc)) from exc


# ----------------------------------------------------------------- export and reevaluate


def _flags_table(threads: int = 1) -> Any:
    """The flags table named by `FLAGS_TABLE_NAME`, at `AWS_ENDPOINT_URL` or AWS."""
    from gatekeeper.downstream.reevaluate import flags_table_for

    name = os.environ.get("FLAGS_TABLE_NAME", "").strip()
    if not name:
        raise UsageError("FLAGS_TABLE_NAME is not set")
    return flags_table_for(name, threads)


@contextlib.contextmanager
def _output(name: str | None) -> Iterator[TextIO]:
    if name is None or name == "-":
        yield sys.stdout
        return
    try:
        with open(name, "w", encoding="utf-8", newline="") as out:
            yield out
    except OSError as exc:
        raise UsageError(f"--output {name}: {exc.strerror}") from exc


def cmd_export(args: argparse.Namespace) -> int:
    from gatekeeper.downstream.export import export

    table = _flags_table()
    with _aws_calls(f"export from {table.table_name}"), _output(args.output) as out:
        count = export(table, args.purpose, out, fmt=args.format)
    print(f"{count} object(s) eligible for {args.purpose}", file=sys.stderr)
    return EXIT_OK


class ProgressBar:
    """Rows re-decided out of the table's approximate item count, redrawn on a terminal at most 10 times a second."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO, *, interval: float = 0.1) -> None:
        from gatekeeper.downstream.reevaluate import RowOutcome

        self._rewritten_outcome = RowOutcome.REWRITTEN
        self.total = total
        self.done = 0
        self.rewritten = 0
        self._stream = stream
        self._interval = interval
        self._drawn = 0.0
        self._lock = threading.Lock()

    def __call__(self, outcome: Any) -> None:
        with self._lock:
            self.done += 1
            self.rewritten += outcome is self._rewritten_outcome
            now = time.monotonic()
            if now - self._drawn >= self._interval:
                self._drawn = now
                self._draw()

    def close(self) -> None:
        with self._lock:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        total = max(self.total, self.done)
        filled = self.WIDTH * self.done // total if total else 0
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self._stream.write(f"\rreevaluate [{bar}] {self.done}/~{total} rows, {self.rewritten} rewritten")
        self._stream.flush()


def format_summary(summary: Any) -> str:
    """The run's summary for people: rows by outcome, then flips and reason codes per purpose."""
    data = summary.to_dict()
    lines = [
        f"scanned {data['scanned']} rows in {data['seconds']:.1f} s: {data['rewritten']} rewritten, "
        f"{data['unchanged']} unchanged, {data['superseded']} superseded by newer events, {data['skipped']} skipped"
    ]
    for purpose in PURPOSES:
        flips = data["flips"][purpose]
        added = ", ".join(f"+{code} {n}" for code, n in sorted(data["reasons_added"][purpose].items()))
        removed = ", ".join(f"-{code} {n}" for code, n in sorted(data["reasons_removed"][purpose].items()))
        lines.append(
            f"  {purpose}: {flips.get('to_eligible', 0)} now eligible, {flips.get('to_ineligible', 0)} now ineligible"
            + (f"; reasons {', '.join(filter(None, (added, removed)))}" if added or removed else "")
        )
    return "\n".join(lines)


def cmd_reevaluate(args: argparse.Namespace) -> int:
    from gatekeeper.dal.consent_table import CachedConsents
    from gatekeeper.downstream.reevaluate import Reevaluator
    from gatekeeper.logic.decision import decision_date

    if args.segments < 1:
        raise UsageError(f"--segments {args.segments}: must be at least 1")
    policy = load_policy(args.policy)
    try:
        on = args.date or decision_date()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    table = _flags_table(args.segments)
    references = _references(policy)
    with _aws_calls(f"reevaluate {table.table_name}"):
        progress = ProgressBar(table.approximate_item_count(), sys.stderr) if sys.stderr.isatty() else None
        consents = _consent_table()
        reevaluator = Reevaluator(
            table, policy, on, on_row=progress, references=references,
            consents=CachedConsents(consents) if consents is not None else None,
        )  # fmt: skip
        summary = reevaluator.run(args.segments)
    if progress is not None:
        progress.close()
    print(json.dumps(summary.to_dict(), sort_keys=True) if args.json else format_summary(summary))
    return EXIT_OK


# ----------------------------------------------------------------- catalogue


def cmd_catalogue_init(args: argparse.Namespace) -> int:
    index = _fingerprint_index()
    with _aws_calls(f"creating {index.table_name}"):
        created = index.create_table()
    print(f"{index.table_name}: {'created' if created else 'already exists'}")
    return EXIT_OK


def _reference_sources(sources: Sequence[str], reference_id: str | None) -> list[tuple[str, str]]:
    """(source, reference id) of each SOURCE: a local file or s3://bucket/key; the id defaults to its name or key."""
    if reference_id is not None and len(sources) != 1:
        raise UsageError("--reference-id names one reference: give exactly one SOURCE with it")
    found = []
    for source in sources:
        if source.startswith("s3://"):
            bucket, _, key = source[5:].partition("/")
            if not bucket or not key:
                raise UsageError(f"{source}: not an s3://bucket/key address")
            found.append((source, reference_id or key))
        else:
            _require_files([source])
            found.append((source, reference_id or Path(source).name))
    return found


@contextlib.contextmanager
def _opened(source: str) -> Iterator[Any]:
    """A local file, or an S3 object fetched whole into a temporary file (a reference is decoded whole)."""
    if not source.startswith("s3://"):
        with open(source, "rb") as fileobj:
            yield fileobj
        return
    import tempfile

    from gatekeeper.dal.clients import aws_client

    bucket, _, key = source[5:].partition("/")
    with tempfile.TemporaryFile() as spool:
        with _aws_calls(f"reading {source}"):
            aws_client("s3").download_fileobj(bucket, key, spool)
        spool.seek(0)
        yield spool


def cmd_catalogue_add(args: argparse.Namespace) -> int:
    from gatekeeper import content_id

    carve_out = args.carve_out.strip()
    if not carve_out or ":" in carve_out:
        raise UsageError(f"--carve-out {args.carve_out!r}: a carve-out id, without ':'")
    sources = _reference_sources(args.sources, args.reference_id)
    index = _fingerprint_index()
    for source, reference_id in sources:
        with _opened(source) as fileobj, _aws_calls(f"indexing {reference_id}"):
            try:
                reference = content_id.index_reference(fileobj, index, reference_id, carve_out, source=source)
            except content_id.ReferenceUnreadable as exc:
                raise UsageError(f"{source}: cannot be decoded as audio ({exc})") from exc
        print(
            f"{reference.reference_id}: indexed for {reference.carve_out}, {reference.duration_s or 0:.1f} s, "
            f"{reference.keys} keys, {reference.postings} postings"
        )
    return EXIT_OK


def cmd_catalogue_remove(args: argparse.Namespace) -> int:
    index = _fingerprint_index()
    missing = []
    for reference_id in args.references:
        with _aws_calls(f"removing {reference_id}"):
            removed = index.remove(reference_id)
        print(f"{reference_id}: {'removed' if removed else 'not in the catalogue'}")
        if not removed:
            missing.append(reference_id)
    if missing:
        raise UsageError(f"not in the catalogue: {', '.join(missing)}")
    return EXIT_OK


def cmd_catalogue_list(args: argparse.Namespace) -> int:
    index = _fingerprint_index()
    with _aws_calls(f"listing {index.table_name}"):
        references = sorted(index.references(), key=lambda r: (r.carve_out, r.reference_id))
    for reference in references:
        if args.json:
            print(json.dumps(reference.to_dict(), ensure_ascii=False, sort_keys=True))
        else:
            print(
                f"{reference.carve_out:20} {reference.reference_id:40} {reference.duration_s or 0:8.1f} s "
                f"{reference.keys:7} keys  {reference.added_at or ''}"
            )
    if not args.json:
        print(f"{len(references)} reference(s)", file=sys.stderr)
    return EXIT_OK


def cmd_catalogue_match(args: argparse.Namespace) -> int:
    _require_files(args.files)
    index = _fingerprint_index()
    for name in args.files:
        with open(name, "rb") as fileobj:
            content = _check_content(fileobj, index)
        result: dict[str, Any] = {"file": name, "matches": [match.to_dict() for match in content.matches]}
        if content.unchecked is not None:
            result["unchecked"] = content.unchecked
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            found = ", ".join(f"{m.carve_out}/{m.reference_id} (score {m.score})" for m in content.matches)
            print(f"{name}: {found or ('unchecked: ' + content.unchecked if content.unchecked else 'no match')}")
    return EXIT_OK


# ----------------------------------------------------------------- consent


def _consent_line(consent: Any) -> str:
    return (
        f"{consent.uploader_id}: ai_opt_out={str(consent.ai_opt_out).lower()} "
        f"genai_opt_in={str(consent.genai_opt_in).lower()} updated_at={consent.updated_at}"
    )


def cmd_consent_init(args: argparse.Namespace) -> int:
    table = _consent_table(required=True)
    with _aws_calls(f"creating {table.table_name}"):
        created = table.create_table()
    print(f"{table.table_name}: {'created' if created else 'already exists'}")
    return EXIT_OK


def cmd_consent_show(args: argparse.Namespace) -> int:
    table = _consent_table(required=True)
    with _aws_calls(f"reading the consent of {args.uploader}"):
        consent = table.get(args.uploader)
    if args.json:
        print(json.dumps(consent.to_dict() if consent else {"uploader_id": args.uploader, "record": None}))
    else:
        print(_consent_line(consent) if consent else f"{args.uploader}: no account record (the uploads' metadata decides)")
    return EXIT_OK


def cmd_consent_set(args: argparse.Namespace) -> int:
    from gatekeeper.downstream.consent import propagate
    from gatekeeper.logic.decision import decision_date

    uploader = args.uploader.strip()
    if not uploader:
        raise UsageError("UPLOADER: an uploader id is needed")
    table = _consent_table(required=True)
    policy = flags = None
    if not args.no_apply:  # check everything the propagation needs before changing the record
        policy, flags = load_policy(args.policy), _flags_table()
    with _aws_calls(f"setting the consent of {uploader}"):
        consent = table.set(uploader, ai_opt_out=args.ai_opt_out, genai_opt_in=args.genai_opt_in)
    print(_consent_line(consent))
    if args.no_apply:
        return EXIT_OK
    assert policy is not None
    with _aws_calls(f"re-deciding the uploads of {uploader}"):
        summary = propagate(flags, table, policy, decision_date(), uploader, references=_references(policy))
    data = summary.to_dict()
    print(f"{data['scanned']} upload(s) of {uploader} re-decided: {data['rewritten']} rewritten, "
          f"{data['unchanged']} unchanged, {data['superseded']} superseded by newer events")  # fmt: skip
    return EXIT_OK


# ----------------------------------------------------------------- policy


def cmd_policy_check(args: argparse.Namespace) -> int:
    """Every problem of a policy file, one line each, exit 2; never a traceback (the function's own loader)."""
    from gatekeeper.logic.policy import parse_policy, read_policy_document, validate_policy_errors
    from gatekeeper.logic.policy_document import read_policy_file

    max_bytes = _policy_max_bytes()
    document = None
    try:
        document = read_policy_document(read_policy_file(args.file, max_bytes), max_bytes)
        errors = validate_policy_errors(document)
    except PolicyError as exc:  # unreadable, too large, not strict JSON, too deep: nothing more to check
        errors = [str(exc)]
    if errors:
        print(f"{args.file}: {len(errors)} problem(s)", file=sys.stderr)
        for error in errors:
            print(f"{args.file}: {error}", file=sys.stderr)
        return EXIT_USAGE
    policy = parse_policy(document)
    print(
        f"{args.file}: valid policy {policy.policy_id!r}: "
        f"{len(policy.terms)} terms version(s), {len(policy.carve_outs)} carve-out(s)"
    )
    return EXIT_OK


# ----------------------------------------------------------------- main


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line (SPEC: a one-line message naming the problem)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gatekeeper", description="Upload gatekeeper for AI-training eligibility")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("decide", help="decide local files, with no AWS at all")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--policy", help="policy file or s3:// URI (default: POLICY_URI, else the built-in policy)")
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE", help="platform metadata")
    p.add_argument("--date", type=_parse_date, help="decision date (default: GATEKEEPER_DECISION_DATE, else today UTC)")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.set_defaults(func=cmd_decide)

    p = sub.add_parser("invoke", help="run the Lambda handler locally on an event file")
    p.add_argument("--event", required=True, metavar="EVENT.json")
    p.set_defaults(func=cmd_invoke)

    p = sub.add_parser("demo", help="the whole path on an in-process AWS emulator")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("export", help="every object eligible for a purpose, with its attribution")
    p.add_argument("--purpose", required=True, choices=PURPOSES)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--output", metavar="FILE", help="write here (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("reevaluate", help="decide every row again from its stored inputs, reading no audio")
    p.add_argument("--policy", help="policy file or s3:// URI (default: POLICY_URI, else the built-in policy)")
    p.add_argument("--segments", type=int, default=4, help="parallel scan segments, one thread each (default 4)")
    p.add_argument("--date", type=_parse_date, help="decision date (default: GATEKEEPER_DECISION_DATE, else today UTC)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_reevaluate)

    p = sub.add_parser("policy", help="policy operations")
    policy_sub = p.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="validate a policy file and explain every problem")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(func=cmd_policy_check)

    p = sub.add_parser("catalogue", help="the reference catalogue of content identification (FINGERPRINT_TABLE_NAME)")
    catalogue = p.add_subparsers(dest="catalogue_command", required=True)
    c = catalogue.add_parser("init", help="create the fingerprint index table where it does not exist")
    c.set_defaults(func=cmd_catalogue_init)
    c = catalogue.add_parser("add", help="index reference recordings (local files or s3://bucket/key)")
    c.add_argument("--carve-out", required=True, metavar="ID", help="the carve-out the recordings belong to")
    c.add_argument("--reference-id", metavar="REF", help="the reference's id (one SOURCE only; default: its name or key)")
    c.add_argument("sources", nargs="+", metavar="SOURCE")
    c.set_defaults(func=cmd_catalogue_add)
    c = catalogue.add_parser("remove", help="remove references")
    c.add_argument("references", nargs="+", metavar="REF")
    c.set_defaults(func=cmd_catalogue_remove)
    c = catalogue.add_parser("list", help="every reference of the catalogue")
    c.add_argument("--json", action="store_true", help="one JSON object per reference")
    c.set_defaults(func=cmd_catalogue_list)
    c = catalogue.add_parser("match", help="match local files against the catalogue, as an upload is")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--json", action="store_true", help="one JSON object per file: file, matches")
    c.set_defaults(func=cmd_catalogue_match)

    p = sub.add_parser("consent", help="account consent (CONSENT_TABLE_NAME)")
    consent = p.add_subparsers(dest="consent_command", required=True)
    c = consent.add_parser("set", help="change an account's consent and re-decide its uploads")
    c.add_argument("uploader", metavar="UPLOADER")
    c.add_argument("--ai-opt-out", action=argparse.BooleanOptionalAction, default=None,
                   help="opted out of all AI use (unchanged if not given; false in a new record)")  # fmt: skip
    c.add_argument("--genai-opt-in", action=argparse.BooleanOptionalAction, default=None,
                   help="opted in to generative training (unchanged if not given; false in a new record)")  # fmt: skip
    c.add_argument("--no-apply", action="store_true", help="only change the record (the function re-decides)")
    c.add_argument("--policy", help="policy file or s3:// URI (default: POLICY_URI, else the built-in policy)")
    c.set_defaults(func=cmd_consent_set)
    c = consent.add_parser("show", help="an account's consent record")
    c.add_argument("uploader", metavar="UPLOADER")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_consent_show)
    c = consent.add_parser("init", help="create the consent table where it does not exist")
    c.set_defaults(func=cmd_consent_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"gatekeeper: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AwsFailure as exc:
        print(f"gatekeeper: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `gatekeeper export ... | head`: the reader has gone, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
