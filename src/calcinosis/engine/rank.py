"""Therapy options for this patient: stance, line, evidence and fit, ranked, each with its basis.

Stance comes from the pack only: a setting the sources mark "avoid", a line a source states, and cautions whose
patient triggers hold. Order: stance, stated line, number of this patient's features the therapy is aimed at,
evidence level (A best), fit (studied before listed), name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from calcinosis.engine.basis import cite, cite_all, make_basis
from calcinosis.engine.facts import AllergyFacts, Fact, FactView
from calcinosis.engine.labels import therapy_labels
from calcinosis.engine.packmemo import per_pack
from calcinosis.engine.predicates import evaluate
from calcinosis.engine.results import (
    CautionOut,
    ConflictOut,
    CourseResponse,
    EvidenceOut,
    LabelFactOut,
    Stance,
    StatedLevelOut,
    SubtypeCall,
    TherapyOption,
)
from calcinosis.pack.knowledge import KnowledgePack
from calcinosis.pack.models import (
    Applicability,
    CautionSeverity,
    EvidenceLevel,
    LineName,
    SourceRef,
    SubtypeCode,
    Therapy,
)
from calcinosis.patient.matching import is_negated
from calcinosis.patient.vocabulary import load_vocabulary


def patient_settings(view: FactView, call: SubtypeCall) -> frozenset[str]:
    """The clinical settings (matrix columns) this patient's call places them in."""
    code = call.code
    settings: set[str] = set()
    if code is SubtypeCode.DYSTROPHIC:
        if evaluate("systemic-sclerosis", view).holds:
            settings.add("dystrophic-ssc")
        if evaluate("dermatomyositis", view).holds:
            settings.add("dystrophic-dm")
        if not settings:
            settings.add("dystrophic-other")
        if call.variant == "transplant-associated":
            settings.add("metastatic")
    elif code is SubtypeCode.METASTATIC:
        settings.add("tumoral" if call.variant == "tumoral-calcinosis" else "metastatic")
    elif code is not SubtypeCode.UNDETERMINED:
        settings.add(code.value)
    if call.variant == "tumoral-calcinosis":
        settings.add("tumoral")
    return frozenset(settings)


@dataclass
class Draft:
    therapy: Therapy
    stance: Stance
    lead: int | None = None
    line: str | None = None
    fit: Applicability | None = None
    rationale: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    refs: list[SourceRef] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    cautions: list[CautionOut] = field(default_factory=list)
    label_facts: tuple[LabelFactOut, ...] = ()
    courses: list[str] = field(default_factory=list)
    failed: bool = False
    targets_met: int = 0
    receiving: bool = False

    def lower_to(self, stance: Stance) -> None:
        if stance.rank > self.stance.rank:
            self.stance = stance


# Pack-derived parts of an option, the same for every patient: built once per pack (keyed by its hash).
_EVIDENCE: dict[tuple[str, str], EvidenceOut] = {}
_IDLE_CAUTIONS: dict[tuple[str, str, str], CautionOut] = {}


@per_pack
def _names(therapy: Therapy, _pack: KnowledgePack) -> tuple[str, ...]:
    return tuple(n.lower() for n in (therapy.name, *therapy.aliases, *therapy.agents))


def _receiving(therapy: Therapy, view: FactView, pack: KnowledgePack) -> list[Fact]:
    names = _names(therapy, pack)
    return [
        f
        for facts in view.medications.values()
        for f in facts
        if any(n and n in f.text.lower() for n in names)
    ]


@dataclass(frozen=True)
class _Placement:
    """What the sources say of one therapy in a set of settings: the same for every patient in them."""

    fits: bool
    stance: Stance
    line: str | None
    fit: Applicability | None
    rationale: tuple[str, ...]
    refs: tuple[SourceRef, ...]
    rules: tuple[str, ...]


_PLACEMENTS: dict[tuple[str, str, frozenset[str]], _Placement] = {}


def _placement(therapy: Therapy, settings: frozenset[str], pack: KnowledgePack) -> _Placement:
    key = (pack.content_hash, therapy.id, settings)
    found = _PLACEMENTS.get(key)
    if found is None:
        found = _place(therapy, settings, pack)
        if pack.therapies.get(therapy.id) is therapy:
            _PLACEMENTS[key] = found
    return found


