"""Normalise a Case into the facts rules read: concepts resolved, labs converted, latest values chosen.

Every fact gets an id; rules report the ids they read so an assessment can show its trail.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import ReferenceInterval
from calcinosis.patient.models import Case, InputIssue, Lab
from calcinosis.patient.terms import load_lab_vocabulary, load_lesion_vocabulary
from calcinosis.patient.vocabulary import ConceptKind, load_vocabulary

# Concepts that, recorded as history or given intravenously, expose a site to calcium or phosphate (dossier R2).
EXPOSURE_EVENTS = frozenset(
    {
        "iv-calcium",
        "iv-calcium-extravasation",
        "iv-phosphate",
        "heel-sticks",
        "electrode-paste",
        "calcium-alginate-dressing",
        "iatrogenic-exposure-event",
    }
)
IV_SALTS = frozenset({"iv-calcium-medication", "phosphate-salt"})
# An infusion-site extravasation whose agent is not named (e.g. an ICD-10-CM T80.81- code) is an exposure
# only when IV calcium or phosphate is also recorded for the patient.
UNNAMED_EXTRAVASATION = "infusion-extravasation"
ADULT_AGE = 18.0


@dataclass(frozen=True)
class Fact:
    id: str
    kind: str
    text: str
    value: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class LabValue:
    analyte: str
    value: float
    unit: str
    flag: str | None
    flag_basis: str
    fact: Fact


@dataclass(frozen=True)
class LesionFacts:
    fact: Fact
    features: frozenset[str]
    sites: frozenset[str]
    count: int | None
    size_mm: float | None
    site_text: str = ""
    onset: dt.date | None = None
    text: str = ""


@dataclass(frozen=True)
class Exposure:
    """A recorded exposure that can cause iatrogenic calcinosis (IV calcium or phosphate, heel sticks, electrode
    paste, calcium dressings), with its date and site where given."""

    fact: Fact
    concepts: frozenset[str]
    date: dt.date | None
    site_text: str
    sites: frozenset[str]


@dataclass(frozen=True)
class AllergyFacts:
    """A recorded allergy or intolerance that holds (active, not refuted): the drug concepts its text names
    (not widened to the classes they belong to) and its text, lower-cased, for matching option names."""

    fact: Fact
    concepts: frozenset[str]
    text: str
    where: str


@dataclass
class FactView:
    """What the engine knows about one patient, with the facts behind each item."""

    as_of: dt.date
    age_years: float | None = None
    sex: str = "unknown"
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    demographics: dict[str, Fact] = field(default_factory=dict)
    conditions: dict[str, list[Fact]] = field(default_factory=dict)
    active_disease: dict[str, Fact] = field(default_factory=dict)
    medications: dict[str, list[Fact]] = field(default_factory=dict)
    events: dict[str, list[Fact]] = field(default_factory=dict)
    labs: dict[str, LabValue] = field(default_factory=dict)
    lab_history: dict[str, list[LabValue]] = field(default_factory=dict)
    lesions: list[LesionFacts] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)
    allergies: list[AllergyFacts] = field(default_factory=list)
    issues: list[InputIssue] = field(default_factory=list)
    facts: dict[str, Fact] = field(default_factory=dict)
    memo: dict[str, object] = field(default_factory=dict)

    def add(self, fact: Fact) -> Fact:
        self.facts[fact.id] = fact
        return fact

    def has_condition(self, *concepts: str) -> list[Fact]:
        return [f for c in concepts for f in self.conditions.get(c, [])]

    def on_medication(self, *concepts: str) -> list[Fact]:
        return [f for c in concepts for f in self.medications.get(c, [])]

    def had_event(self, *concepts: str) -> list[Fact]:
        return [f for c in concepts for f in self.events.get(c, [])]

    def lab(self, analyte: str) -> LabValue | None:
        return self.labs.get(analyte)

    def lesion_features(self) -> set[str]:
        return {f for lesion in self.lesions for f in lesion.features}

    def lesions_with(self, feature: str) -> list[Fact]:
        return [lesion.fact for lesion in self.lesions if feature in lesion.features]

    def lesions_at(self, site: str) -> list[Fact]:
        return [lesion.fact for lesion in self.lesions if site in lesion.sites]


def build_view(case: Case, pack: KnowledgePack, as_of: dt.date | None = None) -> FactView:
    """Resolve concepts, convert units and pick the latest lab values. Pure apart from vocabulary loading."""
    when = as_of or case.as_of or _latest_date(case)
    view = FactView(as_of=when or dt.date.today(), sex=case.sex.value)
    if when is None and case.birth_date is not None and case.age_years is None:
        view.issues.append(
            InputIssue(
                location="as_of",
                message="no assessment date or dated result given; age computed at today's date",
                severity="information",
            )
        )
    _demographics(case, view)
    _conditions(case, view)
    _medications(case, view)
    _events(case, view)
    _allergies(case, view)
    _labs(case, view, pack)
    _lesions(case, view)
    return view


def _latest_date(case: Case) -> dt.date | None:
    dates = [d for d in (*(lab.date for lab in case.labs), *(e.date for e in case.history)) if d is not None]
    return max(dates) if dates else None


def _demographics(case: Case, view: FactView) -> None:
    if case.age_years is not None:
        view.age_years = case.age_years
    elif case.birth_date is not None:
        days = (view.as_of - case.birth_date).days
        view.age_years = max(days, 0) / 365.25
    if view.age_years is not None:
        shown = (
            f"{view.age_years:.0f} years" if view.age_years >= 1 else f"{view.age_years * 365.25:.0f} days"
        )
        view.demographics["age"] = view.add(Fact("age", "demographics", "Age", shown))
    if case.sex.value != "unknown":
        view.demographics["sex"] = view.add(Fact("sex", "demographics", "Sex", case.sex.value))
    if case.pregnant is not None:
        view.pregnant = case.pregnant
        _yes_no(view, "pregnancy", "pregnancy", "Pregnancy status", case.pregnant, "pregnant")
    if case.breastfeeding is not None:
        view.breastfeeding = case.breastfeeding
        _yes_no(view, "breastfeeding", "breastfeeding", "Breastfeeding", case.breastfeeding, "breastfeeding")


def _yes_no(view: FactView, fact_id: str, key: str, label: str, value: bool, word: str) -> None:
    view.demographics[key] = view.add(Fact(fact_id, "demographics", label, word if value else f"not {word}"))


def _concepts(
    given: str | None, text: str | None, kind: ConceptKind | None, where: str, view: FactView
) -> set[str]:
    """Concept ids (with implied ones) named by an explicit concept id or found in the text."""
    vocab = load_vocabulary()
    found: set[str] = set()
    if given:
        if vocab.kind_of(given) is None:
            view.issues.append(InputIssue(location=where, message=f"unknown concept '{given}'"))
        else:
            found.add(given)
    if text and not found:
        found = vocab.find(text, kind)
    if not found:
        view.issues.append(
            InputIssue(
                location=where, message=f"not recognised: '{text or given or ''}'", severity="information"
            )
        )
    return vocab.expand(found)


# Treatments that last (dialysis) are current unless their own text says they ended: "renal replacement therapy
# for 28 days; renal function recovered", "haemodialysis stopped after transplant", "previously on CAPD".
ONGOING_TREATMENTS = frozenset({"dialysis", "haemodialysis", "peritoneal-dialysis"})
_ENDED = re.compile(
    r"\b(stopped|discontinued|ceased|withdrawn|weaned|no longer|formerly|previously|recovered|ended"
    r"|came off|off dialysis)\b",
    re.IGNORECASE,
)


def _current_only(concepts: set[str], text: str | None, where: str, view: FactView) -> set[str]:
    """Drop an ongoing treatment whose text says it has ended (reported, so the reading can be checked)."""
    ended = concepts & ONGOING_TREATMENTS
    cue = _ENDED.search(text) if ended and text else None
    if cue is None:
        return concepts
    view.issues.append(
        InputIssue(
            location=where,
            message=f"'{text}' reads as dialysis that has ended ('{cue.group(0)}'); not counted as current",
            severity="information",
        )
    )
    return concepts - ONGOING_TREATMENTS


def _route(concepts: set[str], fact: Fact, view: FactView) -> None:
    """File concepts found in condition or history text under conditions or events, by their kind.

    Medication names found there (e.g. "warfarin-induced") are history, not current use, and are not filed.
    """
    vocab = load_vocabulary()
    for c in concepts:
        kind = vocab.kind_of(c)
        if kind == "condition":
            view.conditions.setdefault(c, []).append(fact)
        elif kind == "event":
            view.events.setdefault(c, []).append(fact)


def _conditions(case: Case, view: FactView) -> None:
    for i, cond in enumerate(case.conditions):
        where = f"conditions[{i}]"
        label = cond.text or cond.concept or "condition"
        if cond.status not in ("active", "recurrence", "relapse") or cond.verification in (
            "differential",
            "unconfirmed",
        ):
            view.issues.append(
                InputIssue(
                    location=where,
                    message=f"'{label}' not counted: status {cond.status}, verification {cond.verification}",
                    severity="information",
                )
            )
            continue
        fact = view.add(
            Fact(cond.id or f"condition-{i}", "condition", label, None, cond.onset or cond.recorded)
        )
        concepts = _current_only(
            _concepts(cond.concept, cond.text, None, where, view), cond.text, where, view
        )
        _route(concepts, fact, view)
        if cond.disease_active:
            for c in concepts:
                view.active_disease[c] = fact
        if "pregnancy" in concepts and view.pregnant is None:
            view.pregnant = True
        if "lactation" in concepts and view.breastfeeding is None:
            view.breastfeeding = True


def _medications(case: Case, view: FactView) -> None:
    for i, med in enumerate(case.medications):
        where = f"medications[{i}]"
        label = med.name or med.concept or "medication"
        if med.status not in ("active", "on-hold", "unknown", "draft"):
            continue
        fact = view.add(Fact(med.id or f"medication-{i}", "medication", label, med.dose, med.start))
        concepts = _concepts(med.concept, med.name, "medication", where, view)
        for c in concepts:
            view.medications.setdefault(c, []).append(fact)
        if concepts & IV_SALTS and _intravenous(med.route, med.name):
            view.exposures.append(Exposure(fact, frozenset(concepts & IV_SALTS), med.start, "", frozenset()))


def _allergies(case: Case, view: FactView) -> None:
    vocab = load_vocabulary()
    for i, allergy in enumerate(case.allergies):
        label = allergy.substance or allergy.concept or "unspecified substance"
        if allergy.status != "active" or allergy.verification in ("refuted", "entered-in-error"):
            view.issues.append(
                InputIssue(
                    location=f"allergies[{i}]",
                    message=f"allergy '{label}' not counted: status {allergy.status}, "
                    f"verification {allergy.verification}",
                    severity="information",
                )
            )
            continue
        value = "; ".join(
            filter(
                None, [allergy.reaction, f"criticality {allergy.criticality}" if allergy.criticality else ""]
            )
        )
        fact = view.add(Fact(allergy.id or f"allergy-{i}", "allergy", label, value or None, allergy.recorded))
        concepts: set[str] = set()
        if allergy.concept and vocab.kind_of(allergy.concept) == "medication":
            concepts.add(allergy.concept)
        if allergy.substance:
            concepts |= vocab.find(allergy.substance, "medication")
        view.allergies.append(AllergyFacts(fact, frozenset(concepts), label.lower(), f"allergies[{i}]"))


def _intravenous(route: str | None, name: str | None) -> bool:
    """An IV calcium or phosphate salt: the route says intravenous, or the name says infusion/IV."""
    text = " ".join(t for t in (route, name) if t).lower()
    return any(w in text for w in ("intravenous", "iv ", " iv", "infusion", "i.v.", "parenteral"))


def _events(case: Case, view: FactView) -> None:
    lesion_vocab = load_lesion_vocabulary()
    unnamed: list[Exposure] = []
    for i, ev in enumerate(case.history):
        where = f"history[{i}]"
        text = " ".join(t for t in (ev.text, ev.result) if t)
        label = ev.text or ev.concept or "event"
        fact = view.add(Fact(ev.id or f"history-{i}", "history", label, ev.result, ev.date))
        concepts = _current_only(_concepts(ev.concept, text or None, None, where, view), text, where, view)
        _route(concepts, fact, view)
        exposure = concepts & EXPOSURE_EVENTS
        site = ev.site or ""
        if exposure:
            view.exposures.append(
                Exposure(fact, frozenset(exposure), ev.date, site, frozenset(lesion_vocab.sites_in(site)))
            )
        elif UNNAMED_EXTRAVASATION in concepts:
            unnamed.append(
                Exposure(
                    fact,
                    frozenset({UNNAMED_EXTRAVASATION}),
                    ev.date,
                    site,
                    frozenset(lesion_vocab.sites_in(site)),
                )
            )
    if unnamed and view.exposures:
        view.exposures.extend(unnamed)


def _labs(case: Case, view: FactView, pack: KnowledgePack) -> None:
    vocab = load_lab_vocabulary()
    for i, lab in enumerate(case.labs):
        where = f"labs[{i}]"
        analyte = _analyte(lab)
        if analyte is None:
            view.issues.append(
                InputIssue(location=where, message="lab not recognised (no known analyte or LOINC)")
            )
            continue
        term = vocab.terms[analyte]
        label = lab.text or analyte
        if lab.value is None:
            flag = _flag_from_interpretation(lab.interpretation)
            shown = lab.value_text or (f"reported {FLAG_WORDS[flag]}" if flag else lab.interpretation)
            fact = view.add(Fact(lab.id or f"lab-{i}", "lab", label, shown, lab.date))
            if lab.value_text or lab.interpretation:
                _record_lab(view, LabValue(analyte, float("nan"), term.unit, flag, "reported", fact))
            continue
        value = vocab.to_canonical(analyte, lab.value, lab.unit)
        if value is None:
            view.issues.append(
                InputIssue(
                    location=f"{where}.unit", message=f"unit '{lab.unit}' not known for {analyte}; ignored"
                )
            )
            continue
        shown = f"{lab.value:g} {lab.unit or ''}".strip()
        flag, basis = _flag(lab, value, analyte, pack, view)
        if flag == "U":
            shown += " (not interpretable without a paediatric interval)"
        fact = view.add(Fact(lab.id or f"lab-{i}", "lab", label, shown, lab.date))
        _record_lab(view, LabValue(analyte, value, term.unit, flag, basis, fact))
    _derived_labs(view, pack)


FLAG_WORDS = {"H": "high", "L": "low", "N": "normal", "A": "abnormal", "U": "not interpretable"}


def _analyte(lab: Lab) -> str | None:
    vocab = load_lab_vocabulary()
    by_loinc = vocab.by_loinc
    if lab.analyte and lab.analyte in vocab.terms:
        return lab.analyte
    if lab.loinc and lab.loinc in by_loinc:
        return by_loinc[lab.loinc]
    for text in (lab.analyte, lab.text):
        if text:
            found = vocab.analyte_for_text(text)
            if found:
                return found
    return None


def _flag_from_interpretation(interp: str | None) -> str | None:
    return {"H": "H", "HH": "H", "L": "L", "LL": "L", "N": "N", "POS": "A", "A": "A", "NEG": "N"}.get(
        interp or ""
    )


def _flag(
    lab: Lab, value: float, analyte: str, pack: KnowledgePack, view: FactView
) -> tuple[str | None, str]:
    """Flag a result: the laboratory's own interpretation or range first (the laboratory judged the patient's
    age), else the pack's interval for the patient's age and sex."""
    if lab.interpretation:
        return _flag_from_interpretation(lab.interpretation), "reported interpretation"
    if lab.ref_low is not None or lab.ref_high is not None:
        raw = lab.value if lab.value is not None else value
        if lab.ref_high is not None and raw > lab.ref_high:
            return "H", "reported reference range"
        if lab.ref_low is not None and raw < lab.ref_low:
            return "L", "reported reference range"
        return "N", "reported reference range"
    return flag_default(value, analyte, pack, view)


def interval_for(
    analyte: str, pack: KnowledgePack, age_years: float | None, sex: str
) -> ReferenceInterval | None:
    """The configured interval for this analyte, age and sex: an age band that covers the patient (a sex-specific
    one first), else the adult default (no age band)."""
    intervals = pack.reference_intervals.get(analyte, ())
    if age_years is not None:
        days = age_years * 365.25
        banded = [
            ri
            for ri in intervals
            if ri.age_max_days is not None
            and (ri.age_min_days or 0) <= days < ri.age_max_days
            and ri.sex in (None, sex)
        ]
        if banded:
            return sorted(banded, key=lambda ri: ri.sex is None)[0]
    adult = [ri for ri in intervals if ri.age_max_days is None and ri.sex in (None, sex)]
    return sorted(adult, key=lambda ri: ri.sex is None)[0] if adult else None


def flag_default(
    value: float, analyte: str, pack: KnowledgePack, view: FactView, *, interval_analyte: str | None = None
) -> tuple[str | None, str]:
    interval = interval_for(interval_analyte or analyte, pack, view.age_years, view.sex)
    if interval is None and interval_analyte is not None:
        interval = interval_for(analyte, pack, view.age_years, view.sex)
    if interval is None:
        return None, "no reference interval"
    flag = "N"
    if interval.high is not None and value > interval.high:
        flag = "H"
    elif interval.low is not None and value < interval.low:
        flag = "L"
    if interval.paediatric:
        return flag, f"{interval.population or 'paediatric'} interval (site configuration)"
    child = view.age_years is not None and view.age_years < ADULT_AGE
    if child:
        if flag != "N":
            side = "above" if flag == "H" else "below"
            return "U", (
                f"{side} the adult interval; not interpretable without a paediatric interval "
                "(none configured for this age)"
            )
        return "N", "within the adult interval (no paediatric interval configured)"
    return flag, "default reference interval (site configuration)"


def _record_lab(view: FactView, lv: LabValue) -> None:
    view.lab_history.setdefault(lv.analyte, []).append(lv)
    current = view.labs.get(lv.analyte)
    if current is None or (lv.fact.date or dt.date.min) >= (current.fact.date or dt.date.min):
        view.labs[lv.analyte] = lv


def _derived_labs(view: FactView, pack: KnowledgePack) -> None:
    """Albumin-corrected calcium and the Ca×PO4 product (both in mg/dL units). A calcium reported only as
    normal or high carries its reported flag; the product then cannot be computed."""
    ca = view.labs.get("calcium")
    alb = view.labs.get("albumin")
    if ca is not None and ca.value != ca.value:
        view.labs["corrected-calcium"] = LabValue(
            "corrected-calcium", ca.value, "mg/dL", ca.flag, ca.flag_basis, ca.fact
        )
    elif ca is not None:
        corrected = ca.value
        facts = [ca.fact]
        if alb is not None and alb.value == alb.value:
            corrected = ca.value + 0.8 * (4.0 - alb.value)
            facts.append(alb.fact)
        text = (
            "Albumin-corrected calcium" if len(facts) == 2 else "Calcium (albumin not available to correct)"
        )
        fact = view.add(
            Fact("derived-corrected-calcium", "derived", text, f"{corrected:.2f} mg/dL", ca.fact.date)
        )
        if ca.flag_basis.startswith("reported") and len(facts) == 1:
            flag, basis = ca.flag, ca.flag_basis
        else:
            flag, basis = flag_default(
                corrected,
                "calcium",
                pack,
                view,
                interval_analyte="corrected-calcium" if len(facts) == 2 else "calcium",
            )
        view.labs["corrected-calcium"] = LabValue("corrected-calcium", corrected, "mg/dL", flag, basis, fact)
    po4 = view.labs.get("phosphate")
    cca = view.labs.get("corrected-calcium")
    if po4 is not None and cca is not None and po4.value == po4.value and cca.value == cca.value:
        product = cca.value * po4.value
        fact = view.add(
            Fact("derived-ca-x-po4", "derived", "Ca×PO4 product", f"{product:.1f} mg²/dL²", po4.fact.date)
        )
        meta = pack.meta
        flag = (
            "H"
            if product >= meta.cap_threshold_strong
            else ("B" if product >= meta.cap_threshold_warn else "N")
        )
        basis = "pack thresholds"
        if view.age_years is not None and view.age_years < ADULT_AGE and flag != "N":
            flag, basis = "U", "adult Ca×PO4 thresholds; not interpretable in a child"
        view.labs["ca-x-po4"] = LabValue("ca-x-po4", product, "mg2/dL2", flag, basis, fact)


def _lesions(case: Case, view: FactView) -> None:
    vocab = load_lesion_vocabulary()
    for i, lesion in enumerate(case.lesions):
        text = " ".join((*lesion.features, lesion.description or ""))
        features = vocab.features_in(text)
        sites = vocab.sites_in(" ".join((lesion.site or "", lesion.description or "")))
        unknown = [f for f in lesion.features if not vocab.features_in(f)]
        for f in unknown:
            view.issues.append(
                InputIssue(
                    location=f"lesions[{i}].features",
                    message=f"feature '{f}' not recognised",
                    severity="information",
                )
            )
        parts = [lesion.site or "site not given"]
        if lesion.count:
            parts.append(f"count {lesion.count}")
        if lesion.size_mm is not None:
            parts.append(f"{lesion.size_mm:g} mm")
        if features:
            parts.append(", ".join(sorted(features)))
        fact = view.add(Fact(lesion.id or f"lesion-{i}", "lesion", "Lesion", "; ".join(parts), lesion.onset))
        view.lesions.append(
            LesionFacts(
                fact,
                frozenset(features),
                frozenset(sites),
                lesion.count,
                lesion.size_mm,
                " ".join(t for t in (lesion.site, lesion.description) if t),
                lesion.onset,
                text,
            )
        )
