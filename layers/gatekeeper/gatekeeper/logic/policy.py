"""The policy document: validation, and the lookups a decision needs, precomputed.

`parse_policy` turns a JSON document (SPEC "Policy document") into a
`CompiledPolicy`, a `Policy` that also carries its terms by version and by
effective date and an index of carve-outs by the values they match on, so a
decision costs the same whatever the number of carve-outs. Every problem is a
`PolicyError` whose message is one line naming the field
(`terms[0].effective: bad date '2024-02-30'`); `validate_policy_errors` lists
them all. Validation takes time linear in the document (every repeat check is a
set or dict lookup). Bytes become a document in `gatekeeper.logic.policy_document`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from gatekeeper.logic.normalize import normalize_isrc, normalize_name, normalize_registrant, normalize_upc
from gatekeeper.logic.policy_document import DEFAULT_MAX_BYTES, parse_policy_json, read_policy_file
from gatekeeper.models import PURPOSES, CarveOut, ContentIdPolicy, Policy, PolicyError, Terms

#: The policy shipped with the package: SPEC's example.
DEFAULT_POLICY_PATH: Path = Path(str(files("gatekeeper").joinpath("data", "default-policy.json")))

_POLICY_KEYS = ("policy_id", "terms", "carve_outs", "content_id")
_CONTENT_ID_KEYS = ("required",)
_TERMS_KEYS = ("version", "effective", "grants", "opt_in")
_CARVE_OUT_KEYS = ("id", "rightsholder", "purposes", "match")
#: The lists of a carve-out's `match`, each a `CarveOut` field of the same name.
_MATCH_KEYS = ("partners", "uploaders", "labels", "isrcs", "isrc_registrants", "upcs")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_JSON_TYPES = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}

#: Positions (in policy order) of the carve-outs a value matches.
Positions = tuple[int, ...]
_Entry = TypeVar("_Entry")
_Value = TypeVar("_Value")


# ---------------------------------------------------------------- compiled policy


@dataclass(frozen=True)
class CarveOutIndex:
    """Carve-out positions by the normalized values they match on."""

    partners: Mapping[str, Positions]
    uploaders: Mapping[str, Positions]
    labels: Mapping[str, Positions]
    isrcs: Mapping[str, Positions]
    isrc_registrants: Mapping[str, Positions]
    upcs: Mapping[str, Positions]
    #: first word of a label -> the numbers of words of the labels starting with it
    label_lengths: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, carve_outs: Iterable[CarveOut]) -> CarveOutIndex:
        by: dict[str, defaultdict[str, list[int]]] = {name: defaultdict(list) for name in _MATCH_KEYS}
        for position, carve_out in enumerate(carve_outs):
            for name, positions in by.items():
                for value in getattr(carve_out, name):
                    positions[value].append(position)
        lengths: defaultdict[str, set[int]] = defaultdict(set)
        for label in by["labels"]:
            words = label.split(" ")
            lengths[words[0]].add(len(words))
        return cls(
            **{name: {value: tuple(p) for value, p in positions.items()} for name, positions in by.items()},
            label_lengths={first: tuple(sorted(n)) for first, n in lengths.items()},
        )

    def label_positions(self, text_norm: str) -> set[int]:
        """Carve-outs with a label contained as whole words in a normalized text.

        Each word of the text that begins some label is looked up with the words
        after it, as many as those labels have, so the cost depends on the text,
        not on the number of labels.
        """
        found: set[int] = set()
        words = text_norm.split(" ")
        for start, word in enumerate(words):
            for length in self.label_lengths.get(word, ()):
                found.update(self.labels.get(" ".join(words[start : start + length]), ()))
        return found


@dataclass(frozen=True)
class CompiledPolicy(Policy):
    """A validated `Policy` (terms in effective-date order) with its lookups precomputed."""

    terms_by_version: Mapping[str, Terms] = field(default_factory=dict, compare=False, repr=False)
    carve_outs_by_id: Mapping[str, CarveOut] = field(default_factory=dict, compare=False, repr=False)
    effective_dates: tuple[dt.date, ...] = field(default=(), compare=False, repr=False)
    carve_out_index: CarveOutIndex = field(default_factory=lambda: CarveOutIndex.build(()), compare=False, repr=False)

    def terms_in_force(self, on: dt.date) -> Terms | None:
        """*T*: the terms entry with the latest `effective` on or before `on`."""
        position = bisect.bisect_right(self.effective_dates, on)
        return self.terms[position - 1] if position else None

    def accepted_terms(self, version: str | None) -> Terms | None:
        """*A*: the terms entry whose version equals `version` (trimmed, case-insensitive)."""
        return self.terms_by_version.get(version.strip().casefold()) if version else None


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Precompute a policy's lookups (`parse_policy` already returns a compiled one)."""
    if isinstance(policy, CompiledPolicy):
        return policy
    terms = tuple(sorted(policy.terms, key=lambda t: t.effective))
    return CompiledPolicy(
        policy_id=policy.policy_id,
        terms=terms,
        carve_outs=policy.carve_outs,
        content_id=policy.content_id,
        terms_by_version={t.version.casefold(): t for t in terms},
        carve_outs_by_id={c.id: c for c in policy.carve_outs},
        effective_dates=tuple(t.effective for t in terms),
        carve_out_index=CarveOutIndex.build(policy.carve_outs),
    )


