"""Domain models shared by every layer of the gatekeeper.

Pure data: no boto3, no I/O. The decision core (`gatekeeper.logic`) consumes
`DecisionInputs` and a `Policy` and produces a `Verdict`; the adapters
(`gatekeeper.dal`) and the tag readers (`gatekeeper.tags`) produce and store them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

AI_TRAINING = "ai_training"
GENAI_TRAINING = "genai_training"
#: The only purposes (SPEC "Purposes"), in reporting order.
PURPOSES: tuple[str, ...] = (AI_TRAINING, GENAI_TRAINING)

#: Rights fields read from embedded tags, in reporting order (SPEC "Embedded tags").
RIGHTS_FIELDS: tuple[str, ...] = ("title", "artist", "label", "copyright", "isrc", "upc", "license")

# Platform metadata keys, as boto3 returns them (lower-case, without x-amz-meta-).
META_UPLOADER_ID = "uploader-id"
META_TERMS_VERSION = "terms-version"
META_AI_OPT_OUT = "ai-opt-out"
META_GENAI_OPT_IN = "genai-opt-in"
META_PARTNER_ID = "partner-id"
PLATFORM_METADATA_KEYS: tuple[str, ...] = (
    META_UPLOADER_ID,
    META_TERMS_VERSION,
    META_AI_OPT_OUT,
    META_GENAI_OPT_IN,
    META_PARTNER_ID,
)


def _clean(value: str | None) -> str | None:
    """Trim spaces; empty counts as absent."""
    if value is None:
        return None
    value = value.strip()
    return value or None


@dataclass(frozen=True)
class PlatformMetadata:
    """S3 user metadata set by the upload service (trusted)."""

    uploader_id: str | None = None
    terms_version: str | None = None
    ai_opt_out: bool = False
    genai_opt_in: bool = False
    partner_id: str | None = None

    @classmethod
    def from_user_metadata(cls, metadata: Mapping[str, str] | None) -> PlatformMetadata:
        """Interpret S3 user metadata (keys compared case-insensitively)."""
        meta = {str(k).strip().lower(): str(v) for k, v in (metadata or {}).items()}
        opt_out = meta.get(META_AI_OPT_OUT)
        opt_in = meta.get(META_GENAI_OPT_IN)
        return cls(
            uploader_id=_clean(meta.get(META_UPLOADER_ID)),
            terms_version=_clean(meta.get(META_TERMS_VERSION)),
            # Present with any value other than `false` (empty included) = opted out.
            ai_opt_out=opt_out is not None and opt_out.strip().lower() != "false",
            # `true` and only that.
            genai_opt_in=opt_in is not None and opt_in.strip().lower() == "true",
            partner_id=_clean(meta.get(META_PARTNER_ID)),
        )

    def to_user_metadata(self) -> dict[str, str]:
        """The inverse of `from_user_metadata`, as stored in `inputs.metadata`."""
        out: dict[str, str] = {}
        if self.uploader_id:
            out[META_UPLOADER_ID] = self.uploader_id
        if self.terms_version:
            out[META_TERMS_VERSION] = self.terms_version
        if self.ai_opt_out:
            out[META_AI_OPT_OUT] = "true"
        if self.genai_opt_in:
            out[META_GENAI_OPT_IN] = "true"
        if self.partner_id:
            out[META_PARTNER_ID] = self.partner_id
        return out


@dataclass
class Extraction:
    """What the tag readers found in the audio (untrusted input).

    - `format`: short lower-case container name (`mp3`, `flac`, ...), or None.
    - `rights`: rights field -> every value found, in file order (duplicates removed).
    - `signals`: every AI-use signal identifier found, reserving or not, in the
      forms of SPEC: `xmp:plus:DataMining=<DMI code>`, `xmp:tdm:reservation=<v>`,
      `tag:<NAME>=<value>`, `c2pa:<label>/<entry>=<use>`. What a signal reserves is
      decided by the pure core (`gatekeeper.logic.signals.reserved_purposes`).
    - `unreadable`: None when the file was read; otherwise the detail of
      `UNREADABLE[:detail]` ("" for no detail).
    """

    format: str | None = None
    rights: dict[str, list[str]] = field(default_factory=dict)
    signals: list[str] = field(default_factory=list)
    unreadable: str | None = None

    def add_right(self, name: str, value: str | None) -> None:
        if name not in RIGHTS_FIELDS:
            raise ValueError(f"unknown rights field {name!r}")
        if value is None:
            return
        value = str(value).strip()
        if not value:
            return
        values = self.rights.setdefault(name, [])
        if value not in values:
            values.append(value)

    def add_signal(self, signal: str) -> None:
        if signal not in self.signals:
            self.signals.append(signal)

    def first(self, name: str) -> str | None:
        values = self.rights.get(name)
        return values[0] if values else None

    def to_dict(self) -> dict:
        out: dict = {"rights": {k: list(v) for k, v in self.rights.items() if v}, "signals": list(self.signals)}
        if self.format:
            out["format"] = self.format
        if self.unreadable is not None:
            out["unreadable"] = self.unreadable
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> Extraction:
        return cls(
            format=data.get("format"),
            rights={k: [str(x) for x in v] for k, v in (data.get("rights") or {}).items()},
            signals=[str(s) for s in data.get("signals") or []],
            unreadable=data.get("unreadable"),
        )


@dataclass(frozen=True)
class ContentMatch:
    """The upload's audio is (a stretch of) a reference recording of a carve-out (content identification).

    `score` counts the fingerprint hashes that align; the offsets say which seconds
    of the upload match which seconds of the reference, `speed` how much faster the
    reference plays than the upload (1.0: the same speed).
    """

    reference_id: str
    carve_out: str
    score: int
    query_start_s: float = 0.0
    query_end_s: float = 0.0
    reference_start_s: float = 0.0
    reference_end_s: float = 0.0
    speed: float = 1.0

    @property
    def signal(self) -> str:
        """`content:<carve-out id>/<reference id>` (SPEC "Signal identifiers")."""
        return f"{CONTENT_SIGNAL_PREFIX}{self.carve_out}/{self.reference_id}"

    def to_dict(self) -> dict:
        return {
            "reference_id": self.reference_id,
            "carve_out": self.carve_out,
            "score": self.score,
            "query_start_s": round(self.query_start_s, 3),
            "query_end_s": round(self.query_end_s, 3),
            "reference_start_s": round(self.reference_start_s, 3),
            "reference_end_s": round(self.reference_end_s, 3),
            "speed": round(self.speed, 4),
        }


CONTENT_SIGNAL_PREFIX = "content:"


@dataclass(frozen=True)
class ContentCheck:
    """What content identification found for one upload.

    - `fingerprint`: the upload's encoded audio fingerprint (a few KB), stored in
      `inputs` so a re-decision can match it again without reading the audio; None
      when the audio could not be sampled;
    - `unchecked`: None when the audio was checked, else why not (the detail of
      `CONTENT_UNCHECKED:<detail>`, e.g. `too-short`, `no-audio-stream`);
    - `matches`: the references it matched, best first (against the catalogue as it
      was when checked; never stored: a re-decision matches the fingerprint again).
    """

    fingerprint: bytes | None = None
    unchecked: str | None = None
    matches: tuple[ContentMatch, ...] = ()

    def to_dict(self) -> dict:
        out: dict = {}
        if self.fingerprint is not None:
            out["fingerprint"] = self.fingerprint
        if self.unchecked is not None:
            out["unchecked"] = self.unchecked
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> ContentCheck:
        fingerprint = data.get("fingerprint")
        unchecked = data.get("unchecked")
        return cls(
            fingerprint=bytes(fingerprint) if fingerprint is not None else None,
            unchecked=str(unchecked) if unchecked is not None else None,
        )


@dataclass(frozen=True)
class AccountConsent:
    """An uploader's choices in their account (the consent table, SPEC "Account consent"; trusted).

    They change after upload, so a decision reads the record as it is now: opted
    out of all AI use when either the object's metadata or the account says so;
    opted in to `genai_training` as the account says, whatever the object said.
    """

    uploader_id: str
    ai_opt_out: bool = False
    genai_opt_in: bool = False
    updated_at: str | None = None

    def to_dict(self) -> dict:
        out: dict = {"uploader_id": self.uploader_id, "ai_opt_out": self.ai_opt_out, "genai_opt_in": self.genai_opt_in}
        if self.updated_at:
            out["updated_at"] = self.updated_at
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> AccountConsent:
        return cls(
            uploader_id=str(data["uploader_id"]),
            ai_opt_out=data.get("ai_opt_out") is True,
            genai_opt_in=data.get("genai_opt_in") is True,
            updated_at=str(data["updated_at"]) if data.get("updated_at") else None,
        )


@dataclass(frozen=True)
class DecisionInputs:
    """Everything a decision needs; stored as the row's `inputs` for re-decision.

    `content` is None when content identification was not run (the policy does not
    turn it on), else what it found. `consent` is the uploader's account record
    when there is one (None: no record, or no consent table), read at decision
    time; a re-decision reads it again.
    """

    metadata: PlatformMetadata
    extraction: Extraction
    content: ContentCheck | None = None
    consent: AccountConsent | None = None

    @property
    def opted_out(self) -> bool:
        """Opted out of all AI use: the object's metadata or the account says so (either can only deny)."""
        return self.metadata.ai_opt_out or (self.consent is not None and self.consent.ai_opt_out)

    @property
    def genai_opted_in(self) -> bool:
        """Opted in to `genai_training`: the account's choice when it has a record, else the object's."""
        return self.consent.genai_opt_in if self.consent is not None else self.metadata.genai_opt_in

    @property
    def consent_source(self) -> str:
        """Which consent decided: `account` (its record) or `object` (the upload's metadata)."""
        return "account" if self.consent is not None else "object"

    @property
    def signals(self) -> list[str]:
        """Every AI-use signal found: the embedded ones, then the content matches."""
        found = list(self.extraction.signals)
        if self.content is not None:
            found += [m.signal for m in self.content.matches if m.signal not in found]
        return found

    def to_dict(self) -> dict:
        out = {"metadata": self.metadata.to_user_metadata(), **self.extraction.to_dict()}
        if self.content is not None:
            out["content"] = self.content.to_dict()
        out["consent"] = {"source": self.consent_source}
        if self.consent is not None:
            out["consent"]["account"] = self.consent.to_dict()
        return out

    def rights_summary(self) -> dict[str, str]:
        """The row's `rights` map: the first value of each field found, plus identity."""
        out: dict[str, str] = {}
        if self.metadata.uploader_id:
            out["uploader_id"] = self.metadata.uploader_id
        if self.metadata.partner_id:
            out["partner_id"] = self.metadata.partner_id
        for name in RIGHTS_FIELDS:
            value = self.extraction.first(name)
            if value:
                out[name] = value
        if self.extraction.format:
            out["format"] = self.extraction.format
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> DecisionInputs:
        content = data.get("content")
        account = (data.get("consent") or {}).get("account") if isinstance(data.get("consent"), Mapping) else None
        return cls(
            metadata=PlatformMetadata.from_user_metadata(data.get("metadata") or {}),
            extraction=Extraction.from_dict(data),
            content=ContentCheck.from_dict(content) if isinstance(content, Mapping) else None,
            consent=AccountConsent.from_dict(account) if isinstance(account, Mapping) else None,
        )


