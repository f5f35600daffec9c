"""SnapStart runtime hooks: priming before the snapshot, fresh clients and randomness after a restore."""

from __future__ import annotations

import random
import subprocess
import sys
from typing import Any

import snapshot_restore_py

from gatekeeper.handlers import runtime as runtime_module
from gatekeeper.handlers import snapstart
from gatekeeper.tags.kinds import KINDS


def test_the_upload_function_registers_both_hooks(handler: Any) -> None:
    # Given the upload function's module imported, as Lambda imports it
    before = [func for func, _, _ in snapshot_restore_py.get_before_snapshot()]
    after = [func for func, _, _ in snapshot_restore_py.get_after_restore()]
    # Then priming runs before the snapshot and the refresh after every restore
    assert snapstart.prime in before and snapstart.refresh in after


def test_priming_loads_every_container_and_builds_the_runtime(handler: Any) -> None:
    # Given a fresh interpreter that imports the function (nothing of mutagen's containers loaded)
    code = (
        "import sys; sys.path.insert(0, 'functions/gatekeeper'); import app;"
        "containers = {k.module for k in __import__('gatekeeper.tags.kinds', fromlist=['KINDS']).KINDS};"
        "print(len(containers & set(sys.modules)));"
        "from gatekeeper.handlers import snapstart; snapstart.prime();"
        "print(len(containers & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded_before, loaded_after = (int(n) for n in result.stdout.split())
    # Then importing loads no container, and priming loads every one
    assert (loaded_before, loaded_after) == (0, len({kind.module for kind in KINDS}))


def test_after_a_restore_the_runtime_and_the_random_state_are_new(handler: Any) -> None:
    # Given a primed environment, as in a snapshot
    snapstart.prime()
    primed = runtime_module.runtime()
    state = random.getstate()
    # When it is restored (the hook runs), twice from the same snapshot state
    snapstart.refresh()
    restored = runtime_module.runtime()
    first = random.random()
    random.setstate(state)
    snapstart.refresh()
    second = random.random()
    # Then new clients were built (no connection or credential of the snapshot is reused),
    # and two restores of one snapshot draw different numbers
    assert restored is not primed and restored.s3 is not primed.s3 and restored.dynamodb is not primed.dynamodb
    assert first != second