# ---------------------------------------------------------------- entry points


def parse_policy(doc: Any) -> CompiledPolicy:
    """Validate a policy document (parsed JSON) and compile it; the first problem raises `PolicyError`."""
    errors, policy = _check_policy(doc)
    if errors:
        raise PolicyError(errors[0])
    assert policy is not None
    return compile_policy(policy)


def validate_policy_errors(doc: Any) -> list[str]:
    """Every problem of a policy document, one line each (empty when valid); `parse_policy` raises the first."""
    return _check_policy(doc)[0]


def read_policy_document(data: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Parse policy JSON (`gatekeeper.logic.policy_document`): bounded, strict UTF-8, no key repeated
    in an object, no deeper than the format; every problem is a one-line `PolicyError`."""
    return parse_policy_json(data, max_bytes)


def load_policy_text(text: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> CompiledPolicy:
    """Parse and validate policy JSON (text or bytes)."""
    return parse_policy(read_policy_document(text, max_bytes))


def load_policy_file(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> CompiledPolicy:
    """Read, parse and validate a policy file; a missing or unreadable one is a `PolicyError` too."""
    return load_policy_text(read_policy_file(path, max_bytes), max_bytes)


def parse_day(text: str) -> dt.date | None:
    """A calendar date written exactly `YYYY-MM-DD`, or None (no other ISO 8601 form, no impossible day).

    >>> parse_day("2024-02-12"), parse_day("2024-02-30"), parse_day("2024-W07-1")
    (datetime.date(2024, 2, 12), None, None)
    """
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


# ---------------------------------------------------------------- validation


class _Problems:
    """Collects one-line problems, each prefixed with the path of its field."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{path or 'policy'}: {message}")

    def since(self, mark: int) -> bool:
        """Whether a problem was added after `len(self.lines)` was `mark`."""
        return len(self.lines) > mark


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _key(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _object(
    problems: _Problems, value: Any, path: str, keys: tuple[str, ...], required: tuple[str, ...]
) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        problems.add(path, f"expected an object, got {_type_name(value)}")
        return None
    for key in value:
        if key not in keys:
            problems.add(_key(path, key), f"unknown key (expected one of: {', '.join(keys)})")
    for key in required:
        if key not in value:
            problems.add(_key(path, key), "missing required field")
    return value


def _optional(
    problems: _Problems, obj: dict[str, Any], path: str, key: str, check: Callable[[_Problems, Any, str], _Value | None]
) -> _Value | None:
    """`check` of `obj[key]` at its path; None when the key is absent (`_object` reports a required one)."""
    return check(problems, obj[key], _key(path, key)) if key in obj else None


def _array(problems: _Problems, value: Any, path: str, *, allow_empty: bool = True) -> list[Any] | None:
    if not isinstance(value, list):
        problems.add(path, f"expected an array, got {_type_name(value)}")
        return None
    if not value and not allow_empty:
        problems.add(path, "must not be empty")
        return None
    return value


def _text(problems: _Problems, value: Any, path: str) -> str | None:
    if not isinstance(value, str):
        problems.add(path, f"expected a string, got {_type_name(value)}")
        return None
    if not value.strip():
        problems.add(path, "must not be empty")
        return None
    return value.strip()


def _date(problems: _Problems, value: Any, path: str) -> dt.date | None:
    if not isinstance(value, str):
        problems.add(path, f"expected a date 'YYYY-MM-DD', got {_type_name(value)}")
        return None
    if (day := parse_day(value)) is None:
        problems.add(path, f"bad date {_show(value)}")
    return day


def _purposes(problems: _Problems, value: Any, path: str, *, allow_empty: bool) -> frozenset[str] | None:
    items = _array(problems, value, path, allow_empty=allow_empty)
    if items is None:
        return None
    found: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, str) or item not in PURPOSES:
            problems.add(f"{path}[{i}]", f"unknown purpose {_show(item)} (expected one of: {', '.join(PURPOSES)})")
        elif item in found:
            problems.add(f"{path}[{i}]", f"duplicate purpose {_show(item)}")
        else:
            found.add(item)
    return frozenset(found)


