"""Drug-label facts for pregnancy, lactation, children and severe renal impairment (``labels.yaml``).

The data come from the dossier's ``drug-labels.md`` under its trust rules:

- a cell seen in label text (DailyMed, the holder's site, a regulator or a label mirror) is a ``label``
  statement, marked with which label it is (US or the country; old US format; mirror);
- a "(sec.)" cell is a ``secondary`` statement, stored unverified and shown as :data:`SECONDARY_NOTE`;
- a "not found" cell is unknown: the context is listed in ``not_found`` and shown as :data:`NOT_RECORDED`.

Every drug covers each of the four contexts exactly once, either with statements or in ``not_found``.
Within a context the statements are ordered by :func:`preference` (current US label wording first).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calcinosis.datacache import safe_yaml
from calcinosis.errors import PackError
from calcinosis.pack.models import Ordered, Slug, Sourced, Strict

LABELS_FILE = "labels.yaml"
NOT_RECORDED = "not recorded: check the current label"
SECONDARY_NOTE = "reported, not checked against the label"
NOT_A_DRUG = "not a drug: no label applies"


class LabelContext(StrEnum):
    PREGNANCY = "pregnancy"
    LACTATION = "lactation"
    CHILD = "child"
    SEVERE_RENAL_IMPAIRMENT = "severe-renal-impairment"


class LabelTrust(StrEnum):
    """``label``: label text (DailyMed, holder, regulator or mirror). ``secondary``: a "(sec.)" cell."""

    LABEL = "label"
    SECONDARY = "secondary"


class LabelSeverity(Ordered):
    """As the cell's wording implies (most severe first): contraindicated; should not / not recommended;
    benefit–risk, use with caution, monitor, dose limit; a neutral fact (not established, present in milk
    without harm)."""

    CONTRAINDICATION = "contraindication"
    AVOID = "avoid"
    CAUTION = "caution"
    INFO = "info"


class LabelRegion(StrEnum):
    US = "US"
    NON_US = "non-US"


class LabelStatement(Strict):
    """One label fact for one context, paraphrased.

    ``age_below_years`` / ``age_at_least_years`` bound a child statement to an age band; ``requires``
    names predicates that must also hold (e.g. ``on-iv-calcium``); ``egfr_below`` / ``egfr_at_most``
    give the renal threshold the cell states (``renal_measure`` says whether the label means creatinine
    clearance or GFR). ``condition`` names a qualifier no predicate can test (a formulation, an
    indication, a subgroup such as hyperbilirubinaemic neonates): such a statement is shown as
    conditional and is never applied as this patient's contraindication.
    """

    context: LabelContext
    text: str = Field(min_length=1)
    severity: LabelSeverity
    trust: LabelTrust
    verified: bool
    label_desc: str = Field(min_length=1)
    region: LabelRegion | None = None
    country: str | None = None
    old_format: bool = False
    mirror: bool = False
    age_below_years: float | None = Field(default=None, gt=0, le=18)
    age_at_least_years: float | None = Field(default=None, ge=0, lt=18)
    requires: tuple[Slug, ...] = ()
    condition: str | None = None
    egfr_below: float | None = Field(default=None, gt=0)
    egfr_at_most: float | None = Field(default=None, gt=0)
    renal_measure: Literal["CrCl", "GFR"] | None = None
    sources: Sourced

    @model_validator(mode="after")
    def _consistent(self) -> LabelStatement:
        if self.trust is LabelTrust.SECONDARY and self.verified:
            raise ValueError("verified: must be false when trust is 'secondary'")
        if self.trust is LabelTrust.LABEL and self.region is None:
            raise ValueError("region: a label statement must say which label (US or non-US)")
        if self.country is not None and self.region is not LabelRegion.NON_US:
            raise ValueError("country: only for a non-US label")
        ages = (self.age_below_years, self.age_at_least_years)
        if any(a is not None for a in ages) and self.context is not LabelContext.CHILD:
            raise ValueError("age_below_years/age_at_least_years: only for the 'child' context")
        if (
            self.age_below_years is not None
            and self.age_at_least_years is not None
            and self.age_at_least_years >= self.age_below_years
        ):
            raise ValueError("age_at_least_years: must be below age_below_years")
        renal = (self.egfr_below, self.egfr_at_most)
        if any(r is not None for r in renal):
            if self.context is not LabelContext.SEVERE_RENAL_IMPAIRMENT:
                raise ValueError("egfr_below/egfr_at_most: only for the 'severe-renal-impairment' context")
            if all(r is not None for r in renal):
                raise ValueError("egfr_below/egfr_at_most: give one threshold, not both")
            if self.renal_measure is None:
                raise ValueError("renal_measure: required with a renal threshold (CrCl or GFR)")
        elif self.renal_measure is not None:
            raise ValueError("renal_measure: only with egfr_below or egfr_at_most")
        return self

    @property
    def conditional(self) -> bool:
        """True when the statement holds only under a qualifier the engine cannot test."""
        return self.condition is not None

    def applies(
        self, *, age_years: float | None, egfr: float | None, holds: Callable[[str], bool] | None = None
    ) -> bool:
        """Whether the statement concerns this patient (already known to be in its context).

        An unknown age or eGFR does not exclude a statement: its text names the bound. ``holds`` tests a
        predicate id; without it a statement with ``requires`` does not apply.
        """
        if age_years is not None:
            if self.age_below_years is not None and not age_years < self.age_below_years:
                return False
            if self.age_at_least_years is not None and age_years < self.age_at_least_years:
                return False
        if egfr is not None:
            if self.egfr_below is not None and not egfr < self.egfr_below:
                return False
            if self.egfr_at_most is not None and egfr > self.egfr_at_most:
                return False
        if self.requires and (holds is None or not all(holds(p) for p in self.requires)):
            return False
        return True


def preference(statement: LabelStatement) -> tuple[int, int, int]:
    """Display order within a context: seen label text before anything else, US before non-US (or
    unstated), current format before the old US format."""
    return (
        0 if statement.trust is LabelTrust.LABEL and statement.verified else 1,
        0 if statement.region is LabelRegion.US else 1,
        1 if statement.old_format else 0,
    )


class LabelGap(Strict):
    """A part of a cell the dossier records as not found (e.g. the US wording when only a non-US label
    was seen), or its remark on an empty cell. Shown next to the statements; never a fact."""

    context: LabelContext
    text: str = Field(min_length=1)


class DrugLabel(Strict):
    """One row of ``drug-labels.md``."""

    id: Slug
    name: str = Field(min_length=1)
    names: tuple[str, ...] = Field(min_length=1)
    note: str | None = None
    statements: tuple[LabelStatement, ...] = ()
    not_found: tuple[LabelContext, ...] = ()
    gaps: tuple[LabelGap, ...] = ()

    @field_validator("names")
    @classmethod
    def _lower_case(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for n in names:
            if n != n.lower() or n != n.strip() or not n:
                raise ValueError(f"'{n}' must be lower-case and trimmed")
        if len(set(names)) != len(names):
            raise ValueError("duplicate name")
        return names

    @model_validator(mode="after")
    def _covers_each_context_once(self) -> DrugLabel:
        if len(set(self.not_found)) != len(self.not_found):
            raise ValueError("not_found: a context is listed twice")
        stated = {s.context for s in self.statements}
        for ctx in LabelContext:
            if ctx in stated and ctx in self.not_found:
                raise ValueError(f"not_found: context '{ctx}' also has statements")
            if ctx not in stated and ctx not in self.not_found:
                raise ValueError(f"statements/not_found: context '{ctx}' is not covered")
        for ctx in LabelContext:
            keys = [preference(s) for s in self.statements if s.context is ctx]
            if keys != sorted(keys):
                raise ValueError(
                    f"statements: '{ctx}' statements must be ordered label before secondary, "
                    "US before non-US, current before old format"
                )
        return self

    def statements_for(self, context: LabelContext) -> tuple[LabelStatement, ...]:
        return tuple(s for s in self.statements if s.context is context)

    def gaps_for(self, context: LabelContext) -> tuple[LabelGap, ...]:
        return tuple(g for g in self.gaps if g.context is context)

    def applicable(
        self,
        context: LabelContext,
        *,
        age_years: float | None,
        egfr: float | None,
        holds: Callable[[str], bool] | None = None,
    ) -> tuple[LabelStatement, ...]:
        """The statements for ``context`` that concern this patient; empty means :data:`NOT_RECORDED`."""
        return tuple(
            s for s in self.statements_for(context) if s.applies(age_years=age_years, egfr=egfr, holds=holds)
        )


class _LabelFile(Strict):
    drugs: tuple[DrugLabel, ...] = Field(min_length=1)
    therapy_drugs: dict[Slug, tuple[Slug, ...]] = Field(default_factory=dict)
    not_drug_therapies: tuple[Slug, ...] = ()


class LabelBook(BaseModel):
    """The label rows by id, the pack therapies they concern, and the therapies that are not drugs."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    drugs: dict[str, DrugLabel]
    therapy_drugs: dict[str, tuple[str, ...]]
    not_drug_therapies: frozenset[str]

    def for_therapy(self, therapy_id: str) -> tuple[DrugLabel, ...]:
        """The label rows of a therapy; empty for a drug with no row (show :data:`NOT_RECORDED`) and for
        a therapy in ``not_drug_therapies`` (show :data:`NOT_A_DRUG`)."""
        return tuple(self.drugs[d] for d in self.therapy_drugs.get(therapy_id, ()))

    def is_drug(self, therapy_id: str) -> bool:
        return therapy_id not in self.not_drug_therapies

    def match_medication(self, text: str) -> tuple[DrugLabel, ...]:
        """Label rows whose names occur as whole words in a medication's name or text."""
        low = text.lower()
        return tuple(
            d for d in self.drugs.values() if any(_word_pattern(n).search(low) is not None for n in d.names)
        )