# ---------------------------------------------------------------- policy


@dataclass(frozen=True)
class Terms:
    version: str
    effective: dt.date
    grants: frozenset[str]
    opt_in: frozenset[str]


@dataclass(frozen=True)
class CarveOut:
    """A separate agreement with a rightsholder. Match lists are pre-normalized."""

    id: str
    rightsholder: str | None
    purposes: frozenset[str]
    partners: frozenset[str] = frozenset()  # casefolded
    uploaders: frozenset[str] = frozenset()  # casefolded
    labels: tuple[str, ...] = ()  # normalized names (see logic.normalize.normalize_name)
    isrcs: frozenset[str] = frozenset()  # normalized ISRCs
    isrc_registrants: frozenset[str] = frozenset()  # 5 chars, upper case
    upcs: frozenset[str] = frozenset()  # digits without leading zeros


@dataclass(frozen=True)
class ContentIdPolicy:
    """The policy's `content_id`: content identification is on; `required`: unchecked audio denies."""

    required: bool = True


@dataclass(frozen=True)
class Policy:
    policy_id: str
    terms: tuple[Terms, ...]
    carve_outs: tuple[CarveOut, ...]
    content_id: ContentIdPolicy | None = None  # None: no audio is read


class PolicyError(ValueError):
    """An invalid policy document; str() is one line naming the field."""


# ---------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Verdict:
    """The decision for one upload, per purpose."""

    eligible: dict[str, bool]
    reasons: dict[str, list[str]]
    policy_id: str
    terms_version: str | None  # T: terms in force at the decision date
    accepted_terms_version: str | None  # A as given in metadata


# ---------------------------------------------------------------- events

EventKind = Literal["created", "removed"]


@dataclass(frozen=True)
class ObjectEvent:
    """One S3 object event, whatever shape it arrived in. `key` is decoded."""

    kind: EventKind
    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    sequencer: str | None = None
    size: int | None = None
    event_name: str | None = None
    event_time: str | None = None
    delete_marker: bool = False

    @property
    def object_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"
