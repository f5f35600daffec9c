"""Pure decision throughput: `decide` on pre-extracted inputs, on one core.

The inputs are a seeded mix of what uploads carry: every terms version (and none,
and an unknown one), opt-outs and opt-ins, partner feeds, carve-out labels,
ISRCs and UPCs, reserving and permissive signals, some unreadable files. Every
input has its own title, label and codes, and one round decides them all once,
so the decision core's caches see the traffic of a real stream, not one input
repeated. Throughput is counted against process CPU time (one thread, so one
core), which the machine's other load disturbs less than wall time.

Decisions per second differ between machines (86,000 on one, 31,700 on another),
so the same run also times a **fixed reference workload** (`REFERENCE`, "ref-1")
and reports decisions per reference unit, a figure machines can compare. A
reference unit is pure-Python work of the decision core's kind on one fixed
record: normalise a label (case-fold, split, strip, join), match it as whole
words against a small catalogue, look an ISRC registrant up in a set, interpret
a few tag values, build a small result dict. Its records are built by arithmetic
(no random generator, whose algorithms may change), so the work is the same on
every machine and every Python; it must never change (a changed workload gets a
new name). Rounds alternate: the decision batch, then the reference batch, each
timed in CPU seconds; the ratio of each pair of rounds is taken, and the median
of those, so what the machine's other load does to one round it does to both.
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
    reference: str = ""  # the reference workload's name
    reference_units_per_second: float = 0.0  # median over rounds, per CPU second
    decisions_per_reference_unit: float = 0.0  # median over rounds of the per-round ratio


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
    """Decide `inputs` distinct inputs, `rounds` times, each round followed by a reference round; median rates."""
    batch = sample_inputs(inputs)
    records = reference_records()
    reference_round(records)  # warm-up
    cpu_rates: list[float] = []
    wall_rates: list[float] = []
    reference_rates: list[float] = []
    ratios: list[float] = []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for item in batch:
            decide(item, policy, on)
        cpu_rates.append(len(batch) / max(time.process_time() - cpu, 1e-9))
        wall_rates.append(len(batch) / max(time.perf_counter() - wall, 1e-9))
        reference_rates.append(reference_rate(records, units=max(len(batch), REFERENCE_RECORDS)))
        ratios.append(cpu_rates[-1] / reference_rates[-1])
    return Throughput(
        statistics.median(cpu_rates),
        statistics.median(wall_rates),
        len(batch),
        rounds,
        reference=REFERENCE,
        reference_units_per_second=statistics.median(reference_rates),
        decisions_per_reference_unit=statistics.median(ratios),
    )


# ---------------------------------------------------------------- the reference workload

#: Its name; a changed workload must get a new one.
REFERENCE = "ref-1"
REFERENCE_RECORDS = 1_000

_WORDS = ("acme", "records", "music", "group", "indie", "label", "sound", "works", "north", "river", "blue", "ltd")
_CATALOGUE = ("acme records", "acme music group", "river sound", "north works ltd")
_REGISTRANTS = frozenset({"USAC1", "GBAYE", "DEUM7", "FRZ03", "NLA01"})
_NEGATIVE = frozenset({"no", "false", "0", "prohibited", "deny", "opt-out"})
_VALUES = ("yes", "No", "allowed", "PROHIBITED", "0", "1", "opt-out", "maybe")
_COUNTRIES = ("US", "GB", "DE", "FR", "NL")


def reference_records() -> list[tuple[str, str, tuple[str, ...]]]:
    """The fixed records of the reference workload (label, ISRC, tag values), built by arithmetic."""
    records = []
    for i in range(REFERENCE_RECORDS):
        words = [_WORDS[(i * k + k) % len(_WORDS)] for k in (1, 3, 7)][: 1 + i % 3]
        label = " ".join(word.title() if (i + n) % 2 else word.upper() for n, word in enumerate(words))
        label = f"({label}), {i % 97}" if i % 5 == 0 else label
        isrc = f"{_COUNTRIES[i % 5]}{'ACAYEUMZ0LA'[i % 11]}{'CYM0A'[i % 5]}{i % 10}{i % 100:02d}{i:05d}"
        values = tuple(_VALUES[(i + n * 3) % len(_VALUES)] for n in range(i % 4))
        records.append((label, isrc, values))
    return records


def reference_unit(record: tuple[str, str, tuple[str, ...]]) -> int:
    """One reference unit of work on one record (its result only keeps the work from being optimised away)."""
    label, isrc, values = record
    words = [word.strip(".,()") for word in label.casefold().replace("&", " and ").split()]
    normalized = " ".join(word for word in words if word)
    padded = f" {normalized} "
    hits = sum(1 for name in _CATALOGUE if f" {name} " in padded)
    registrant = isrc[:5].upper() in _REGISTRANTS
    reasons = [f"tag:AI_TRAINING={value}" for value in values if value.strip().lower() in _NEGATIVE]
    result = {"label": normalized, "hits": hits, "registrant": registrant, "reasons": reasons}
    return len(result["label"]) + hits + registrant + len(reasons)


def reference_round(records: list[tuple[str, str, tuple[str, ...]]]) -> int:
    return sum(reference_unit(record) for record in records)


def reference_rate(records: list[tuple[str, str, tuple[str, ...]]], *, units: int) -> float:
    """Reference units per CPU second, over at least `units` units (whole passes over the records)."""
    passes = max(1, -(-units // len(records)))
    cpu = time.process_time()
    for _ in range(passes):
        reference_round(records)
    return passes * len(records) / max(time.process_time() - cpu, 1e-9)
