"""`gatekeeper demo`: the whole path on moto, a verdict table covering every rule."""

from __future__ import annotations

import io
import os

from gatekeeper import demo_content
from gatekeeper.cli import main
from gatekeeper.demo import CONSENT_ACCOUNT, CONSENT_UPLOADS, UPLOADS, run_demo
from gatekeeper.logic.decision import REASON_CODES


def test_demo_prints_a_row_for_every_upload_and_every_reason_code(capsys):
    # Given the demo's sample uploads
    before = dict(os.environ)
    # When the demo runs through the command
    code = main(["demo"])
    out = capsys.readouterr().out
    # Then it succeeds, every upload has its row and every reason code appears
    assert code == 0, out
    for upload in UPLOADS:
        assert upload.key in out
    # (content identification's too: make test installs the music and the content-id extra)
    assert "Content identification: skipped" not in out
    assert f"reason codes shown: {len(REASON_CODES)}/{len(REASON_CODES)}" in out
    for code_name in REASON_CODES:
        assert code_name in out
    # and the process environment is left as it was
    assert dict(os.environ) == before


def test_demo_verdicts_match_the_rules_they_show():
    out = io.StringIO()
    assert run_demo(out) == 0
    lines = out.getvalue().splitlines()

    def verdict(key: str, purpose: str) -> str:
        start = next(i for i, line in enumerate(lines) if line.startswith(key))
        row = (line.strip() for line in lines[start + 1 : start + 4])
        return next(line for line in row if line.startswith(purpose + " ")).split(purpose, 1)[1].strip()

    assert verdict("tracks/current terms.mp3", "ai_training") == "yes GRANTED_BY_TERMS:2025-05-14"
    assert verdict("tracks/current terms.mp3", "genai_training") == "no  OPT_IN_REQUIRED"
    assert verdict("tracks/opted-in.flac", "genai_training") == "yes GRANTED_BY_TERMS:2025-05-14"
    assert verdict("labels/other distributor.mp3", "ai_training") == "no  CARVE_OUT:partner:indie-dist"
    assert verdict("signals/c2pa.wav", "ai_training") == "yes GRANTED_BY_TERMS:2025-05-14"
    assert verdict("broken/deleted.mp3", "genai_training") == "no  DELETED"
    assert verdict("broken/truncated.flac", "ai_training").startswith("no  UNREADABLE")
    assert verdict("labels/acme by upc.ogg", "ai_training") == "no  CARVE_OUT:acme-records"
    assert verdict("signals/genai-training no.flac", "ai_training") == "yes GRANTED_BY_TERMS:2025-05-14"
    assert verdict("signals/genai-training no.flac", "genai_training") == (
        "no  EMBEDDED_RESERVATION:tag:GENAI-TRAINING=denied"
    )


def test_demo_shows_an_account_withdrawing_its_genai_opt_in():
    # Given the demo's account that opted in, with uploads whose metadata says genai-opt-in=true
    out = io.StringIO()
    # When the demo runs (the account withdraws its opt-in; its stream record drives the consent function)
    assert run_demo(out) == 0
    text = out.getvalue()
    before, after = text.split(f"{CONSENT_ACCOUNT} withdraws the opt-in", 1)
    # Then every upload of the account was eligible for genai before, and is not after
    for upload in CONSENT_UPLOADS:
        assert before.count(upload.key) == 1 and after.count(upload.key) == 1
    assert before.count("genai_training  yes GRANTED_BY_TERMS:2025-05-14") >= len(CONSENT_UPLOADS)
    assert after.count("genai_training  no  OPT_IN_REQUIRED") == len(CONSENT_UPLOADS)
    assert after.count("consent: the account's record, genai_opt_in=false") == len(CONSENT_UPLOADS)
    assert f"{len(CONSENT_UPLOADS)}/{len(CONSENT_UPLOADS)} uploads of {CONSENT_ACCOUNT} flipped" in after
    assert f"the other {len(UPLOADS)} uploads unchanged" in after


def test_demo_catches_a_stripped_reencode_and_an_excerpt_and_grants_an_unrelated_track():
    # Given the demo's reference catalogue (one recording of acme-records) and uploads with no tags naming the label
    out = io.StringIO()
    assert run_demo(out) == 0
    scene = out.getvalue().split("Content identification (policy with content_id)", 1)[1]
    lines = scene.splitlines()

    def reasons(key: str) -> list[str]:
        start = next(i for i, line in enumerate(lines) if line.startswith(key))
        return [line.strip().split(None, 1)[1] for line in lines[start + 2 : start + 4]]

    match = f"no  CONTENT_MATCH:{demo_content.CARVE_OUT}/{demo_content.REFERENCE_ID}"
    # Then the re-encode and the excerpt are caught by their audio alone, for every purpose
    assert reasons("content/re-encoded copy.mp3") == [match, match]
    assert reasons("content/excerpt.opus") == [match, match]
    # And the unrelated track is granted, and audio too short to check fails closed
    assert reasons("content/unrelated.mp3") == ["yes GRANTED_BY_TERMS:2025-05-14"] * 2
    assert reasons("content/too short.mp3") == ["no  CONTENT_UNCHECKED:too-short"] * 2
