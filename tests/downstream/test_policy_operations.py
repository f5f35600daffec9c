"""Policy operations: `gatekeeper policy check`, and a new policy on S3 taking effect after the cache's TTL."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.handlers.runtime import reset_runtime
from gatekeeper import cli
from gatekeeper.dal.flags_table import FlagsTable
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH
from gatekeeper.samples import make_audio
from tests.aws.support import BUCKET, Context, s3_notification, upload
from tests.downstream.support import BETA_CARVE_OUT, OPTED_IN

TTL_SECONDS = 0.5


def test_a_valid_policy_checks_clean(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the shipped policy, When it is checked, Then it is valid, summarized on one line
    assert cli.main(["policy", "check", str(DEFAULT_POLICY_PATH)]) == cli.EXIT_OK
    assert capsys.readouterr().out.strip().endswith("valid policy 'terms-2025-05': 3 terms version(s), 1 carve-out(s)")


def test_every_problem_is_explained_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a policy with seven independent problems
    document = json.loads(DEFAULT_POLICY_PATH.read_text())
    document["colour"] = "blue"
    document["terms"][0]["effective"] = "2024-02-30"
    document["terms"][1]["opt_in"] = ["ai_training"]
    document["carve_outs"][0]["match"]["isrcs"] = ["US-AC1-24-0000"]
    document["carve_outs"].append({"id": "beta", "purposes": []})
    document["carve_outs"].append({"id": "gamma", "match": {"labels": ["!!"]}})
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(document))
    # When it is checked
    status = cli.main(["policy", "check", str(policy)])
    # Then it is refused with exit status 2, every problem on its own line naming its field and the value
    err = capsys.readouterr().err.splitlines()
    assert status == cli.EXIT_USAGE
    assert err[0] == f"{policy}: 7 problem(s)"
    problems = [line.removeprefix(f"{policy}: ") for line in err[1:]]
    assert [problem.partition(": ")[0] for problem in problems] == [
        "colour",
        "terms[0].effective",
        "terms[1].opt_in",
        "carve_outs[0].match.isrcs[0]",
        "carve_outs[1].match",
        "carve_outs[1].purposes",
        "carve_outs[2].match.labels[0]",
    ]
    assert "'2024-02-30'" in problems[1] and "'US-AC1-24-0000'" in problems[3] and "'!!'" in problems[6]


@pytest.mark.parametrize(("content", "message"), [("{not json", "not valid JSON"), (None, "no such file")])
def test_unreadable_policy_files_are_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    # Given a file that is not JSON, or no file at all
    policy = tmp_path / "policy.json"
    if content is not None:
        policy.write_text(content)
    # When it is checked, Then exit status 2 with a message saying why
    assert cli.main(["policy", "check", str(policy)]) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_a_new_policy_on_s3_takes_effect_after_the_ttl_without_a_redeploy(
    handler: Any, s3: Any, table: FlagsTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function reading its policy from S3, cached for half a second
    s3.put_object(Bucket=BUCKET, Key="policy.json", Body=DEFAULT_POLICY_PATH.read_bytes())
    monkeypatch.setenv("POLICY_URI", f"s3://{BUCKET}/policy.json")
    monkeypatch.setenv("GATEKEEPER_POLICY_TTL_SECONDS", str(TTL_SECONDS))
    reset_runtime()

    def decide(key: str) -> dict[str, Any]:
        change = upload(s3, key, make_audio("mp3", tags={"label": "Beta Records"}), OPTED_IN)
        handler.lambda_handler(s3_notification(change), Context())
        item = table.get(f"s3://{BUCKET}/{key}")
        assert item is not None
        return {"policy_id": item["policy_id"], "eligible": item["eligible"]["ai_training"]}

    assert decide("first.mp3") == {"policy_id": "terms-2025-05", "eligible": True}
    # When the operator uploads a policy with a carve-out for Beta Records
    document = json.loads(DEFAULT_POLICY_PATH.read_text())
    document["policy_id"] = "terms-2025-05-beta"
    document["carve_outs"].append(BETA_CARVE_OUT)
    s3.put_object(Bucket=BUCKET, Key="policy.json", Body=json.dumps(document).encode())
    # Then the running function keeps the cached policy until the TTL ends, then decides under the new one
    assert decide("second.mp3") == {"policy_id": "terms-2025-05", "eligible": True}
    time.sleep(TTL_SECONDS + 0.1)
    assert decide("third.mp3") == {"policy_id": "terms-2025-05-beta", "eligible": False}


SPEC_TEXT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
#: Policy files the function's loader refuses, and what the one line says.
UNLOADABLE = {
    "repeated key": ((SPEC_TEXT.rstrip().removesuffix("}") + ', "carve_outs": []}').encode(), "key 'carve_outs' appears twice"),
    "deep nesting": (SPEC_TEXT.replace('"labels": [', '"labels": [' + "[" * 100_000 + "]" * 100_000 + ",", 1).encode(),
                     "nested deeper than 5 levels"),
    "5,000-digit integer": (SPEC_TEXT.replace('"terms-2025-05"', "1" * 5000).encode(), "a number of 5000 digits"),
    "not UTF-8": (SPEC_TEXT.replace("Acme Records", "Acmé Records").encode("latin-1"), "not UTF-8: byte 0xe9"),
    "over the size bound": (SPEC_TEXT.encode() + b" " * 4096, "over the size bound of 4096 bytes"),
    "a directory": (None, "not a file"),
}


def _unloadable(tmp_path: Path, case: str) -> Path:
    content, _ = UNLOADABLE[case]
    if content is None:
        return tmp_path
    path = tmp_path / "policy.json"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", list(UNLOADABLE))
def test_an_unloadable_policy_file_is_one_problem_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    # Given a policy file the function's loader refuses (the bound set small for the oversized one)
    if case == "over the size bound":
        monkeypatch.setenv("GATEKEEPER_POLICY_MAX_BYTES", "4096")
    path = _unloadable(tmp_path, case)
    # When it is checked
    status = cli.main(["policy", "check", str(path)])
    # Then exit status 2: the count, then the one problem on one line naming it
    err = capsys.readouterr().err.splitlines()
    assert status == cli.EXIT_USAGE
    assert err[0] == f"{path}: 1 problem(s)" and len(err) == 2
    assert UNLOADABLE[case][1] in err[1]


@pytest.mark.parametrize("case", ["deep nesting", "5,000-digit integer", "a directory"])
def test_the_installed_command_never_prints_a_traceback(tmp_path: Path, case: str) -> None:
    # Given the installed command in a fresh process (its own recursion limit and stack)
    command = str(Path(sys.executable).parent / "gatekeeper")
    path = _unloadable(tmp_path, case)
    for argv in (["policy", "check", str(path)], ["decide", str(DEFAULT_POLICY_PATH), "--policy", str(path)]):
        proc = subprocess.run([command, *argv], capture_output=True, text=True, timeout=120)
        # Then it exits 2, saying why without a traceback
        assert proc.returncode == cli.EXIT_USAGE, proc.stderr
        assert "Traceback" not in proc.stderr and UNLOADABLE[case][1] in proc.stderr
    # And `decide` says it in exactly one line
    assert len(proc.stderr.strip().splitlines()) == 1
