"""Medians of several benchmark runs (`python -m bench.combine`)."""

from __future__ import annotations

from bench.combine import median_of


def test_numbers_are_medians_and_the_rest_is_the_first_runs() -> None:
    runs = [
        {"ms": 3.0, "n": 1, "ok": True, "name": "a", "rows": [{"x": 1.0}], "none": None},
        {"ms": 1.0, "n": 3, "ok": False, "name": "b", "rows": [{"x": 5.0}], "none": None},
        {"ms": 2.0, "n": 1, "ok": False, "name": "c", "rows": [{"x": 2.0}], "none": None},
    ]
    assert median_of(runs) == {"ms": 2.0, "n": 1, "ok": True, "name": "a", "rows": [{"x": 2.0}], "none": None}


def test_named_pairs_are_matched_by_name_not_position() -> None:
    # An import profile lists packages by their time, so their order differs from run to run
    runs = [[["botocore", 5.0], ["mutagen", 1.0]], [["mutagen", 3.0], ["botocore", 4.0]], [["botocore", 6.0]]]
    assert median_of(runs) == [["botocore", 5.0], ["mutagen", 2.0]]
