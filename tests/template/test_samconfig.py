"""samconfig.toml: deploys need no flags beyond `sam deploy` and always show the change set."""

from __future__ import annotations

import tomllib

from tests.template.cfn import ROOT


def test_deploy_defaults_are_safe_and_complete() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploy = config["default"]["deploy"]["parameters"]
    # The function role is created by the stack (no named IAM resources)
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    # SAM manages the artifact bucket, and every change set is confirmed before it runs
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    assert config["default"]["global"]["parameters"]["stack_name"]
    assert config["default"]["validate"]["parameters"]["lint"] is True