@lru_cache(maxsize=4096)
def _word_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])")


def load_label_book(
    pack_dir: Path,
    source_ids: Collection[str],
    therapy_ids: Collection[str],
    predicate_ids: Collection[str] | None = None,
) -> LabelBook:
    """Read and check ``labels.yaml`` in ``pack_dir``.

    Every source, therapy and predicate id it names must exist; ``predicate_ids`` defaults to the ids in
    the pack's ``predicates.yaml``. Errors are :class:`PackError` naming the file and the field.
    """
    rel = LABELS_FILE
    raw = _read_yaml(pack_dir / rel, rel)
    if not isinstance(raw, dict):
        raise PackError(f"{rel}: expected a mapping with 'drugs', 'therapy_drugs' and 'not_drug_therapies'")
    try:
        parsed = _LabelFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise PackError(f"{rel}: {_where(raw, err['loc'])}: {err['msg']}") from exc
    if predicate_ids is None:
        predicate_ids = _predicate_ids(pack_dir)
    known_predicates = set(predicate_ids)
    sources, therapies = set(source_ids), set(therapy_ids)

    drugs: dict[str, DrugLabel] = {}
    owner: dict[str, str] = {}
    for drug in parsed.drugs:
        if drug.id in drugs:
            raise PackError(f"{rel}: drugs.{drug.id}.id: duplicate id '{drug.id}'")
        drugs[drug.id] = drug
        for name in drug.names:
            if name in owner:
                raise PackError(f"{rel}: drugs.{drug.id}.names: '{name}' also names '{owner[name]}'")
            owner[name] = drug.id
        for i, st in enumerate(drug.statements):
            where = f"drugs.{drug.id}.statements.{i}"
            for j, ref in enumerate(st.sources):
                if ref.source not in sources:
                    raise PackError(f"{rel}: {where}.sources.{j}.source: unknown source '{ref.source}'")
            for p in st.requires:
                if p not in known_predicates:
                    raise PackError(f"{rel}: {where}.requires: unknown predicate '{p}'")

    for therapy, drug_ids in parsed.therapy_drugs.items():
        if therapy not in therapies:
            raise PackError(f"{rel}: therapy_drugs.{therapy}: unknown therapy '{therapy}'")
        if not drug_ids:
            raise PackError(f"{rel}: therapy_drugs.{therapy}: name at least one drug")
        for d in drug_ids:
            if d not in drugs:
                raise PackError(f"{rel}: therapy_drugs.{therapy}: unknown drug '{d}'")
    for i, therapy in enumerate(parsed.not_drug_therapies):
        if therapy not in therapies:
            raise PackError(f"{rel}: not_drug_therapies.{i}: unknown therapy '{therapy}'")
        if therapy in parsed.therapy_drugs:
            raise PackError(f"{rel}: not_drug_therapies.{i}: '{therapy}' is also in therapy_drugs")
    return LabelBook(
        drugs=drugs,
        therapy_drugs=dict(parsed.therapy_drugs),
        not_drug_therapies=frozenset(parsed.not_drug_therapies),
    )


def _read_yaml(path: Path, rel: str) -> Any:
    from yaml import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PackError(f"{rel}: file is missing") from exc
    try:
        return safe_yaml(text)
    except YAMLError as exc:
        raise PackError(f"{rel}: not valid YAML: {exc}") from exc


def _predicate_ids(pack_dir: Path) -> set[str]:
    raw = _read_yaml(pack_dir / "predicates.yaml", "predicates.yaml")
    items = raw.get("predicates") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise PackError("predicates.yaml: expected a mapping with a 'predicates' list")
    return {str(p["id"]) for p in items if isinstance(p, dict) and "id" in p}


def _where(raw: dict[str, Any], loc: Iterable[int | str]) -> str:
    """A field path, with the drug id in place of its list index (``drugs.minocycline.statements.0``)."""
    parts = [str(p) for p in loc]
    drugs = raw.get("drugs")
    if len(parts) >= 2 and parts[0] == "drugs" and parts[1].isdigit() and isinstance(drugs, list):
        index = int(parts[1])
        item = drugs[index] if index < len(drugs) else None
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            parts[1] = item["id"]
    return ".".join(parts) or "(top)"