def _values(
    problems: _Problems, value: Any, path: str, normalize: Callable[[str], str | None], problem: str
) -> tuple[str, ...]:
    """A list of strings, each normalized; `problem` (with `{value}`) when one normalizes to nothing.

    Repeats are dropped, first occurrence kept, through a dict: linear in the list.
    """
    normalized: dict[str, None] = {}
    for i, item in enumerate(_array(problems, value, path) or ()):
        if not isinstance(item, str):
            problems.add(f"{path}[{i}]", f"expected a string, got {_type_name(item)}")
            continue
        result = normalize(item)
        if not result:
            problems.add(f"{path}[{i}]", problem.format(value=_show(item)))
        else:
            normalized.setdefault(result)
    return tuple(normalized)


def _casefolded(value: str) -> str:
    return value.strip().casefold()


#: match list -> (normalizer, message for a value that normalizes to nothing)
_MATCH_VALUES: dict[str, tuple[Callable[[str], str | None], str]] = {
    "partners": (_casefolded, "empty partner id {value}"),
    "uploaders": (_casefolded, "empty uploader id {value}"),
    "labels": (normalize_name, "label {value} normalizes to nothing"),
    "isrcs": (normalize_isrc, "malformed ISRC {value}"),
    "isrc_registrants": (
        normalize_registrant,
        "malformed ISRC registrant {value} (expected 2 letters and 3 letters or digits)",
    ),
    "upcs": (normalize_upc, "malformed UPC {value} (expected 12 to 14 digits with a valid check digit)"),
}


def _check_policy(doc: Any) -> tuple[list[str], Policy | None]:
    problems = _Problems()
    policy = _policy(problems, doc)
    return problems.lines, (policy if not problems.lines else None)


def _policy(problems: _Problems, doc: Any) -> Policy | None:
    top = _object(problems, doc, "", _POLICY_KEYS, ("policy_id", "terms"))
    if top is None:
        return None
    policy_id = _optional(problems, top, "", "policy_id", _text)
    terms = _terms_list(problems, top["terms"]) if "terms" in top else ()
    carve_outs = _carve_out_list(problems, top.get("carve_outs", []))
    content_id = _optional(problems, top, "", "content_id", _content_id)
    return Policy(policy_id=policy_id or "", terms=terms, carve_outs=carve_outs, content_id=content_id)


def _content_id(problems: _Problems, value: Any, path: str) -> ContentIdPolicy | None:
    """`content_id`: `{"required": true|false}` (`required` defaults to true; the only key)."""
    entry = _object(problems, value, path, _CONTENT_ID_KEYS, ())
    if entry is None:
        return None
    required = entry.get("required", True)
    if not isinstance(required, bool):
        problems.add(_key(path, "required"), f"expected true or false, got {_type_name(required)}")
        return None
    return ContentIdPolicy(required=required)


def _terms_list(problems: _Problems, value: Any) -> tuple[Terms, ...]:
    entries = _entries(problems, value, "terms", _terms, allow_empty=False)
    _unique(problems, entries, "version", "version", key=str.casefold)
    _unique(problems, entries, "effective", "effective date")
    return tuple(terms for _, terms in entries)


