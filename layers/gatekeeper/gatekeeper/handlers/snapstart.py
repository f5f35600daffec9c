"""Lambda SnapStart runtime hooks of the upload function (`snapshot_restore_py`, in every managed runtime).

With SnapStart (template parameter `SnapStart`), Lambda imports the function and
runs its initialisation once, when a version is published, and snapshots the
execution environment; new environments resume from the snapshot. So:

- **before the snapshot**, `prime` does the work a cold start would otherwise pay
  at the first upload: every container's mutagen module and reader, the XMP and
  C2PA readers, and the runtime (clients, adapters: botocore loads its service
  models then). The snapshot then holds them;
- **after a restore**, `refresh` re-creates what must not come from a snapshot
  shared by many environments: the AWS clients (their connections are gone, and
  the credentials of the execution role must be the restored environment's), the
  cached policy (it may be older than its time to live) and the `random` state (every
  restored environment would otherwise draw the same numbers; `os.urandom`, which
  `uuid.uuid4` uses, is reseeded by the runtime itself).

Outside a SnapStart runtime (tests, `gatekeeper invoke`, SnapStart off) the hooks
are registered and never run; without the library installed (a plain `pip install`)
they are not even registered.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from gatekeeper.handlers.runtime import ConfigurationError, reset_runtime, runtime

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # pragma: no cover - the library is part of Lambda's Python runtimes and of the dev tools

    def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return func

    register_after_restore = register_before_snapshot


@register_before_snapshot
def prime() -> None:
    """Import and build now what the first upload would, so the snapshot holds it."""
    from gatekeeper.tags import kinds
    from gatekeeper.tags import c2pa, xmp  # noqa: F401 - loaded for the files that carry them

    kinds.load_all()
    try:
        runtime()
    except ConfigurationError:
        pass  # reported, once, by the first invocation, which fails its records


@register_after_restore
def refresh() -> None:
    """Fresh clients, policy cache and random state in a restored environment."""
    reset_runtime()
    random.seed()
