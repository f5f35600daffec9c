"""The policy document's bytes, from any source, to a JSON value: bounded and strict.

One loader for a policy file and a policy object on S3 alike. In this order:

1. the size bound (`GATEKEEPER_POLICY_MAX_BYTES`, default 16 MiB) — a source checks
   it before reading (a file's size from `stat`, an S3 object's `ContentLength`)
   and reads at most one byte more than the bound;
2. strict UTF-8 (no other encoding is guessed);
3. strict JSON: a key repeated in any object, `NaN`/`Infinity`, and a number of
   more than `MAX_NUMBER_DIGITS` digits are refused (the format has no numbers);
4. the nesting: no deeper than the format needs (`MAX_DEPTH` containers), and no
   text that is not Unicode (a lone surrogate escape such as `"\\ud800"`).

Every problem is a `PolicyError` with a one-line message; nothing else escapes
(a document nested too deeply for the parser's recursion included). The cost is
linear in the document. Validation of the value against the policy format is
`gatekeeper.logic.policy`'s.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekeeper.models import PolicyError

#: Default bound on a policy document's size in bytes (SPEC: 16 MiB).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
MAX_BYTES_VARIABLE = "GATEKEEPER_POLICY_MAX_BYTES"
#: Containers the format nests at most: policy > carve_outs > carve-out > match > labels.
MAX_DEPTH = 5
#: The format has no numbers at all; a long one is refused before it is converted.
MAX_NUMBER_DIGITS = 100

_SURROGATE = re.compile("[\ud800-\udfff]")


def max_bytes_from_env(environ: Mapping[str, str] | None = None) -> int:
    """The size bound from `GATEKEEPER_POLICY_MAX_BYTES` (a positive integer), else the default."""
    env = os.environ if environ is None else environ
    raw = env.get(MAX_BYTES_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise PolicyError(f"{MAX_BYTES_VARIABLE}: not a positive integer {raw!r}")
    return int(raw)


def too_large(max_bytes: int, size: int | None = None, *, where: str = "policy") -> PolicyError:
    """The problem of a document over the bound (its size when known, else only that it is larger)."""
    what = f"{size} bytes" if size is not None else f"more than {max_bytes} bytes"
    return PolicyError(f"{where}: {what}, over the size bound of {max_bytes} bytes ({MAX_BYTES_VARIABLE})")


def read_policy_file(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A policy file's bytes: its size checked before it is read; a missing or unreadable file is a `PolicyError`."""
    name = str(path)
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            raise PolicyError(f"{name}: not a file")
        if status.st_size > max_bytes:
            raise too_large(max_bytes, status.st_size, where=name)
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)  # a file may grow after the stat
    except FileNotFoundError:
        raise PolicyError(f"{name}: no such file") from None
    except OSError as exc:
        raise PolicyError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise too_large(max_bytes, where=name)
    return data


def parse_policy_json(data: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The JSON value of a policy document's bytes (or text), or a `PolicyError` saying why not."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PolicyError(f"policy: text that is not Unicode at character {exc.start}") from None
    if len(data) > max_bytes:
        raise too_large(max_bytes, len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"policy: not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_without_repeated_keys,
            parse_int=_integer,
            parse_constant=_no_constant,
        )
    except PolicyError:  # from the hooks: already one line saying why
        raise
    except json.JSONDecodeError as exc:
        raise PolicyError(f"policy: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise PolicyError(f"policy: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # anything else the parser refuses, in one line
        raise PolicyError(f"policy: not valid JSON: {str(exc).splitlines()[0]}") from None
    _check_structure(document)
    return document


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise PolicyError(f"policy: key {_show(key)} appears twice in one object")
        obj[key] = value
    return obj


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise PolicyError(f"policy: a number of {len(digits.lstrip('-'))} digits (more than {MAX_NUMBER_DIGITS})")
    return int(digits)


def _no_constant(name: str) -> Any:
    raise PolicyError(f"policy: not valid JSON: {name} is not a JSON value")


def _show(value: str) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _is_unicode(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


def _child(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _check_structure(document: Any) -> None:
    """No container deeper than `MAX_DEPTH`, no text that is not Unicode; one pass, no recursion."""
    if isinstance(document, str) and not _is_unicode(document):
        raise PolicyError("policy: text that is not Unicode (a lone surrogate escape)")
    pending: list[tuple[Any, int, str]] = [(document, 1, "")] if isinstance(document, dict | list) else []
    while pending:
        container, depth, path = pending.pop()
        if depth > MAX_DEPTH:
            raise PolicyError(f"policy: nested deeper than {MAX_DEPTH} levels (at {path})")
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(key, str) and not _is_unicode(key):
                raise PolicyError(f"{path or 'policy'}: a key that is not Unicode (a lone surrogate escape)")
            if isinstance(value, dict | list):
                pending.append((value, depth + 1, _child(path, key)))
            elif isinstance(value, str) and not _is_unicode(value):
                raise PolicyError(f"{_child(path, key)}: text that is not Unicode (a lone surrogate escape)")
