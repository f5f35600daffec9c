"""Normal forms for the values carve-outs are matched on (SPEC "Decision" rule 2).

Names (labels, publishers, copyright lines) are compared as whole words after
NFKC, case folding and punctuation removal; ISRCs and UPCs are compared in a
canonical form and only when they are well formed, so an invalid code recorded
in a file never matches anything.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALPHANUMERIC = re.compile(r"[\W_]+")
# The ISO 3901 form of `stdnum.isrc`, without its country-code list: an ISRC whose
# country code that list does not know yet must still match a carve-out (a missed
# match would make the upload eligible). The code is inlined rather than calling
# stdnum, whose per-character cleaning costs more than a whole decision.
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}")
_REGISTRANT = re.compile(r"[A-Z]{2}[A-Z0-9]{3}")
_UPC = re.compile(r"[0-9][0-9 -]*")
_SEPARATORS = str.maketrans("", "", " -")
#: GTIN lengths accepted as a UPC/barcode: UPC-A, EAN-13, GTIN-14.
_UPC_LENGTHS = frozenset({12, 13, 14})


def normalize_name(value: str) -> str:
    """NFKC, casefold, every run of non-alphanumerics to one space, trimmed.

    >>> normalize_name("  ℗ 2024 ＡＣＭＥ   Records, Ltd. ")
    '2024 acme records ltd'
    """
    if not value.isascii():
        value = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    else:
        value = value.lower()
    return _NON_ALPHANUMERIC.sub(" ", value).strip()


def contains_words(haystack_norm: str, needle_norm: str) -> bool:
    """Whether `needle_norm` occurs in `haystack_norm` as whole words.

    Both arguments are outputs of `normalize_name`. An empty needle matches nothing.

    >>> contains_words("acme records ltd", "acme records"), contains_words("acme recordsmith", "acme records")
    (True, False)
    """
    return bool(needle_norm) and f" {needle_norm} " in f" {haystack_norm} "


def normalize_isrc(value: str) -> str | None:
    """The ISRC without separators, upper case (`USAC12400001`); None if malformed.

    Valid form only: 2 letters (country), 3 letters or digits (registrant),
    2 digits (year), 5 digits (designation); hyphens and spaces are ignored.
    """
    compact = _compact(value).upper()
    return compact if _ISRC.fullmatch(compact) else None


def normalize_registrant(value: str) -> str | None:
    """An ISRC prefix (country + registrant, `USAC1`) in upper case; None if malformed."""
    compact = _compact(value).upper()
    return compact if _REGISTRANT.fullmatch(compact) else None


def isrc_registrant(normalized_isrc: str) -> str:
    """The country + registrant prefix of a normalized ISRC (its first five characters)."""
    return normalized_isrc[:5]


def normalize_upc(value: str) -> str | None:
    """A UPC-A/EAN-13/GTIN-14 as digits without leading zeros; None if malformed.

    The input may group its digits with spaces or hyphens; the GTIN check digit
    must be right. Leading zeros are dropped so `012345678905` (UPC-A) and
    `0012345678905` (the same code as EAN-13) compare equal. A code of only
    zeros is not a product code.
    """
    value = value.strip()
    if not _UPC.fullmatch(value):
        return None
    digits = _compact(value)
    if len(digits) not in _UPC_LENGTHS or gtin_check_digit(digits[:-1]) != digits[-1]:
        return None
    return digits.lstrip("0") or None


def gtin_check_digit(digits: str) -> str:
    """The GS1 check digit for the digits before it (weights 3, 1, 3, ... from the right)."""
    total = 3 * sum(map(int, digits[-1::-2])) + sum(map(int, digits[-2::-2]))
    return str(-total % 10)


def _compact(value: str) -> str:
    """Without spaces and hyphens."""
    return value.translate(_SEPARATORS)
