"""Policy documents: validation messages and the compiled lookups (SPEC "Policy document")."""

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.logic.policy import (
    DEFAULT_POLICY_PATH,
    CompiledPolicy,
    compile_policy,
    load_policy_file,
    load_policy_text,
    parse_policy,
    read_policy_document,
    validate_policy_errors,
)
from gatekeeper.models import AI_TRAINING, GENAI_TRAINING, Policy, PolicyError

SPEC_DOC: dict[str, Any] = json.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def spec_doc() -> dict[str, Any]:
    return copy.deepcopy(SPEC_DOC)


def mutated(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    doc = spec_doc()
    change(doc)
    return doc


def test_default_policy_is_specs_example() -> None:
    # Given the packaged default policy, When loaded, Then it is SPEC's example, compiled.
    policy = load_policy_file(DEFAULT_POLICY_PATH)
    assert isinstance(policy, CompiledPolicy)
    assert policy.policy_id == "terms-2025-05"
    assert [t.version for t in policy.terms] == ["2023-01-01", "2024-02-12", "2025-05-14"]
    assert policy.terms[2].grants == {AI_TRAINING} and policy.terms[2].opt_in == {GENAI_TRAINING}
    (acme,) = policy.carve_outs
    assert (acme.id, acme.rightsholder) == ("acme-records", "Acme Records")
    assert acme.partners == {"acme-feed"} and acme.uploaders == {"acme-official"}
    assert acme.labels == ("acme records", "acme music group")
    assert acme.isrcs == {"USAC12400001"} and acme.isrc_registrants == {"USAC1"}
    assert acme.upcs == {"123456789012"}


def test_carve_out_purposes_default_to_all_and_match_values_are_normalized() -> None:
    # Given a carve-out without purposes and with match values written loosely
    doc = {
        "policy_id": "p",
        "terms": [{"version": "v1", "effective": "2024-01-01", "grants": [AI_TRAINING]}],
        "carve_outs": [
            {
                "id": "x",
                "match": {
                    "partners": [" Feed-A "],
                    "uploaders": ["UP"],
                    "labels": ["ＸＹＺ Music, Inc."],
                    "isrcs": ["gb-xyz-24-00001"],
                    "isrc_registrants": ["gb-xyz"],
                    "upcs": ["0 12345 67890 5"],
                },
            }
        ],
    }
    # When parsed
    (carve_out,) = parse_policy(doc).carve_outs
    # Then it covers every purpose and every value is in its compared form
    assert carve_out.purposes == {AI_TRAINING, GENAI_TRAINING}
    assert carve_out.partners == {"feed-a"} and carve_out.uploaders == {"up"}
    assert carve_out.labels == ("xyz music inc",)
    assert carve_out.isrcs == {"GBXYZ2400001"} and carve_out.isrc_registrants == {"GBXYZ"}
    assert carve_out.upcs == {"12345678905"}


def test_terms_lookups() -> None:
    # Given SPEC's policy with its terms listed out of order
    policy = parse_policy(mutated(lambda d: d["terms"].reverse()))
    # Then T is the latest effective on or before the date, and A is found by version, case-insensitively
    assert policy.terms_in_force(dt.date(2022, 12, 31)) is None
    assert policy.terms_in_force(dt.date(2023, 1, 1)).version == "2023-01-01"
    assert policy.terms_in_force(dt.date(2025, 5, 13)).version == "2024-02-12"
    assert policy.terms_in_force(dt.date(2030, 1, 1)).version == "2025-05-14"
    assert policy.accepted_terms(" 2024-02-12 ").effective == dt.date(2024, 2, 12)
    assert policy.accepted_terms("2099-01-01") is None and policy.accepted_terms(None) is None


def test_compile_policy_of_a_plain_policy() -> None:
    # Given a Policy built by hand (not through parse_policy)
    parsed = parse_policy(spec_doc())
    plain = Policy(policy_id=parsed.policy_id, terms=tuple(reversed(parsed.terms)), carve_outs=parsed.carve_outs)
    # When compiled, Then it equals the parsed one; a compiled one is returned as is
    assert compile_policy(plain) == parsed
    assert compile_policy(parsed) is parsed


def _parent(doc: dict[str, Any], path: str) -> tuple[Any, str | int]:
    """The container holding `a.b[0].c` in the document, and the last step."""
    *parents, last = _steps(path)
    target: Any = doc
    for step in parents:
        target = target[step]
    return target, last


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target, last = _parent(doc, path)
        target[last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target, last = _parent(doc, path)
        del target[last]

    return change


def _versions(*versions: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        for terms, version in zip(doc["terms"], versions, strict=False):
            terms["version"] = version

    return change


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in path.split("."):
        name, *indexes = part.replace("]", "").split("[")
        steps.append(name)
        steps.extend(int(i) for i in indexes)
    return steps


MATCH = "carve_outs[0].match"

INVALID: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    # unknown keys at every level
    (
        "unknown top-level key",
        _set("comment", "x"),
        "comment: unknown key (expected one of: policy_id, terms, carve_outs, content_id)",
    ),
    (
        "unknown terms key",
        _set("terms[1].grant", []),
        "terms[1].grant: unknown key (expected one of: version, effective, grants, opt_in)",
    ),
    (
        "unknown carve-out key",
        _set("carve_outs[0].label", "x"),
        "carve_outs[0].label: unknown key (expected one of: id, rightsholder, purposes, match)",
    ),
    (
        "unknown match key",
        _set(f"{MATCH}.isrc", []),
        f"{MATCH}.isrc: unknown key (expected one of: partners, uploaders, labels, isrcs, isrc_registrants, upcs)",
    ),
    # missing required fields
    ("missing policy_id", _delete("policy_id"), "policy_id: missing required field"),
    ("missing terms", _delete("terms"), "terms: missing required field"),
    ("missing version", _delete("terms[0].version"), "terms[0].version: missing required field"),
    ("missing effective", _delete("terms[2].effective"), "terms[2].effective: missing required field"),
    ("missing carve-out id", _delete("carve_outs[0].id"), "carve_outs[0].id: missing required field"),
    ("missing match", _delete(f"{MATCH}"), f"{MATCH}: missing required field"),
    # wrong types and empty values
    ("policy_id a number", _set("policy_id", 7), "policy_id: expected a string, got number"),
    ("policy_id empty", _set("policy_id", "  "), "policy_id: must not be empty"),
    ("terms an object", _set("terms", {}), "terms: expected an array, got object"),
    ("terms empty", _set("terms", []), "terms: must not be empty"),
    ("terms entry a string", _set("terms[0]", "2023-01-01"), "terms[0]: expected an object, got string"),
    ("version a number", _set("terms[0].version", 2023), "terms[0].version: expected a string, got number"),
    ("grants a string", _set("terms[1].grants", "ai_training"), "terms[1].grants: expected an array, got string"),
    ("carve_outs null", _set("carve_outs", None), "carve_outs: expected an array, got null"),
    (
        "rightsholder a list",
        _set("carve_outs[0].rightsholder", ["A"]),
        "carve_outs[0].rightsholder: expected a string, got array",
    ),
    ("match a list", _set(f"{MATCH}", []), f"{MATCH}: expected an object, got array"),
    ("upc a number", _set(f"{MATCH}.upcs[0]", 123456789012), f"{MATCH}.upcs[0]: expected a string, got number"),
    ("partner empty", _set(f"{MATCH}.partners[0]", " "), f"{MATCH}.partners[0]: empty partner id ' '"),
    ("uploader empty", _set(f"{MATCH}.uploaders[0]", ""), f"{MATCH}.uploaders[0]: empty uploader id ''"),
    # dates
    ("impossible date", _set("terms[0].effective", "2024-02-30"), "terms[0].effective: bad date '2024-02-30'"),
    ("compact date", _set("terms[0].effective", "20240212"), "terms[0].effective: bad date '20240212'"),
    ("week date", _set("terms[0].effective", "2024-W07-1"), "terms[0].effective: bad date '2024-W07-1'"),
    (
        "date with time",
        _set("terms[0].effective", "2024-02-12T00:00"),
        "terms[0].effective: bad date '2024-02-12T00:00'",
    ),
    ("date a number", _set("terms[0].effective", 2024), "terms[0].effective: expected a date 'YYYY-MM-DD', got number"),
    # purposes
    (
        "unknown grant",
        _set("terms[1].grants[1]", "ml_training"),
        "terms[1].grants[1]: unknown purpose 'ml_training' (expected one of: ai_training, genai_training)",
    ),
    (
        "unknown opt-in",
        _set("terms[2].opt_in", ["music"]),
        "terms[2].opt_in[0]: unknown purpose 'music' (expected one of: ai_training, genai_training)",
    ),
    (
        "unknown carve-out purpose",
        _set("carve_outs[0].purposes[0]", "all"),
        "carve_outs[0].purposes[0]: unknown purpose 'all' (expected one of: ai_training, genai_training)",
    ),
    (
        "duplicate grant",
        _set("terms[1].grants[1]", "ai_training"),
        "terms[1].grants[1]: duplicate purpose 'ai_training'",
    ),
    (
        "grant and opt-in",
        _set("terms[2].grants", ["ai_training", "genai_training"]),
        "terms[2].opt_in: 'genai_training' is also in grants (a purpose is granted outright or by opt-in)",
    ),
    ("empty carve-out purposes", _set("carve_outs[0].purposes", []), "carve_outs[0].purposes: must not be empty"),
    # duplicates
    (
        "duplicate version",
        _set("terms[2].version", "2024-02-12"),
        "terms[2].version: duplicate version '2024-02-12' (also terms[1])",
    ),
    (
        "duplicate version in another case",
        _versions("v1", "V1"),
        "terms[1].version: duplicate version 'V1' (also terms[0])",
    ),
    (
        "duplicate effective date",
        _set("terms[1].effective", "2023-01-01"),
        "terms[1].effective: duplicate effective date '2023-01-01' (also terms[0])",
    ),
    (
        "duplicate carve-out id",
        lambda d: d["carve_outs"].append(copy.deepcopy(d["carve_outs"][0])),
        "carve_outs[1].id: duplicate carve-out id 'acme-records' (also carve_outs[0])",
    ),
    (
        "carve-out id with colon",
        _set("carve_outs[0].id", "partner:acme"),
        "carve_outs[0].id: 'partner:acme' must not contain ':' (it is part of the reason CARVE_OUT:<id>)",
    ),
    # match values
    (
        "label normalizing to nothing",
        _set(f"{MATCH}.labels[1]", "— ! —"),
        f"{MATCH}.labels[1]: label '— ! —' normalizes to nothing",
    ),
    ("malformed ISRC", _set(f"{MATCH}.isrcs", ["USAC12400001", "XX"]), f"{MATCH}.isrcs[1]: malformed ISRC 'XX'"),
    (
        "malformed registrant",
        _set(f"{MATCH}.isrc_registrants[0]", "US"),
        f"{MATCH}.isrc_registrants[0]: malformed ISRC registrant 'US' (expected 2 letters and 3 letters or digits)",
    ),
    (
        "UPC with bad check digit",
        _set(f"{MATCH}.upcs[0]", "0123456789013"),
        f"{MATCH}.upcs[0]: malformed UPC '0123456789013' (expected 12 to 14 digits with a valid check digit)",
    ),
    (
        "match with no criteria",
        _set(f"{MATCH}", {"labels": []}),
        f"{MATCH}: matches nothing (give at least one of: partners, uploaders, labels, isrcs, isrc_registrants, upcs)",
    ),
    ("empty document", lambda d: d.clear(), "policy_id: missing required field"),
]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in INVALID], ids=[n for n, _, _ in INVALID])
def test_invalid_policy_message_names_the_field(change: Callable[[dict[str, Any]], object], message: str) -> None:
    # Given SPEC's policy with one defect
    doc = mutated(change)
    # When parsed, Then PolicyError says exactly one line naming the field
    with pytest.raises(PolicyError) as raised:
        parse_policy(doc)
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)
    # and the full listing starts with the same problem
    assert validate_policy_errors(doc)[0] == message