def _place(therapy: Therapy, settings: frozenset[str], pack: KnowledgePack) -> _Placement:
    fits = [s for s in therapy.settings if s.setting in settings]
    general_ok = any(pack.settings[s].general_lines_apply for s in settings)
    lines = [ln for ln in therapy.lines if ln.setting in settings or (ln.setting is None and general_ok)]
    out_of_scope = [ln for ln in therapy.lines if ln.setting is None and not general_ok]
    draft = Draft(therapy, Stance.CONSIDER)
    for fit in fits:
        draft.refs.extend(fit.sources)
        draft.rules.append(f"setting:{fit.setting}")
        name = pack.settings[fit.setting].name
        if fit.fit is Applicability.AVOID:
            draft.fit = Applicability.AVOID
            draft.lower_to(Stance.AVOID)
            draft.rationale.append(
                f"Sources advise against it in {name.lower()}" + (f": {fit.note}" if fit.note else ".")
            )
        else:
            if draft.fit is None or fit.fit.rank < draft.fit.rank:
                draft.fit = fit.fit
            verb = (
                "Studied"
                if fit.fit is Applicability.STUDIED
                else "Listed by a review or textbook (no primary data seen)"
            )
            draft.rationale.append(f"{verb} in {name.lower()}" + (f" ({fit.note})." if fit.note else "."))
    for ln in out_of_scope:
        draft.refs.append(ln.source)
        level = f" (stated level {ln.stated_level.value})" if ln.stated_level else ""
        draft.rationale.append(
            f"{pack.sources[ln.source.source].short} gives it as {ln.line.value}-line{level} without naming a setting; "
            "the sources place that list in dystrophic calcinosis, so no line is claimed here."
        )
    for ln in lines:
        draft.refs.append(ln.source)
        src = pack.sources[ln.source.source].short
        if ln.line is LineName.NOT_RECOMMENDED:
            draft.lower_to(Stance.AVOID)
            draft.rationale.append(f"Not recommended by {src}" + (f": {ln.note}." if ln.note else "."))
            continue
        if draft.line is None or ln.line.rank < LineName(draft.line).rank:
            draft.line = ln.line.value
        level = f", stated level {ln.stated_level.value}" if ln.stated_level else ""
        where = f" in {pack.settings[ln.setting].name.lower()}" if ln.setting else ""
        draft.rationale.append(
            f"{ln.line.value.capitalize()}-line{where} per {src}{level}"
            + (f" ({ln.note})." if ln.note else ".")
        )
    if draft.stance is not Stance.AVOID and draft.line in ("first", "preferred") and draft.fit is not None:
        draft.stance = Stance.RECOMMENDED
    return _Placement(
        fits=bool(fits),
        stance=draft.stance,
        line=draft.line,
        fit=draft.fit,
        rationale=tuple(draft.rationale),
        refs=tuple(draft.refs),
        rules=tuple(draft.rules),
    )


@per_pack
def _drug_concepts(therapy: Therapy, pack: KnowledgePack) -> frozenset[str]:
    """The drug concepts an option's names, aliases and agents name (with the classes they belong to)."""
    vocab = load_vocabulary()
    named: set[str] = set()
    for name in _names(therapy, pack):
        named |= vocab.find(name, "medication")
    return frozenset(vocab.expand(named))


def allergies_to(therapy: Therapy, view: FactView, pack: KnowledgePack) -> list[AllergyFacts]:
    """Recorded allergies that name this option's drug: by a drug concept of the vocabulary they share (the
    drug itself, or the drug class the vocabulary files it under: an allergy to doxycycline, read as a
    tetracycline, reaches minocycline) or by one of the option's names in the allergy's text. Nothing is
    inferred beyond the vocabulary's concepts; the caution says what was recorded, for the clinician to weigh."""
    if not view.allergies:
        return []
    concepts = _drug_concepts(therapy, pack)
    names = _names(therapy, pack)
    return [
        a
        for a in view.allergies
        if a.concepts & concepts or any(len(n) > 3 and _word_in(n, a.text) for n in names)
    ]


def _word_in(name: str, text: str) -> bool:
    """``name`` as a whole word in ``text``, in a mention that is not negated ("no allergy to ...")."""
    pattern = r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])"
    return any(not is_negated(text, m.start()) for m in re.finditer(pattern, text))


