"""AI-use signals: how readers spell them, and what each one reserves.

A signal identifier is the one string form every layer shares (SPEC "Signal
identifiers"): the tag readers build them with the `*_signal` helpers below, the
flags table stores them in `signals`, and `reserved_purposes` (pure, cached)
says which purposes a signal reserves. Reading is lenient in what it accepts and
reserves nothing for what it does not know:

- `xmp:plus:DataMining=<DMI code>`: `DMI-PROHIBITED-GENAIMLTRAINING` reserves
  `genai_training`; any other `DMI-PROHIBITED*` reserves every purpose;
  `DMI-ALLOWED`, `DMI-UNSPECIFIED` and anything else reserve nothing.
- `xmp:tdm:reservation=<value>`: `1` reserves every purpose.
- `tag:<NAME>=<value>`: `TDM_RESERVATION` = `1` reserves every purpose;
  `AI_TRAINING` with a negative value reserves every purpose; `GENAI_TRAINING`
  with a negative value reserves `genai_training` (hyphenated names alike).
- `c2pa:<label>/<entry>=<use>` for the `c2pa.training-mining` and
  `cawg.training-mining` assertions: entries `*.ai_training` and `*.data_mining`
  reserve every purpose, `*.ai_generative_training` reserves `genai_training`,
  when `use` is `notAllowed` or `constrained`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from gatekeeper.models import GENAI_TRAINING, PURPOSES

ALL_PURPOSES: frozenset[str] = frozenset(PURPOSES)
GENAI_ONLY: frozenset[str] = frozenset({GENAI_TRAINING})
NOTHING: frozenset[str] = frozenset()

XMP_DMI_PREFIX = "xmp:plus:DataMining="
XMP_TDM_PREFIX = "xmp:tdm:reservation="
TAG_PREFIX = "tag:"
C2PA_PREFIX = "c2pa:"

#: Text-tag names that carry an AI-use signal (compared upper-case).
TDM_RESERVATION_TAGS = frozenset({"TDM_RESERVATION", "TDM-RESERVATION"})
AI_TRAINING_TAGS = frozenset({"AI_TRAINING", "AI-TRAINING"})
GENAI_TRAINING_TAGS = frozenset({"GENAI_TRAINING", "GENAI-TRAINING"})
SIGNAL_TAG_NAMES = TDM_RESERVATION_TAGS | AI_TRAINING_TAGS | GENAI_TRAINING_TAGS

#: Values of `AI_TRAINING` / `GENAI_TRAINING` that refuse the use (case-insensitive).
NEGATIVE_VALUES = frozenset(
    {"no", "false", "0", "prohibited", "disallowed", "notallowed", "not allowed", "opt-out", "optout", "deny", "denied"}
)

#: C2PA / CAWG training-and-data-mining assertion labels (case-insensitive).
C2PA_TRAINING_MINING_LABELS = frozenset({"c2pa.training-mining", "cawg.training-mining"})
#: The last dot-separated part of an entry name -> what a refusing `use` reserves.
C2PA_ENTRY_RESERVES: dict[str, frozenset[str]] = {
    "ai_training": ALL_PURPOSES,
    "data_mining": ALL_PURPOSES,
    "ai_generative_training": GENAI_ONLY,
}
#: `use` values that reserve (case-insensitive).
C2PA_RESERVING_USES = frozenset({"notallowed", "constrained"})

DMI_PROHIBITED = "DMI-PROHIBITED"
DMI_PROHIBITED_GENAI = "DMI-PROHIBITED-GENAIMLTRAINING"

_SPACES = re.compile(r"\s+")
_URI_SEPARATORS = re.compile(r"[/#]")
# A repeated assertion in a C2PA manifest gets an instance suffix: `label__1`.
_C2PA_INSTANCE = re.compile(r"__\d+$")


# ---------------------------------------------------------------- builders


def is_signal_tag_name(name: str) -> bool:
    """Whether a text tag (TXXX description, Vorbis field, freeform atom, ...) is an AI-use signal."""
    return name.strip().upper() in SIGNAL_TAG_NAMES


def tag_signal(name: str, value: str) -> str:
    """`tag:<NAME>=<value>`: the name upper-cased as found, both trimmed."""
    return f"{TAG_PREFIX}{name.strip().upper()}={value.strip()}"


def dmi_code(value: str) -> str:
    """The IPTC PLUS Data Mining code in a URI or bare value.

    The part after the last `/` or `#`, trimmed; upper-cased when it is a DMI
    code (`DMI-...`), otherwise kept as found.

    >>> dmi_code("http://ns.useplus.org/ldf/vocab/DMI-prohibited-aimltraining ")
    'DMI-PROHIBITED-AIMLTRAINING'
    """
    code = _URI_SEPARATORS.split(value.strip())[-1].strip()
    return code.upper() if code.upper().startswith("DMI-") else code


def xmp_dmi_signal(value: str) -> str:
    """`xmp:plus:DataMining=<DMI code>` for an XMP `plus:DataMining` value."""
    return f"{XMP_DMI_PREFIX}{dmi_code(value)}"


def xmp_tdm_signal(value: str) -> str:
    """`xmp:tdm:reservation=<value>` for an XMP `tdm:reservation` value."""
    return f"{XMP_TDM_PREFIX}{value.strip()}"


def c2pa_signal(label: str, entry: str, use: str) -> str:
    """`c2pa:<label>/<entry>=<use>` for one entry of a training-and-data-mining assertion."""
    return f"{C2PA_PREFIX}{label.strip()}/{entry.strip()}={use.strip()}"


# ---------------------------------------------------------------- interpretation


@lru_cache(maxsize=1024)  # few distinct signals in practice; bounded against hostile files
def reserved_purposes(signal: str) -> frozenset[str]:
    """The purposes a signal identifier reserves (empty for a permissive or unknown one)."""
    if signal.startswith(XMP_DMI_PREFIX):
        return _dmi_reserves(dmi_code(signal[len(XMP_DMI_PREFIX) :]).upper())
    if signal.startswith(XMP_TDM_PREFIX):
        return ALL_PURPOSES if signal[len(XMP_TDM_PREFIX) :].strip() == "1" else NOTHING
    if signal.startswith(TAG_PREFIX):
        name, _, value = signal[len(TAG_PREFIX) :].partition("=")
        return _tag_reserves(name.strip().upper(), value)
    if signal.startswith(C2PA_PREFIX):
        assertion, _, use = signal[len(C2PA_PREFIX) :].partition("=")
        label, _, entry = assertion.partition("/")
        return _c2pa_reserves(label, entry, use)
    return NOTHING


def _dmi_reserves(code: str) -> frozenset[str]:
    if code == DMI_PROHIBITED_GENAI:
        return GENAI_ONLY
    return ALL_PURPOSES if code.startswith(DMI_PROHIBITED) else NOTHING


def _is_negative(value: str) -> bool:
    return _SPACES.sub(" ", value.strip()).casefold() in NEGATIVE_VALUES


def _tag_reserves(name: str, value: str) -> frozenset[str]:
    if name in TDM_RESERVATION_TAGS:
        return ALL_PURPOSES if value.strip() == "1" else NOTHING
    if name in AI_TRAINING_TAGS:
        return ALL_PURPOSES if _is_negative(value) else NOTHING
    if name in GENAI_TRAINING_TAGS:
        return GENAI_ONLY if _is_negative(value) else NOTHING
    return NOTHING


def _c2pa_reserves(label: str, entry: str, use: str) -> frozenset[str]:
    label = _C2PA_INSTANCE.sub("", label.strip().lower())
    if label not in C2PA_TRAINING_MINING_LABELS or use.strip().lower() not in C2PA_RESERVING_USES:
        return NOTHING
    return C2PA_ENTRY_RESERVES.get(entry.strip().lower().rpartition(".")[2], NOTHING)