@pytest.mark.parametrize("doc", [[], "policy", None, 3])
def test_document_must_be_an_object(doc: Any) -> None:
    # Given a JSON document that is not an object, Then the message names the policy itself.
    with pytest.raises(PolicyError, match=r"^policy: expected an object, got "):
        parse_policy(doc)


def test_validate_policy_errors_lists_every_problem_in_document_order() -> None:
    # Given a document with several defects at different levels
    doc = spec_doc()
    doc["policy_id"] = ""
    doc["terms"][0]["effective"] = "2023-02-29"
    doc["terms"][2]["opt_in"] = ["genai_training", "ai"]
    doc["carve_outs"][0]["match"]["isrcs"] = ["bad", "USAC12400001", "also-bad"]
    # When validated, Then every problem is listed, one line each, in document order
    assert validate_policy_errors(doc) == [
        "policy_id: must not be empty",
        "terms[0].effective: bad date '2023-02-29'",
        "terms[2].opt_in[1]: unknown purpose 'ai' (expected one of: ai_training, genai_training)",
        f"{MATCH}.isrcs[0]: malformed ISRC 'bad'",
        f"{MATCH}.isrcs[2]: malformed ISRC 'also-bad'",
    ]


def test_valid_policy_has_no_errors() -> None:
    # Given SPEC's policy, Then there is nothing to report.
    assert validate_policy_errors(spec_doc()) == []


