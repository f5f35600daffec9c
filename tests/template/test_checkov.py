"""checkov on the template, as written and as the SAM transform makes it: no failed check.

checkov runs from its own virtual environment (`make checkov-venv`, pinned in
requirements-checkov.txt; it pins many packages of its own). Every check it does
not pass is skipped inline, on the resource (`Metadata: checkov: skip:`), with the
reason; nothing is skipped on the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.template.cfn import ROOT, TEMPLATE, load_template, translate

CHECKOV = os.environ.get("CHECKOV") or str(ROOT / ".venv-checkov" / "bin" / "checkov")
#: A justification says why, not just that: a sentence or two.
MIN_COMMENT = 80


def inline_skips(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Logical id -> {check id: comment} of every inline checkov skip."""
    found: dict[str, dict[str, str]] = {}
    for logical_id, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            found.setdefault(logical_id, {})[skip["id"]] = skip.get("comment", "")
    return found


def test_every_inline_skip_names_a_check_and_says_why() -> None:
    skips = inline_skips(load_template())
    assert skips, "the template is expected to justify its skips inline"
    for logical_id, checks in skips.items():
        for check, comment in checks.items():
            assert check.startswith(("CKV_AWS_", "CKV2_AWS_")), (logical_id, check)
            assert len(" ".join(comment.split())) >= MIN_COMMENT, (logical_id, check, comment)


def _checkov(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [CHECKOV, "--file", str(path), "--framework", "cloudformation", "--output", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert isinstance(report, dict) and report["check_type"] == "cloudformation", result.stdout[:500]
    return report


def _resource(check: dict[str, Any]) -> str:
    return check["resource"].split(".", 1)[1]


@pytest.mark.slow
@pytest.mark.parametrize("form", ["template.yaml", "translated by SAM"])
def test_checkov_finds_no_failed_check(form: str, tmp_path: Path) -> None:
    # Given the template as written, or as the SAM transform makes it (functions, mappings, invoke configs)
    if form == "template.yaml":
        path, template = TEMPLATE, load_template()
    else:
        template = translate()
        path = tmp_path / "translated.json"
        path.write_text(json.dumps(template), encoding="utf-8")
    # When checkov checks it
    report = _checkov(path)
    results, summary = report["results"], report["summary"]
    # Then nothing fails, and it did check the stack
    failed = [(c["check_id"], _resource(c), c["check_name"]) for c in results["failed_checks"]]
    assert failed == [], failed
    assert summary["passed"] >= 40 and summary["parsing_errors"] == 0
    # And what it skipped is exactly the inline skips of the resources it checked, with their reasons
    skipped = {(c["check_id"], _resource(c)) for c in results["skipped_checks"]}
    declared = {(check, logical_id) for logical_id, checks in inline_skips(template).items() for check in checks}
    assert skipped <= declared, skipped - declared
    checked = {_resource(c) for kind in ("passed_checks", "skipped_checks") for c in results[kind]}
    assert {(check, logical_id) for check, logical_id in declared if logical_id in checked} == skipped
    assert all(c["check_result"].get("suppress_comment") for c in results["skipped_checks"])