def _apply_allergies(draft: Draft, view: FactView, pack: KnowledgePack) -> None:
    """A recorded allergy or intolerance to the option's drug: a patient-specific warning (the record is its
    basis; no source is claimed) and at most use-with-caution; the clinician weighs it."""
    found = allergies_to(draft.therapy, view, pack)
    if not found:
        return
    named = "; ".join(a.fact.text + (f" ({a.fact.value})" if a.fact.value else "") for a in found)
    text = f"Allergy or intolerance recorded for this patient: {named}. Check it before use."
    draft.lower_to(Stance.USE_WITH_CAUTION)
    draft.facts.extend(a.fact for a in found)
    draft.rules.extend(f"allergy:{a.fact.id}" for a in found)
    draft.rationale.append(text)
    draft.cautions.insert(
        0,
        CautionOut(
            id="recorded-allergy",
            text=text,
            severity=CautionSeverity.WARNING,
            patient_specific=True,
            applies_when=("an allergy or intolerance to this drug is recorded",),
            triggered_by=tuple(a.fact.id for a in found),
            sources=(),
        ),
    )


def _draft(therapy: Therapy, view: FactView, settings: frozenset[str], pack: KnowledgePack) -> Draft | None:
    placed = _placement(therapy, settings, pack)
    receiving = list(dict.fromkeys(_receiving(therapy, view, pack)))
    if not placed.fits and not receiving:
        return None
    draft = Draft(
        therapy,
        placed.stance,
        line=placed.line,
        fit=placed.fit,
        refs=list(placed.refs),
        rules=list(placed.rules),
        receiving=bool(receiving),
    )
    draft.facts.extend(receiving)
    if receiving:
        draft.rationale.append(
            "Patient is already receiving this (" + ", ".join(f.text for f in receiving) + ")."
        )
    draft.rationale.extend(placed.rationale)
    _apply_targets(draft, view, pack)
    _apply_cautions(draft, view, pack)
    return draft


def _apply_targets(draft: Draft, view: FactView, pack: KnowledgePack) -> None:
    """Count the patient features the therapy is aimed at (a source must say it targets them)."""
    for target in draft.therapy.targets:
        found = evaluate(target, view)
        if found.holds:
            draft.targets_met += 1
            draft.facts.extend(found.facts)
            draft.rules.append(f"target:{target}")
            draft.rationale.append(
                f"Aimed at a feature this patient has: {pack.predicates[target].description.lower()}."
            )


def _apply_cautions(draft: Draft, view: FactView, pack: KnowledgePack) -> None:
    for caution in draft.therapy.cautions:
        triggered: list[Fact] = []
        holds = bool(caution.when)
        for name in caution.when:
            found = evaluate(name, view)
            holds = holds and found.holds
            triggered.extend(found.facts)
        if holds:
            draft.facts.extend(triggered)
            draft.rules.append(f"caution:{caution.id}")
            if caution.severity is CautionSeverity.CONTRAINDICATION:
                draft.lower_to(Stance.AVOID)
            elif caution.severity is CautionSeverity.WARNING:
                draft.lower_to(Stance.USE_WITH_CAUTION)
            draft.rationale.append(f"Caution for this patient ({caution.severity.value}): {caution.text}")
        key = (pack.content_hash, draft.therapy.id, caution.id)
        idle = None if holds else _IDLE_CAUTIONS.get(key)
        if idle is None:
            idle = CautionOut(
                id=caution.id,
                text=caution.text,
                severity=caution.severity.value,
                patient_specific=holds,
                applies_when=tuple(pack.predicates[p].description for p in caution.when),
                triggered_by=tuple(dict.fromkeys(f.id for f in triggered)) if holds else (),
                verified=caution.verified,
                sources=cite_all(pack, caution.sources),
            )
            if not holds:
                _IDLE_CAUTIONS[key] = idle
        draft.cautions.append(idle)
    draft.cautions.sort(
        key=lambda c: (not c.patient_specific, c.severity is not CautionSeverity.CONTRAINDICATION)
    )


def evidence_of(therapy: Therapy, pack: KnowledgePack) -> EvidenceOut:
    """The therapy's evidence (derived and stated levels); built once per pack for the pack's therapies."""
    if pack.therapies.get(therapy.id) is not therapy:
        return _evidence_of(therapy, pack)
    key = (pack.content_hash, therapy.id)
    found = _EVIDENCE.get(key)
    if found is None:
        found = _EVIDENCE[key] = _evidence_of(therapy, pack)
    return found


