"""Normal forms used by carve-out matching (SPEC "Decision" rule 2)."""

import pytest
from stdnum import ean

from gatekeeper.logic.normalize import (
    contains_words,
    gtin_check_digit,
    isrc_registrant,
    normalize_isrc,
    normalize_name,
    normalize_registrant,
    normalize_upc,
)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Acme Records", "acme records"),
        ("  ACME   records  ", "acme records"),
        ("℗ 2024 Acme Records Ltd.", "2024 acme records ltd"),
        ("© Acme-Records, Inc.", "acme records inc"),
        ("ＡＣＭＥ　Ｒｅｃｏｒｄｓ", "acme records"),  # fullwidth letters and ideographic space (NFKC)
        ("Straße Musik", "strasse musik"),  # casefold, not lower
        ("Ｍｕｓｉｃ\u00a0Ｇｒｏｕｐ", "music group"),  # no-break space
        ("acme_records", "acme records"),  # underscore is punctuation
        ("Beyoncé", "beyoncé"),
        ("Beyonce\u0301", "beyoncé"),  # combining accent composed by NFKC
        ("!!!", ""),
        ("", ""),
    ],
)
def test_normalize_name(raw: str, normalized: str) -> None:
    # Given a label/publisher/copyright text, When normalized, Then NFKC + casefold + words only.
    assert normalize_name(raw) == normalized


@pytest.mark.parametrize(
    ("haystack", "needle", "contained"),
    [
        ("acme records", "acme records", True),
        ("2024 acme records ltd", "acme records", True),
        ("acme recordsmith", "acme records", False),
        ("the acme records", "acme records", True),
        ("subacme records", "acme records", False),
        ("acme", "acme records", False),
        ("acme music group", "acme", True),
        ("anything", "", False),
        ("", "acme", False),
    ],
)
def test_contains_words_is_whole_word_containment(haystack: str, needle: str, contained: bool) -> None:
    # Given two normalized names, When checked, Then only whole-word runs count.
    assert contains_words(haystack, needle) is contained


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("USAC12400001", "USAC12400001"),
        ("US-AC1-24-00001", "USAC12400001"),
        ("us ac1 24 00001", "USAC12400001"),
        (" usac12400001 ", "USAC12400001"),
        ("XXAB12400001", "XXAB12400001"),  # unknown country code: still the valid form
        ("QZ-ES6-19-00001", "QZES61900001"),
        ("USAC1240000", None),  # 11 characters
        ("USAC124000012", None),  # 13 characters
        ("1SAC12400001", None),  # country must be letters
        ("USAC1A400001", None),  # year must be digits
        ("USAC1240000A", None),  # designation must be digits
        ("US_AC1_24_00001", None),  # only hyphens and spaces are separators
        ("XX", None),
        ("", None),
    ],
)
def test_normalize_isrc(raw: str, normalized: str | None) -> None:
    # Given an ISRC as written, When normalized, Then compact upper case, or None if malformed.
    assert normalize_isrc(raw) == normalized


def test_isrc_registrant_is_country_and_registrant() -> None:
    # Given a normalized ISRC, Then its registrant prefix is its first five characters.
    assert isrc_registrant("USAC12400001") == "USAC1"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("USAC1", "USAC1"), ("us-ac1", "USAC1"), ("GB 0AB", "GB0AB"), ("US", None), ("USAC12", None), ("1SAC1", None)],
)
def test_normalize_registrant(raw: str, normalized: str | None) -> None:
    # Given a registrant prefix, When normalized, Then 2 letters + 3 alphanumerics upper case, or None.
    assert normalize_registrant(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("0123456789012", "123456789012"),  # EAN-13 with a leading zero
        ("123456789012", "123456789012"),  # the same code as UPC-A
        ("00123456789012", "123456789012"),  # and as GTIN-14
        ("0 12345 67890 5", "12345678905"),  # UPC-A grouped with spaces
        ("978-0-471-11709-4", "9780471117094"),  # EAN-13 grouped with hyphens
        ("0123456789013", None),  # bad check digit
        ("12345670", None),  # EAN-8 is not a UPC/barcode length here
        ("123456789012345", None),  # too long
        ("0000000000000", None),  # only zeros
        ("01234567890I2", None),  # a letter
        ("-123456789012", None),  # must start with a digit
        ("", None),
    ],
)
def test_normalize_upc(raw: str, normalized: str | None) -> None:
    # Given a barcode as written, When normalized, Then digits without leading zeros, or None if invalid.
    assert normalize_upc(raw) == normalized


@pytest.mark.parametrize("body", ["012345678901", "97804711170", "123", "9", "4006381333931"[:-1], "1234567890123"])
def test_gtin_check_digit_agrees_with_stdnum(body: str) -> None:
    # Given the digits before a check digit, Then our GS1 check digit equals python-stdnum's.
    assert gtin_check_digit(body) == ean.calc_check_digit(body)
