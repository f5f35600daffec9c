"""`gatekeeper decide`: local files, no AWS at all (SPEC "Command line")."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH
from gatekeeper.samples import make_audio

ROOT = Path(__file__).resolve().parents[2]
META = ["--meta", "terms-version=2025-05-14", "--meta", "uploader-id=u1"]


@pytest.fixture
def acme_mp3(tmp_path: Path) -> Path:
    path = tmp_path / "acme label.mp3"
    path.write_bytes(make_audio("mp3", tags={"title": "T", "artist": "A", "label": "Acme Records"}))
    return path


@pytest.fixture
def plain_flac(tmp_path: Path) -> Path:
    path = tmp_path / "plain.flac"
    path.write_bytes(make_audio("flac", tags={"title": "Plain", "isrc": "GB-XYZ-25-00001"}))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_prints_one_object_per_file_with_the_table_attributes(capsys, acme_mp3, plain_flac):
    # Given a carve-out label in one file and a plain file
    # When both are decided with --json on a fixed date
    code, out, _ = run(capsys, "decide", str(acme_mp3), str(plain_flac), *META, "--date", "2026-01-15", "--json")
    # Then each line is one JSON object with SPEC's fields
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["file"] == str(acme_mp3)
    assert first["eligible"] == {"ai_training": False, "genai_training": False}
    assert first["reasons"]["ai_training"] == ["CARVE_OUT:acme-records"]
    assert first["rights"]["label"] == "Acme Records"
    assert first["rights"]["format"] == "mp3"
    assert first["rights"]["uploader_id"] == "u1"
    assert first["policy_id"] == "terms-2025-05"
    assert first["terms_version"] == "2025-05-14"
    assert second["eligible"] == {"ai_training": True, "genai_training": False}
    assert second["reasons"] == {"ai_training": ["GRANTED_BY_TERMS:2025-05-14"], "genai_training": ["OPT_IN_REQUIRED"]}
    assert second["rights"]["isrc"] == "GB-XYZ-25-00001"
    assert set(first) >= {"eligible", "reasons", "rights", "signals", "policy_id", "terms_version"}


def test_the_date_decides_which_terms_are_in_force(capsys, plain_flac):
    # Given an upload under the 2023 terms, decided before any later terms existed
    code, out, _ = run(
        capsys, "decide", str(plain_flac), "--meta", "terms-version=2023-01-01", "--date", "2023-06-01", "--json"
    )
    verdict = json.loads(out)
    assert code == 0
    assert verdict["terms_version"] == "2023-01-01"
    assert verdict["reasons"]["ai_training"] == ["NOT_GRANTED_BY_ACCEPTED_TERMS", "NOT_GRANTED_BY_CURRENT_TERMS"]


def test_decision_date_comes_from_the_environment(capsys, monkeypatch, plain_flac):
    monkeypatch.setenv("GATEKEEPER_DECISION_DATE", "2024-03-01")
    code, out, _ = run(capsys, "decide", str(plain_flac), "--meta", "terms-version=2024-02-12", "--json")
    assert code == 0
    # In March 2024 the 2024-02-12 terms were in force and granted both purposes outright.
    assert json.loads(out)["eligible"] == {"ai_training": True, "genai_training": True}


def test_text_output_names_every_purpose(capsys, acme_mp3):
    code, out, _ = run(capsys, "decide", str(acme_mp3), *META, "--date", "2026-01-15")
    assert code == 0
    assert "[mp3]" in out and "ai_training: no (CARVE_OUT:acme-records)" in out and "genai_training:" in out


def test_a_corrupt_file_is_a_fail_closed_verdict_not_an_error(capsys, tmp_path):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00not audio at all" * 10)
    code, out, _ = run(capsys, "decide", str(junk), *META, "--json")
    verdict = json.loads(out)
    assert code == 0
    assert verdict["eligible"] == {"ai_training": False, "genai_training": False}
    assert verdict["reasons"]["ai_training"][0].startswith("UNREADABLE")


def test_policy_comes_from_policy_uri_when_not_given(capsys, monkeypatch, tmp_path, plain_flac):
    doc = json.loads(DEFAULT_POLICY_PATH.read_text())
    doc["policy_id"] = "from-env"
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps(doc))
    monkeypatch.setenv("POLICY_URI", str(policy))
    code, out, _ = run(capsys, "decide", str(plain_flac), *META, "--json")
    assert code == 0 and json.loads(out)["policy_id"] == "from-env"


def test_an_invalid_policy_exits_2_naming_the_field(capsys, tmp_path, plain_flac):
    doc = json.loads(DEFAULT_POLICY_PATH.read_text())
    doc["terms"][0]["effective"] = "2024-02-30"
    policy = tmp_path / "bad.json"
    policy.write_text(json.dumps(doc))
    code, out, err = run(capsys, "decide", str(plain_flac), "--policy", str(policy))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "terms[0].effective: bad date '2024-02-30'" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["decide", "missing.mp3"], "missing.mp3: no such file"),
        (["decide", "{file}", "--meta", "novalue"], "expected KEY=VALUE"),
        (["decide", "{file}", "--policy", "/nonexistent/policy.json"], "no such file"),
    ],
)
def test_bad_usage_exits_2_with_one_line(capsys, plain_flac, argv, message):
    code, _, err = run(capsys, *(a.replace("{file}", str(plain_flac)) for a in argv))
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("date", ["2025-02-30", "2024-W07-1", "20240212"])
def test_a_bad_date_is_a_usage_error_in_one_line(capsys, plain_flac, date):
    with pytest.raises(SystemExit) as exit_info:
        main(["decide", str(plain_flac), "--date", date])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"bad date '{date}'" in err and len(err.strip().splitlines()) == 1


def test_a_directory_is_not_a_file(capsys, tmp_path):
    code, _, err = run(capsys, "decide", str(tmp_path))
    assert code == 2 and f"{tmp_path}: not a file" in err


def test_an_unreachable_policy_on_s3_is_a_one_line_failure(capsys, monkeypatch, plain_flac):
    # Given an S3 policy behind an endpoint nothing listens on
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # When a file is decided under it
    code, out, err = run(capsys, "decide", str(plain_flac), "--policy", "s3://policies/policy.json")
    # Then the command fails (it may work later) with one line naming the policy
    assert code == 1 and out == ""
    assert "reading the policy s3://policies/policy.json failed" in err
    assert len(err.strip().splitlines()) == 1


def test_a_closed_pipe_ends_the_output_quietly(acme_mp3, plain_flac):
    command = shutil.which("gatekeeper", path=str(Path(sys.executable).parent))
    files = [str(plain_flac)] * 400  # more output than a pipe buffers
    proc = subprocess.run(
        f"{command} decide {' '.join(files)} --json | head -c 10", shell=True, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and len(proc.stdout) == 10
    assert "Traceback" not in proc.stderr


def test_the_installed_command_runs_without_any_aws_configuration(tmp_path, acme_mp3):
    # Given no AWS credentials or region at all
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    command = shutil.which("gatekeeper", path=env["PATH"])
    assert command, "the gatekeeper command is installed with the project"
    # When the installed entry point decides a file
    proc = subprocess.run(
        [command, "decide", str(acme_mp3), *META, "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    # Then it succeeds and prints the verdict
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["reasons"]["ai_training"] == ["CARVE_OUT:acme-records"]