def _evidence_of(therapy: Therapy, pack: KnowledgePack) -> EvidenceOut:
    derived = pack.evidence[therapy.id].derived
    stated = [
        StatedLevelOut(scale="textbook-a-e", level=ln.stated_level.value, source=cite(pack, ln.source))
        for ln in therapy.lines
        if ln.stated_level is not None
    ] + [
        StatedLevelOut(scale=s.scale, level=s.level, direction=s.direction, source=cite(pack, s.source))
        for s in therapy.stated_levels
    ]
    textbook = pack.textbook_level(therapy.id)
    shown, shown_from = (
        (derived, "derived") if derived else ((textbook, "stated") if textbook else (None, "none"))
    )
    sizes = [s.n for s in therapy.studies if s.verified and s.n is not None]
    return EvidenceOut(
        derived=derived,
        stated=tuple(stated),
        shown=shown,
        shown_from=shown_from,
        studies=sum(1 for s in therapy.studies if s.verified),
        largest_n=max(sizes) if sizes else None,
    )


def _finish(draft: Draft, rank: int, pack: KnowledgePack) -> TherapyOption:
    therapy = draft.therapy
    evidence = evidence_of(therapy, pack)
    if evidence.derived is not None:
        draft.rationale.append(
            f"Evidence level {evidence.derived.value} derived from {evidence.studies} recorded "
            f"stud{'y' if evidence.studies == 1 else 'ies'}"
            + (f" (largest N={evidence.largest_n})." if evidence.largest_n else ".")
        )
    elif evidence.shown is not None:
        draft.rationale.append(
            f"No verified study recorded; level {evidence.shown.value} is the level the chapter states."
        )
    else:
        draft.rationale.append("No A–E level can be derived from the recorded studies and none is stated.")
    conflicts = pack.all_conflicts(therapy.id)
    for c in conflicts:
        draft.refs.extend(r for p in c.positions for r in p.sources)
    fit_text = draft.fit.value if draft.fit else "not placed in this patient's setting by the sources"
    return TherapyOption(
        id=therapy.id,
        name=therapy.name,
        rank=rank,
        stance=draft.stance,
        line=draft.line,
        evidence_level=evidence.shown,
        evidence=evidence,
        fit=fit_text,
        rationale=tuple(draft.rationale),
        cautions=tuple(draft.cautions),
        conflicts=_conflicts_out(therapy, pack),
        already_receiving=draft.receiving,
        courses=tuple(draft.courses),
        label_facts=draft.label_facts,
        basis=make_basis(
            pack,
            rules=draft.rules,
            facts=draft.facts,
            sources=[*draft.refs, *therapy.summary_sources],
        ),
    )


@per_pack
def _conflicts_out(therapy: Therapy, pack: KnowledgePack) -> tuple[ConflictOut, ...]:
    return tuple(
        ConflictOut(
            id=c.id, topic=c.topic, positions=tuple(p.claim for p in c.positions), handling=c.handling
        )
        for c in pack.all_conflicts(therapy.id)
    )


def _key(d: Draft, pack: KnowledgePack) -> tuple[bool, int, int, bool, int, int, int, int, str]:
    """Contraindicated (avoid) options last whatever else holds; then options a context reading leads with;
    then stance, an adequate course already failed (ranked down), stated line, features targeted, evidence
    level, fit and name."""
    level = evidence_of(d.therapy, pack).shown
    return (
        d.stance is Stance.AVOID,
        d.lead if d.lead is not None else len(pack.ranking_rules),
        d.stance.rank,
        d.failed,
        LineName(d.line).rank if d.line else len(LineName),
        -d.targets_met,
        level.rank if level else len(EvidenceLevel),
        d.fit.rank if d.fit else len(Applicability),
        d.therapy.name.lower(),
    )


def _forced(therapy: Therapy, view: FactView, settings: frozenset[str], pack: KnowledgePack) -> Draft:
    """A draft for an option a context reading brings in even outside the patient's setting."""
    draft = _draft(therapy, view, settings, pack)
    if draft is not None:
        return draft
    draft = Draft(therapy, Stance.CONSIDER)
    _apply_targets(draft, view, pack)
    _apply_cautions(draft, view, pack)
    return draft


