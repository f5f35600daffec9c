"""A policy document's bytes to JSON: bounded, strict, one-line problems (SPEC "Policy document").

The same loader serves a file and an S3 object (tests/aws/test_policy_source.py);
here are its rules, and that validation stays linear in the document.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.logic import policy as policy_module
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file, load_policy_text, parse_policy
from gatekeeper.logic.policy_document import (
    DEFAULT_MAX_BYTES,
    MAX_DEPTH,
    max_bytes_from_env,
    parse_policy_json,
    read_policy_file,
)
from gatekeeper.models import PolicyError

SPEC_TEXT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
SPEC_DOC: dict[str, Any] = json.loads(SPEC_TEXT)


def refused(data: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The one-line message the loader refuses `data` with."""
    with pytest.raises(PolicyError) as raised:
        parse_policy_json(data, max_bytes)
    message = str(raised.value)
    assert "\n" not in message and message
    return message


def nested(depth: int) -> str:
    """SPEC's policy with a value `depth` containers deep (the policy object counting as one)."""
    return SPEC_TEXT.replace('"labels": [', '"labels": [' + "[" * (depth - 5) + '"x"' + "]" * (depth - 5) + ", ", 1)


def test_specs_policy_is_read_and_its_deepest_list_is_within_the_bound() -> None:
    assert parse_policy_json(SPEC_TEXT.encode()) == SPEC_DOC
    assert MAX_DEPTH == 5  # policy > carve_outs > carve-out > match > labels
    assert parse_policy_json(nested(5))["carve_outs"][0]["match"]["labels"][:2] == ["x", "Acme Records"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"policy_id": "a", "policy_id": "b"}', "policy: key 'policy_id' appears twice in one object"),
        # SPEC's policy with its carve-outs repeated as an empty list: the last one would drop them all
        (SPEC_TEXT.rstrip().removesuffix("}") + ', "carve_outs": []}', "policy: key 'carve_outs' appears twice in one object"),
        (SPEC_TEXT.replace('"labels":', '"isrcs": [], "labels":'), "policy: key 'isrcs' appears twice in one object"),
    ],
    ids=["top level", "carve_outs emptied by a repeat", "inside match"],
)
def test_a_key_repeated_in_any_object_is_refused(text: str, message: str) -> None:
    assert refused(text) == message


@pytest.mark.parametrize("depth", [6, 50, 100_000])
def test_a_document_nested_deeper_than_the_format_is_refused(depth: int) -> None:
    # Given SPEC's policy with a label nested `depth` containers deep (far beyond the parser's recursion too)
    message = refused(nested(depth))
    # Then one line says so; where the parser could still get through, it names the place
    assert message.startswith(f"policy: nested deeper than {MAX_DEPTH} levels")
    if depth < 1000:
        assert message.endswith("(at carve_outs[0].match.labels[0])")


def test_a_5000_digit_integer_is_refused_before_it_is_converted() -> None:
    text = SPEC_TEXT.replace('"policy_id": "terms-2025-05"', '"policy_id": ' + "9" * 5000)
    assert refused(text) == "policy: a number of 5000 digits (more than 100)"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(constant: str) -> None:
    assert refused(f'{{"policy_id": {constant}}}') == f"policy: not valid JSON: {constant} is not a JSON value"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"policy_id": "caf\xe9"}', "policy: not UTF-8: byte 0xe9 at offset 18"),
        ('{"policy_id": "x"}'.encode("utf-16"), "policy: not UTF-8: byte 0xff at offset 0"),
        (b"\xef\xbb\xbf{}", "policy: not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 column 1"),
    ],
    ids=["latin-1", "utf-16", "byte order mark"],
)
def test_only_utf_8_is_read(data: bytes, message: str) -> None:
    assert refused(data) == message


def test_a_lone_surrogate_escape_is_not_text() -> None:
    text = SPEC_TEXT.replace('"Acme Music Group"', '"Acme \\ud800 Group"')
    assert refused(text) == "carve_outs[0].match.labels[1]: text that is not Unicode (a lone surrogate escape)"
    # while an escaped pair is an ordinary character
    paired = json.loads(SPEC_TEXT.replace('"Acme Music Group"', '"Acme \\ud83c\\udfb5 Group"'))
    assert parse_policy_json(SPEC_TEXT.replace('"Acme Music Group"', '"Acme \\ud83c\\udfb5 Group"')) == paired


