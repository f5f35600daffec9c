"""Rule 2's content clauses: what content identification's findings deny (SPEC "Decision").

Pure: the matches come in as inputs (`ContentCheck`), found by the fingerprint
index before the decision. With the policy's `content_id` on:

- the upload's audio matches a reference of carve-out *C* ⇒
  `CONTENT_MATCH:<C>/<reference id>` for *C*'s purposes, or every purpose when
  the policy no longer lists *C* (the agreement's terms are unknown: deny);
- the audio could not be checked and `required` is true ⇒
  `CONTENT_UNCHECKED:<detail>` for every purpose. An upload with no content check
  at all (decided before content identification was turned on, and re-decided
  since) is unchecked too: `CONTENT_UNCHECKED:not-fingerprinted`.

With `content_id` off, content identification says nothing.
"""

from __future__ import annotations

from gatekeeper.logic.policy import CompiledPolicy
from gatekeeper.models import PURPOSES, ContentCheck

CONTENT_MATCH = "CONTENT_MATCH"
CONTENT_UNCHECKED = "CONTENT_UNCHECKED"
#: The detail of an upload that was never fingerprinted.
NOT_FINGERPRINTED = "not-fingerprinted"

_ALL = frozenset(PURPOSES)


def content_reasons(policy: CompiledPolicy, content: ContentCheck | None) -> list[tuple[str, frozenset[str]]]:
    """(reason, the purposes it denies) of the content clauses, in order: every match, then unchecked."""
    if policy.content_id is None:
        return []
    content = content or ContentCheck(unchecked=NOT_FINGERPRINTED)
    found: list[tuple[str, frozenset[str]]] = []
    for match in content.matches:
        carve_out = policy.carve_outs_by_id.get(match.carve_out)
        reason = f"{CONTENT_MATCH}:{match.carve_out}/{match.reference_id}"
        if all(reason != seen for seen, _ in found):
            found.append((reason, carve_out.purposes if carve_out is not None else _ALL))
    if content.unchecked is not None and policy.content_id.required:
        found.append((f"{CONTENT_UNCHECKED}:{content.unchecked}", _ALL))
    return found
