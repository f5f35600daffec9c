"""Consent propagation: a change to an account's record re-decides every upload of that account.

SPEC "Account consent": within a minute, from the rows' stored `inputs` (no audio
read), never over a newer event. The account's rows come from the flags table's
uploader index; each is decided again with the account's record *as it is now*
(so two quick changes end in the later one's state, whatever order their stream
records are handled in) and rewritten only if its verdict changed, conditionally
(`FlagsTable.replace_verdict`: same upload, same sequencer, no newer account
record already applied). With content identification on, the rows' stored
fingerprints are matched against the catalogue as it is now too.

`gatekeeper consent set` runs it for one account at once; the propagation function
runs it per stream record of the consent table (`handlers.consent`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gatekeeper.dal import ConsentStore, ReferenceIndex
from gatekeeper.dal.consent_table import CachedConsents
from gatekeeper.downstream.reevaluate import Reevaluator, Summary, VerdictTable
from gatekeeper.models import Policy

#: The propagation function's second look at the uploader index (eventually consistent).
DEFAULT_SETTLE_SECONDS = 5.0


def propagate(
    table: VerdictTable,
    consents: ConsentStore,
    policy: Policy,
    on: dt.date,
    uploader_id: str,
    *,
    references: ReferenceIndex | None = None,
    on_row: Any = None,
) -> Summary:
    """Re-decide every row of `uploader_id` under its account record as it is now (read once)."""
    reevaluator = Reevaluator(
        table, policy, on, consents=CachedConsents(consents), references=references, on_row=on_row
    )
    return reevaluator.run_uploader(uploader_id)
