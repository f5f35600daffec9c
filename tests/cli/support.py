"""Running the installed `gatekeeper` command against a moto *server* (the `moto_endpoint`
fixture: a separate endpoint, given by `AWS_ENDPOINT_URL`, as a user would run it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path



def run_gatekeeper(endpoint: str, home: Path, table: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`gatekeeper ARGS...` in a clean environment pointed at the emulator and `table`."""
    command = shutil.which("gatekeeper", path=str(Path(sys.executable).parent))
    assert command, "the gatekeeper command is installed with the project"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "FLAGS_TABLE_NAME": table,
        "GATEKEEPER_DECISION_DATE": "2026-01-15",
        "POWERTOOLS_TRACE_DISABLED": "true",
        **extra_env,
    }
    return subprocess.run([command, *args], capture_output=True, text=True, env=env, timeout=120)
