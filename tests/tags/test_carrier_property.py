"""Property: any corpus file, any reservation, in any carrier its container can hold — never a grant.

For every readable file of mutagen's corpus and every carrier the container can
hold (the outer tags every file can carry, and the container's own: a second
Vorbis comment, a chained Ogg link, a second moov, a WAV/AIFF chunk, an MP4 uuid
box, a trailing APEv2, ...), hypothesis writes a reservation (a text tag, an XMP
code or a C2PA assertion, whichever the carrier holds) there and nowhere else.
The purposes it reserves are never eligible; and when the file stays readable,
the reservation's signal is among those found.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from gatekeeper.logic.decision import decide
from gatekeeper.logic.policy import DEFAULT_POLICY_PATH, load_policy_file
from gatekeeper.models import GENAI_TRAINING, PURPOSES, DecisionInputs, PlatformMetadata
from gatekeeper.tags import extract
from gatekeeper.tags.c2pa import c2pa_store
from gatekeeper.tags.xmp import xmp_packet
from tests.conftest import CORPUS
from tests.tags.carriers import CARRIERS, FORMAT_CARRIERS, OUTER_CARRIERS, Reservation, kind_of

POLICY = load_policy_file(DEFAULT_POLICY_PATH)
METADATA = PlatformMetadata(uploader_id="u-1", terms_version="2025-05-14", genai_opt_in=True)
ALL, GENAI = frozenset(PURPOSES), frozenset({GENAI_TRAINING})

RESERVATIONS: tuple[Reservation, ...] = (
    Reservation("tag:TDM_RESERVATION=1", ALL, text=("TDM_RESERVATION", "1")),
    Reservation("tag:AI_TRAINING=prohibited", ALL, text=("AI_TRAINING", "prohibited")),
    Reservation("tag:GENAI-TRAINING=no", GENAI, text=("genai-training", "no")),
    Reservation("xmp:plus:DataMining=DMI-PROHIBITED-AIMLTRAINING", ALL, xmp=xmp_packet(dmi="DMI-PROHIBITED-AIMLTRAINING")),
    Reservation("xmp:tdm:reservation=1", ALL, xmp=xmp_packet(tdm="1")),
    Reservation(
        "c2pa:c2pa.training-mining/c2pa.ai_generative_training=notAllowed",
        GENAI,
        c2pa=c2pa_store({"c2pa.training-mining": {"entries": {"c2pa.ai_generative_training": {"use": "notAllowed"}}}}),
    ),
)


def _readable_corpus() -> dict[str, tuple[bytes, str]]:
    """Corpus files read cleanly as they are: name -> (bytes, format)."""
    found = {}
    for path in sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []:
        data = Path(path).read_bytes()
        extraction = extract(io.BytesIO(data))
        if extraction.unreadable is None and extraction.format:
            found[path.name] = (data, extraction.format)
    return found


FILES = _readable_corpus()
CASES: list[tuple[str, str, Reservation]] = [
    (name, carrier, reservation)
    for name, (_, fmt) in FILES.items()
    for carrier in (*OUTER_CARRIERS, *FORMAT_CARRIERS.get(fmt, ()))
    for reservation in RESERVATIONS
    if kind_of(reservation) in CARRIERS[carrier][1]
]


def test_the_property_covers_the_corpus_and_every_carrier() -> None:
    # Given the readable corpus and the carriers of each container
    # Then most of the corpus is in play, and every carrier has files to be written into
    assert len(FILES) >= 75
    assert {carrier for _, carrier, _ in CASES} == set(CARRIERS)
    assert {reservation for _, _, reservation in CASES} == set(RESERVATIONS)


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
def test_every_carrier_can_be_written_into_real_files(carrier: str) -> None:
    # Given the corpus files of the containers that hold this carrier
    cases = [(name, reservation) for name, each, reservation in CASES if each == carrier]
    # Then mutagen and the writers can place it in nearly all of them (the property is not vacuous)
    written = 0
    for name, reservation in cases:
        try:
            CARRIERS[carrier][0](FILES[name][0], reservation)
            written += 1
        except Exception:  # noqa: BLE001 - a truncated file mutagen refuses to save
            pass
    assert written >= max(1, 0.8 * len(cases)), (written, len(cases))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES))
def test_a_reservation_in_any_carrier_is_never_a_grant(case: tuple[str, str, Reservation]) -> None:
    name, carrier, reservation = case
    writer, _ = CARRIERS[carrier]
    # Given a real file with the reservation written into one carrier and nowhere else
    data, fmt = FILES[name]
    try:
        written = writer(data, reservation)
    except Exception:  # noqa: BLE001 - the file cannot take the carrier (mutagen refuses to save it)
        reject()
    extraction = extract(io.BytesIO(written))
    verdict = decide(DecisionInputs(METADATA, extraction), POLICY, dt.date(2026, 1, 15))
    # Then no purpose it reserves is eligible
    assert not any(verdict.eligible[purpose] for purpose in reservation.reserves), (name, carrier, extraction)
    # And a file that stayed readable had the reservation read, not guessed
    if extraction.unreadable is None:
        assert reservation.signal in extraction.signals, (name, carrier, extraction)
        assert extraction.format == fmt
