"""The decision: per purpose, eligible or not, and every reason why (SPEC "Decision").

Pure and deterministic: the same inputs, policy and date give the same verdict.
Reasons accumulate in rule order, and in a fixed order within a rule:

1. `UNREADABLE[:detail]`                          the file could not be read as audio
2. `CARVE_OUT:<id>`, `CARVE_OUT:partner:<id>`     a separate agreement (policy order);
   `CONTENT_MATCH:<id>/<ref>`, `CONTENT_UNCHECKED:<detail>`   its recording, by content (`logic.content`)
3. `EMBEDDED_RESERVATION:<signal>`                a reserving signal (file order)
4. `UPLOADER_OPT_OUT`
5. `TERMS_NOT_ACCEPTED` | `UNKNOWN_TERMS_VERSION` | `NOT_GRANTED_BY_ACCEPTED_TERMS`,
   then `NOT_GRANTED_BY_CURRENT_TERMS`, then `OPT_IN_REQUIRED`

A purpose with none of these is eligible with `GRANTED_BY_TERMS:<T.version>`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from itertools import chain

from gatekeeper.logic.content import CONTENT_MATCH, CONTENT_UNCHECKED, content_reasons
from gatekeeper.logic.normalize import isrc_registrant, normalize_isrc, normalize_name, normalize_upc
from gatekeeper.logic.policy import CarveOutIndex, CompiledPolicy, compile_policy, parse_day
from gatekeeper.logic.signals import reserved_purposes
from gatekeeper.models import (
    GENAI_TRAINING,
    PURPOSES,
    DecisionInputs,
    Extraction,
    PlatformMetadata,
    Policy,
    Terms,
    Verdict,
)

UNREADABLE = "UNREADABLE"
CARVE_OUT = "CARVE_OUT"
EMBEDDED_RESERVATION = "EMBEDDED_RESERVATION"
UPLOADER_OPT_OUT = "UPLOADER_OPT_OUT"
TERMS_NOT_ACCEPTED = "TERMS_NOT_ACCEPTED"
UNKNOWN_TERMS_VERSION = "UNKNOWN_TERMS_VERSION"
NOT_GRANTED_BY_ACCEPTED_TERMS = "NOT_GRANTED_BY_ACCEPTED_TERMS"
NOT_GRANTED_BY_CURRENT_TERMS = "NOT_GRANTED_BY_CURRENT_TERMS"
OPT_IN_REQUIRED = "OPT_IN_REQUIRED"
GRANTED_BY_TERMS = "GRANTED_BY_TERMS"
#: Written by a removal event (SPEC "Deletion"), never by `decide`.
DELETED = "DELETED"

#: Every reason code, in rule order; all but GRANTED_BY_TERMS deny.
REASON_CODES: tuple[str, ...] = (
    UNREADABLE,
    CARVE_OUT,
    CONTENT_MATCH,
    CONTENT_UNCHECKED,
    EMBEDDED_RESERVATION,
    UPLOADER_OPT_OUT,
    TERMS_NOT_ACCEPTED,
    UNKNOWN_TERMS_VERSION,
    NOT_GRANTED_BY_ACCEPTED_TERMS,
    NOT_GRANTED_BY_CURRENT_TERMS,
    OPT_IN_REQUIRED,
    GRANTED_BY_TERMS,
    DELETED,
)

DECISION_DATE_ENV = "GATEKEEPER_DECISION_DATE"
_ALL = frozenset(PURPOSES)


def reason_code(reason: str) -> str:
    """The code of a reason: the part before the first `:`.

    >>> reason_code("EMBEDDED_RESERVATION:xmp:tdm:reservation=1"), reason_code("UPLOADER_OPT_OUT")
    ('EMBEDDED_RESERVATION', 'UPLOADER_OPT_OUT')
    """
    return reason.partition(":")[0]


def decision_date(environ: Mapping[str, str] | None = None, today: dt.date | None = None) -> dt.date:
    """`GATEKEEPER_DECISION_DATE` (YYYY-MM-DD) if set, else `today`, else the UTC date now.

    An invalid value raises `ValueError` naming the variable.
    """
    raw = (os.environ if environ is None else environ).get(DECISION_DATE_ENV, "").strip()
    if raw:
        if (day := parse_day(raw)) is None:
            raise ValueError(f"{DECISION_DATE_ENV}: bad date {raw!r} (expected YYYY-MM-DD)")
        return day
    return today if today is not None else dt.datetime.now(dt.UTC).date()


def decide(inputs: DecisionInputs, policy: Policy, on: dt.date) -> Verdict:
    """Decide every purpose for one upload under `policy` on the decision date `on`."""
    compiled = compile_policy(policy)
    on = on.date() if isinstance(on, dt.datetime) else on
    metadata, extraction = inputs.metadata, inputs.extraction
    current = compiled.terms_in_force(on)
    accepted = compiled.accepted_terms(metadata.terms_version)
    upload_reasons = _upload_reasons(compiled, inputs)

    reasons: dict[str, list[str]] = {}
    eligible: dict[str, bool] = {}
    for purpose in PURPOSES:
        deny = [reason for reason, covered in upload_reasons if purpose in covered]
        deny += _terms_reasons(purpose, inputs, current, accepted)
        eligible[purpose] = not deny
        # No deny reason implies terms in force (else NOT_GRANTED_BY_CURRENT_TERMS).
        reasons[purpose] = deny or [f"{GRANTED_BY_TERMS}:{current.version}"]  # type: ignore[union-attr]
    return Verdict(
        eligible=eligible,
        reasons=reasons,
        policy_id=compiled.policy_id,
        terms_version=current.version if current else None,
        accepted_terms_version=metadata.terms_version,
    )


def _upload_reasons(policy: CompiledPolicy, inputs: DecisionInputs) -> list[tuple[str, frozenset[str]]]:
    """Rules 1-4 in order: (reason, the purposes it denies)."""
    metadata, extraction = inputs.metadata, inputs.extraction
    found: list[tuple[str, frozenset[str]]] = []
    if extraction.unreadable is not None:
        found.append((f"{UNREADABLE}:{extraction.unreadable}" if extraction.unreadable else UNREADABLE, _ALL))
    found += _carve_out_reasons(policy, metadata, extraction)
    found += content_reasons(policy, inputs.content)
    for signal in extraction.signals:
        if reserved := reserved_purposes(signal):
            found.append((f"{EMBEDDED_RESERVATION}:{signal}", reserved))
    if inputs.opted_out:
        found.append((UPLOADER_OPT_OUT, _ALL))
    return found


# ---------------------------------------------------------------- rule 2: carve-outs


def _carve_out_reasons(
    policy: CompiledPolicy, metadata: PlatformMetadata, extraction: Extraction
) -> list[tuple[str, frozenset[str]]]:
    """(reason, purposes it covers) for every matching carve-out in policy order, then an unknown partner."""
    index = policy.carve_out_index
    matched = sorted(_matching_positions(index, metadata, extraction))
    found = [(f"{CARVE_OUT}:{policy.carve_outs[p].id}", policy.carve_outs[p].purposes) for p in matched]
    if metadata.partner_id and metadata.partner_id.casefold() not in index.partners:
        found.append((f"{CARVE_OUT}:partner:{metadata.partner_id}", _ALL))
    return found


def _matching_positions(index: CarveOutIndex, metadata: PlatformMetadata, extraction: Extraction) -> set[int]:
    found: set[int] = set()
    if metadata.partner_id:
        found.update(index.partners.get(metadata.partner_id.casefold(), ()))
    if metadata.uploader_id:
        found.update(index.uploaders.get(metadata.uploader_id.casefold(), ()))
    rights = extraction.rights
    for text in chain(rights.get("label", ()), rights.get("copyright", ())):
        found.update(index.label_positions(normalize_name(text)))
    for value in rights.get("isrc", ()):
        if isrc := normalize_isrc(value):
            found.update(index.isrcs.get(isrc, ()))
            found.update(index.isrc_registrants.get(isrc_registrant(isrc), ()))
    for value in rights.get("upc", ()):
        if upc := normalize_upc(value):
            found.update(index.upcs.get(upc, ()))
    return found


# ---------------------------------------------------------------- rule 5: terms


def _offers(terms: Terms, purpose: str) -> bool:
    return purpose in terms.grants or purpose in terms.opt_in


def _opted_in(inputs: DecisionInputs, purpose: str) -> bool:
    """Only `genai_training` has an opt-in (the account's, else `genai-opt-in`); any other is never given."""
    return purpose == GENAI_TRAINING and inputs.genai_opted_in


def _terms_reasons(purpose: str, inputs: DecisionInputs, current: Terms | None, accepted: Terms | None) -> list[str]:
    found = []
    if inputs.metadata.terms_version is None:
        found.append(TERMS_NOT_ACCEPTED)
    elif accepted is None:
        found.append(UNKNOWN_TERMS_VERSION)
    elif not _offers(accepted, purpose):
        found.append(NOT_GRANTED_BY_ACCEPTED_TERMS)
    if current is None or not _offers(current, purpose):
        found.append(NOT_GRANTED_BY_CURRENT_TERMS)
    needs_opt_in = (current is not None and purpose in current.opt_in) or (
        accepted is not None and purpose in accepted.opt_in
    )
    if needs_opt_in and not _opted_in(inputs, purpose):
        found.append(OPT_IN_REQUIRED)
    return found