def test_a_document_over_the_size_bound_is_refused() -> None:
    data = SPEC_TEXT.encode()
    assert parse_policy_json(data, max_bytes=len(data)) == SPEC_DOC
    assert refused(data, max_bytes=len(data) - 1) == (
        f"policy: {len(data)} bytes, over the size bound of {len(data) - 1} bytes (GATEKEEPER_POLICY_MAX_BYTES)"
    )


def test_a_file_over_the_bound_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    # Given a sparse 1 GiB file (nothing of it is in memory or on disk)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as file:
        file.truncate(2**30)
    # Then its size alone refuses it: the message gives the size stat reports
    with pytest.raises(PolicyError) as raised:
        read_policy_file(huge)
    assert str(raised.value) == (
        f"{huge}: 1073741824 bytes, over the size bound of 16777216 bytes (GATEKEEPER_POLICY_MAX_BYTES)"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.json", "no such file"), (".", "not a file"), ("/dev/zero", "not a file")],
)
def test_a_missing_or_unreadable_file_is_a_policy_error(tmp_path: Path, name: str, message: str) -> None:
    path = tmp_path / name if not name.startswith("/") else Path(name)
    with pytest.raises(PolicyError) as raised:
        load_policy_file(path)
    assert str(raised.value) == f"{path}: {message}"


def test_the_size_bound_is_configuration(tmp_path: Path) -> None:
    assert max_bytes_from_env({}) == DEFAULT_MAX_BYTES == 16 * 2**20
    assert max_bytes_from_env({"GATEKEEPER_POLICY_MAX_BYTES": " 2048 "}) == 2048
    for bad in ("0", "-1", "1e6", "lots"):
        with pytest.raises(PolicyError, match="^GATEKEEPER_POLICY_MAX_BYTES: not a positive integer"):
            max_bytes_from_env({"GATEKEEPER_POLICY_MAX_BYTES": bad})


# ---------------------------------------------------------------- linear validation


class CountedText(str):
    """A string that counts the equality tests made on it (hashing stays that of `str`)."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountedText.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@pytest.fixture
def counted_normalizers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every match-list normalizer returns `CountedText`, so the validator's repeat checks are counted."""
    for name, (normalize, problem) in list(policy_module._MATCH_VALUES.items()):
        counted = (lambda f: lambda value: None if (result := f(value)) is None else CountedText(result))(normalize)
        monkeypatch.setitem(policy_module._MATCH_VALUES, name, (counted, problem))
    CountedText.comparisons = 0


def test_repeat_checks_in_match_lists_are_lookups_not_scans(counted_normalizers: None) -> None:
    # Given a carve-out with 3,000 distinct labels and ISRCs, each given twice
    n = 3000
    labels = [f"Label {i} Records" for i in range(n)]
    isrcs = [f"QZ{i // 100_000:03d}25{i % 100_000:05d}" for i in range(n)]
    doc = copy.deepcopy(SPEC_DOC)
    doc["carve_outs"].append({"id": "bulk", "match": {"labels": labels * 2, "isrcs": isrcs * 2}})
    # When it is validated
    policy = parse_policy(doc)
    # Then each repeat was found by a hash lookup: about one comparison per value, not one per pair
    (bulk,) = [c for c in policy.carve_outs if c.id == "bulk"]
    assert len(bulk.labels) == len(bulk.isrcs) == n
    assert CountedText.comparisons <= 4 * 4 * n, CountedText.comparisons  # a scan would make ~ 2 * n**2


def test_a_policy_of_200_000_labels_and_isrcs_loads(tmp_path: Path) -> None:
    # Given a 9 MB policy file with 200,000 labels and 200,000 ISRCs in one carve-out
    doc = copy.deepcopy(SPEC_DOC)
    n = 200_000
    doc["carve_outs"].append(
        {"id": "bulk", "match": {"labels": [f"Label {i} Records" for i in range(n)],
                                 "isrcs": [f"QZ{i // 100_000:03d}25{i % 100_000:05d}" for i in range(n)]}}
    )
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert os.path.getsize(path) < DEFAULT_MAX_BYTES
    # When it is loaded, Then every value is there (the old list scans took hours for this)
    (bulk,) = [c for c in load_policy_file(path).carve_outs if c.id == "bulk"]
    assert (len(bulk.labels), len(bulk.isrcs)) == (n, n)


def test_text_and_bytes_load_alike() -> None:
    assert load_policy_text(SPEC_TEXT) == load_policy_text(SPEC_TEXT.encode()) == load_policy_file(DEFAULT_POLICY_PATH)
