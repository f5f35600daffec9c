"""Pure decision throughput: `decide` on pre-extracted inputs, on one core.

The inputs are a seeded mix of what uploads carry: every terms version (and none,
and an unknown one), opt-outs and opt-ins, partner feeds, carve-out labels,
ISRCs and UPCs, reserving and permissive signals, some unreadable files. Every
input has its own title, label and codes, and one round decides them all once,
so the decision core's caches see the traffic of a real stream, not one input
repeated. Throughput is counted against process CPU time (one thread, so one
core), which the machine's other load disturbs less than wall time.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from dataclasses import dataclass

from gatekeeper.logic.decision import decide
from gatekeeper.models import DecisionInputs, Extraction, PlatformMetadata, Policy

# (value, weight): most uploads accepted recent terms and carry no carve-out or reservation.
TERMS_VERSIONS = (("2025-05-14", 60), ("2024-02-12", 20), (None, 8), ("2023-01-01", 7), ("2019-07-01", 5))
LABELS = (("Indie Label", 55), ("Self-released", 35), ("Acme Records", 5), ("ACME RECORDS (UK) Ltd", 5))
REGISTRANTS = (("GBAYE", 48), ("DEUM7", 47), ("USAC1", 5))
PARTNERS = ("acme-feed", "other-feed")
SIGNALS = (
    "tag:TDM_RESERVATION=0",
    "tag:TDM_RESERVATION=1",
    "tag:AI_TRAINING=no",
    "tag:GENAI_TRAINING=allowed",
    "xmp:plus:DataMining=DMI-PROHIBITED-GENAIMLTRAINING",
    "xmp:plus:DataMining=DMI-ALLOWED",
    "xmp:tdm:reservation=1",
    "c2pa:c2pa.training-mining/c2pa.ai_generative_training=notAllowed",
)


@dataclass(frozen=True)
class Throughput:
    decisions_per_second: float  # median over rounds, per CPU second
    wall_decisions_per_second: float  # median over rounds, per wall second
    inputs: int
    rounds: int


def sample_inputs(count: int, seed: int = 6) -> list[DecisionInputs]:
    """`count` distinct, realistic decision inputs."""
    rng = random.Random(seed)
    return [_inputs(rng, number) for number in range(count)]


def _inputs(rng: random.Random, number: int) -> DecisionInputs:
    partner = rng.choice(PARTNERS) if rng.random() < 0.05 else None
    metadata = PlatformMetadata(
        uploader_id="acme-official" if rng.random() < 0.02 else f"user-{number}",
        terms_version=_weighted(rng, TERMS_VERSIONS),
        ai_opt_out=rng.random() < 0.1,
        genai_opt_in=rng.random() < 0.3,
        partner_id=partner,
    )
    extraction = Extraction(format="mp3")
    if rng.random() < 0.02:
        extraction.unreadable = "mp3"
        return DecisionInputs(metadata, extraction)
    label = f"{_weighted(rng, LABELS)} {number}"
    extraction.add_right("title", f"Track {number}")
    extraction.add_right("artist", f"Artist {number}")
    extraction.add_right("label", label)
    extraction.add_right("copyright", f"(P) 2025 {label}")
    extraction.add_right("isrc", f"{_weighted(rng, REGISTRANTS)}{number % 100:02d}{number % 100000:05d}")
    extraction.add_right("upc", f"{number:012d}")
    for signal in rng.sample(SIGNALS, rng.choice((0, 0, 0, 1, 2))):
        extraction.add_signal(signal)
    return DecisionInputs(metadata, extraction)


def _weighted(rng: random.Random, choices: tuple[tuple[str | None, int], ...]) -> str | None:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def decision_throughput(policy: Policy, on: dt.date, *, inputs: int, rounds: int) -> Throughput:
    """Decide `inputs` distinct inputs, `rounds` times; median rates."""
    batch = sample_inputs(inputs)
    cpu_rates: list[float] = []
    wall_rates: list[float] = []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for item in batch:
            decide(item, policy, on)
        cpu_rates.append(len(batch) / max(time.process_time() - cpu, 1e-9))
        wall_rates.append(len(batch) / max(time.perf_counter() - wall, 1e-9))
    return Throughput(statistics.median(cpu_rates), statistics.median(wall_rates), len(batch), rounds)