def test_long_values_are_shortened_in_messages() -> None:
    # Given a huge bad value, Then the message stays one short line.
    doc = mutated(_set(f"{MATCH}.isrcs[0]", "X" * 10_000))
    message = validate_policy_errors(doc)[0]
    assert message.startswith(f"{MATCH}.isrcs[0]: malformed ISRC 'XXX") and len(message) < 160


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "policy: not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ('{"policy_id": "a", "policy_id": "b"}', "policy: key 'policy_id' appears twice in one object"),
    ],
)
def test_policy_text_must_be_json_without_repeated_keys(text: str, message: str) -> None:
    # Given malformed JSON text, When read, Then a one-line PolicyError explains it.
    with pytest.raises(PolicyError) as raised:
        read_policy_document(text)
    assert str(raised.value) == message


def test_load_policy_text_and_file(tmp_path: Path) -> None:
    # Given SPEC's policy as text and as a file, Then both load to the same compiled policy.
    text = json.dumps(spec_doc())
    path = tmp_path / "policy.json"
    path.write_text(text, encoding="utf-8")
    assert load_policy_text(text) == load_policy_file(path) == load_policy_file(str(path))


def test_load_policy_file_that_does_not_exist(tmp_path: Path) -> None:
    # Given no file, Then it is a PolicyError naming the file: the gatekeeper never runs without a policy.
    with pytest.raises(PolicyError, match=r"missing\.json: no such file$"):
        load_policy_file(tmp_path / "missing.json")


def test_invalid_text_is_rejected_by_load_policy_text() -> None:
    # Given text whose JSON is fine but whose policy is not, Then load_policy_text raises the first problem.
    with pytest.raises(PolicyError, match=r"^terms\[0\]\.effective: bad date '2023-13-01'$"):
        load_policy_text(json.dumps(mutated(_set("terms[0].effective", "2023-13-01"))))