def apply_ranking_rules(
    drafts: dict[str, Draft], view: FactView, settings: frozenset[str], pack: KnowledgePack
) -> None:
    """The pack's context readings (dossier §1.5 I3, I5, I6): lead options, and stance limits."""
    for index, rr in enumerate(pack.ranking_rules):
        when = [evaluate(p, view) for p in rr.when]
        unless = [evaluate(p, view) for p in rr.unless]
        if not all(f.holds for f in when) or any(f.holds for f in unless):
            continue
        if rr.settings and not settings & set(rr.settings):
            continue
        trigger_facts = [x for f in (*when, *unless) for x in f.facts]
        touched: list[Draft] = []
        for tid in rr.lead:
            d = drafts.get(tid) or _forced(pack.therapies[tid], view, settings, pack)
            drafts[tid] = d
            if d.lead is None:
                d.lead = index
            if d.stance is Stance.CONSIDER:
                d.stance = Stance.RECOMMENDED
            touched.append(d)
        limited = [drafts[t] for t in rr.therapies if t in drafts] + [
            d
            for d in drafts.values()
            if d.therapy.kind in rr.limit_kinds
            and d.therapy.id not in rr.lead
            and d.therapy.id not in rr.therapies
        ]
        if rr.max_stance is not None:
            for d in limited:
                d.lower_to(Stance(rr.max_stance))
        for d in (*touched, *limited):
            d.rules.append(f"ranking:{rr.id}")
            d.rationale.append(rr.text)
            d.refs.extend(rr.sources)
            d.facts.extend(trigger_facts)


def apply_history(
    drafts: dict[str, Draft],
    courses: tuple[CourseResponse, ...],
    view: FactView,
    settings: frozenset[str],
    pack: KnowledgePack,
) -> None:
    """What was tried: each course is shown on its option; an adverse event makes the option ``avoid``; an
    adequate course without response ranks it down; a running course says when it is next measured."""
    for c in courses:
        if c.therapy not in pack.therapies:
            continue
        d = drafts.get(c.therapy) or _forced(pack.therapies[c.therapy], view, settings, pack)
        drafts[c.therapy] = d
        d.courses.append(c.course_id)
        span = f"{c.start} to {c.stop or 'now'}, {c.duration_days} days"
        d.rules.append(f"history:{c.course_id}")
        used = {m.measure for m in c.measures if m.result != "not-judged"}
        d.refs.extend(ref for m in pack.outcomes.measures if m.id in used for ref in m.sources)
        if c.adverse_events:
            d.lower_to(Stance.AVOID)
            d.rationale.append(
                f"Adverse event on an earlier course ({span}): {'; '.join(c.adverse_events)}. Avoid for this patient."
            )
            continue
        if c.running:
            due = f"; next measurement due {c.next_measurement_due}" if c.next_measurement_due else ""
            d.rationale.append(
                f"Course running since {c.start} ({c.duration_days} days){due}. {c.category_basis}"
            )
            continue
        if c.adequate and c.category in ("none", "progression"):
            d.failed = True
            d.lower_to(Stance.CONSIDER)
            d.rationale.append(
                f"Ranked down: an adequate course ({span}; {c.adequate_days} days or more counts as adequate) "
                f"gave no response. {c.category_basis}"
            )
        else:
            d.rationale.append(f"Earlier course ({span}): {c.category_basis}")


def rank_therapies(
    view: FactView,
    call: SubtypeCall,
    pack: KnowledgePack,
    lowered: dict[str, tuple[Stance, str]],
    courses: tuple[CourseResponse, ...] = (),
) -> tuple[TherapyOption, ...]:
    """``lowered`` maps therapy ids to a stance imposed by a fired alert, with the reason; ``courses`` are the
    patient's treatment courses with their computed response."""
    settings = patient_settings(view, call)
    drafts = {t.id: d for t in pack.therapies.values() if (d := _draft(t, view, settings, pack)) is not None}
    for d in drafts.values():
        if d.therapy.id in lowered:
            stance, why = lowered[d.therapy.id]
            d.lower_to(stance)
            d.rationale.append(why)
    apply_ranking_rules(drafts, view, settings, pack)
    apply_history(drafts, courses, view, settings, pack)
    for d in drafts.values():
        _apply_allergies(d, view, pack)
        reading = therapy_labels(d.therapy.id, view, pack)
        d.label_facts = reading.facts
        if reading.stance is not None and reading.why:
            d.lower_to(reading.stance)
            d.rationale.append(reading.why)
            d.rules.append("label-facts")
            d.refs.extend(ref for _, st in reading.statements for ref in st.sources)
    ordered = sorted(drafts.values(), key=lambda d: _key(d, pack))
    return tuple(_finish(d, i + 1, pack) for i, d in enumerate(ordered))