def _terms(problems: _Problems, value: Any, path: str) -> Terms | None:
    mark = len(problems.lines)
    entry = _object(problems, value, path, _TERMS_KEYS, ("version", "effective"))
    if entry is None:
        return None
    version = _optional(problems, entry, path, "version", _text)
    effective = _optional(problems, entry, path, "effective", _date)
    grants = _purposes(problems, entry.get("grants", []), f"{path}.grants", allow_empty=True)
    opt_in = _purposes(problems, entry.get("opt_in", []), f"{path}.opt_in", allow_empty=True)
    for purpose in sorted((grants or frozenset()) & (opt_in or frozenset())):
        problems.add(
            f"{path}.opt_in", f"{_show(purpose)} is also in grants (a purpose is granted outright or by opt-in)"
        )
    if problems.since(mark) or version is None or effective is None or grants is None or opt_in is None:
        return None
    return Terms(version=version, effective=effective, grants=grants, opt_in=opt_in)


def _carve_out_list(problems: _Problems, value: Any) -> tuple[CarveOut, ...]:
    entries = _entries(problems, value, "carve_outs", _carve_out, allow_empty=True)
    _unique(problems, entries, "id", "carve-out id")
    return tuple(carve_out for _, carve_out in entries)


def _entries(
    problems: _Problems,
    value: Any,
    name: str,
    parse: Callable[[_Problems, Any, str], _Entry | None],
    *,
    allow_empty: bool,
) -> list[tuple[str, _Entry]]:
    """The valid entries of the array `name`, each with its path."""
    entries: list[tuple[str, _Entry]] = []
    for i, item in enumerate(_array(problems, value, name, allow_empty=allow_empty) or []):
        path = f"{name}[{i}]"
        if (entry := parse(problems, item, path)) is not None:
            entries.append((path, entry))
    return entries


def _unique(
    problems: _Problems, entries: list[tuple[str, Any]], field_name: str, what: str, key: Callable[[Any], Any] = str
) -> None:
    """A problem for every entry repeating an earlier entry's `field_name` (compared by `key`)."""
    first_path: dict[Any, str] = {}
    for path, entry in entries:
        value = getattr(entry, field_name)
        if (first := first_path.setdefault(key(value), path)) != path:
            problems.add(f"{path}.{field_name}", f"duplicate {what} {_show(str(value))} (also {first})")


def _carve_out(problems: _Problems, value: Any, path: str) -> CarveOut | None:
    mark = len(problems.lines)
    entry = _object(problems, value, path, _CARVE_OUT_KEYS, ("id", "match"))
    if entry is None:
        return None
    carve_out_id = _optional(problems, entry, path, "id", _text)
    if carve_out_id is not None and ":" in carve_out_id:
        problems.add(
            f"{path}.id", f"{_show(carve_out_id)} must not contain ':' (it is part of the reason CARVE_OUT:<id>)"
        )
    rightsholder = _optional(problems, entry, path, "rightsholder", _text)
    purposes = _purposes(problems, entry.get("purposes", list(PURPOSES)), f"{path}.purposes", allow_empty=False)
    match = _optional(problems, entry, path, "match", _match)
    if problems.since(mark) or carve_out_id is None or purposes is None or match is None:
        return None
    return CarveOut(
        id=carve_out_id,
        rightsholder=rightsholder,
        purposes=purposes,
        partners=frozenset(match["partners"]),
        uploaders=frozenset(match["uploaders"]),
        labels=match["labels"],
        isrcs=frozenset(match["isrcs"]),
        isrc_registrants=frozenset(match["isrc_registrants"]),
        upcs=frozenset(match["upcs"]),
    )


def _match(problems: _Problems, value: Any, path: str) -> dict[str, tuple[str, ...]] | None:
    match = _object(problems, value, path, _MATCH_KEYS, ())
    if match is None:
        return None
    lists = {
        name: _values(problems, match.get(name, []), _key(path, name), normalize, problem)
        for name, (normalize, problem) in _MATCH_VALUES.items()
    }
    if not any(lists.values()) and not any(match.get(name) for name in _MATCH_KEYS):
        problems.add(path, f"matches nothing (give at least one of: {', '.join(_MATCH_KEYS)})")
    return lists
