"""The named predicates of ``predicates.yaml``: each returns whether it holds and the facts it read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from calcinosis.engine.facts import Exposure, Fact, FactView, LesionFacts


@dataclass(frozen=True)
class Finding:
    holds: bool
    facts: tuple[Fact, ...] = ()


Predicate = Callable[[FactView], Finding]
PREDICATES: dict[str, Predicate] = {}

CTD = ("systemic-sclerosis", "dermatomyositis", "lupus", "mctd", "overlap-ctd")
RENAL_CONDITIONS = ("ckd", "esrd", "aki")


def predicate(name: str) -> Callable[[Predicate], Predicate]:
    def register(fn: Predicate) -> Predicate:
        PREDICATES[name] = fn
        return fn

    return register


def _any(facts: list[Fact]) -> Finding:
    return Finding(bool(facts), tuple(facts))


def _flag(view: FactView, analyte: str, flags: set[str]) -> Finding:
    lv = view.lab(analyte)
    if lv is None:
        return Finding(False)
    return Finding(lv.flag in flags, (lv.fact,))


def _egfr_below(view: FactView, limit: float) -> Finding:
    lv = view.lab("egfr")
    if lv is None or lv.value != lv.value:
        return Finding(False)
    return Finding(lv.value < limit, (lv.fact,))


def _combine(*findings: Finding) -> Finding:
    hits = [f for f in findings if f.holds]
    if hits:
        return Finding(True, tuple(x for f in hits for x in f.facts))
    return Finding(False, tuple(x for f in findings for x in f.facts))


def _age(view: FactView, test: Callable[[float], bool]) -> Finding:
    if view.age_years is None:
        return Finding(False)
    return Finding(test(view.age_years), (view.demographics["age"],))


# ----------------------------------------------------------------------- presentation and lesions
@predicate("calciphylaxis-skin-signs")
def _calciphylaxis_signs(view: FactView) -> Finding:
    """Retiform purpura or livedo racemosa, or a painful necrotic lesion, or a painful indurated or purpuric
    plaque over a fatty area (dossier R1). A painful ulcerated nodule is not, by itself, a sign."""
    strong = [
        lesion.fact
        for lesion in view.lesions
        if lesion.features & {"retiform-purpura", "livedo"}
        or ("painful" in lesion.features and "necrotic" in lesion.features)
        or (
            "painful" in lesion.features
            and lesion.features & {"indurated", "purpura"}
            and "fatty" in lesion.sites
        )
    ]
    return _any(strong)


for _name, _feature in (
    ("lesion-inflamed", "inflamed"),
    ("lesion-painful", "painful"),
    ("lesion-functional-loss", "functional-loss"),
    ("milia-like-papules", "milia-like"),
):
    PREDICATES[_name] = lambda view, f=_feature: _any(view.lesions_with(f))  # type: ignore[misc]


@predicate("lesion-ulcerated")
def _ulcerated(view: FactView) -> Finding:
    return _any(view.lesions_with("ulcerated") + view.lesions_with("discharging"))


@predicate("lesion-infection-signs")
def _infection(view: FactView) -> Finding:
    """Infected or purulent; or red/hot and discharging; or inflamed with fever (dossier I6, §5.7)."""
    inflamed = view.lesions_with("inflamed")
    infected = view.lesions_with("infected")
    hot_discharging = [f for f in view.lesions_with("discharging") if f in inflamed]
    febrile = [f for f in view.lesions_with("fever") if f in inflamed]
    return _any(list(dict.fromkeys(infected + hot_discharging + febrile)))


@predicate("lesion-digital")
def _digital(view: FactView) -> Finding:
    return _any(view.lesions_at("digital"))


@predicate("lesions-widespread")
def _widespread(view: FactView) -> Finding:
    """Recorded as widespread, or 20 or more lesions, or lesions in three or more body regions or at three or
    more separately recorded sites."""
    wide = view.lesions_with("widespread")
    regions = {s for lesion in view.lesions for s in lesion.sites}
    sites = {lesion.site_text.strip().lower() for lesion in view.lesions if lesion.site_text.strip()}
    many = [lesion.fact for lesion in view.lesions if (lesion.count or 0) >= 20]
    if len(regions) >= 3 or len(sites) >= 3:
        many += [lesion.fact for lesion in view.lesions]
    return _any(list(dict.fromkeys(wide + many)))


@predicate("lesions-localized")
def _localized(view: FactView) -> Finding:
    if not view.lesions or _widespread(view).holds:
        return Finding(False, tuple(lesion.fact for lesion in view.lesions))
    regions = {s for lesion in view.lesions for s in lesion.sites}
    total = sum(lesion.count or 1 for lesion in view.lesions)
    return Finding(len(regions) <= 1 and total <= 5, tuple(lesion.fact for lesion in view.lesions))


@predicate("localised-symptomatic-deposit")
def _localised_symptomatic(view: FactView) -> Finding:
    local = _localized(view)
    symptoms = [
        lesion.fact
        for lesion in view.lesions
        if lesion.features & {"painful", "inflamed", "ulcerated", "discharging", "functional-loss"}
    ]
    if local.holds and symptoms:
        return Finding(True, (*local.facts, *symptoms))
    return Finding(False, local.facts)


@predicate("lesions-new-or-spreading")
def _spreading(view: FactView) -> Finding:
    return _any(view.lesions_with("spreading"))


@predicate("scrotal-lesions")
def _scrotal(view: FactView) -> Finding:
    return _any(view.lesions_at("scrotal"))


PLURALS = ("nodules", "papules", "plaques", "lesions", "deposits", "masses")


@predicate("solitary-nodule")
def _solitary(view: FactView) -> Finding:
    """One lesion recorded as a single nodule or papule: its count is 1 or it is called solitary, and nothing
    calls it multiple."""
    facts = tuple(lesion.fact for lesion in view.lesions)
    if len(view.lesions) != 1:
        return Finding(False, facts)
    lesion = view.lesions[0]
    words = lesion.text.lower()
    plural = "multiple" in lesion.features or any(p in words for p in PLURALS)
    single = lesion.count == 1 or ("solitary" in lesion.features and lesion.count in (None, 1))
    return Finding(single and not plural and (lesion.count or 1) == 1, facts)


@predicate("periarticular-lesion")
def _periarticular_lesion(view: FactView) -> Finding:
    return _any(view.lesions_at("periarticular") + view.lesions_with("periarticular-mass"))


@predicate("periarticular-masses")
def _periarticular(view: FactView) -> Finding:
    masses = view.lesions_with("periarticular-mass")
    big = [
        lesion.fact
        for lesion in view.lesions
        if "periarticular" in lesion.sites and (lesion.size_mm or 0) >= 30
    ]
    return _any(
        masses + big + view.has_condition("tumoral-calcinosis", "hyperphosphataemic-tumoral-calcinosis")
    )


# ----------------------------------------------------------------------- history and exposures
def _site_relation(exposure: Exposure, lesion: LesionFacts | None) -> bool | None:
    """Whether an exposure's site matches a lesion's: True, False, or None when either site is not given."""
    if lesion is None or not exposure.site_text.strip() or not lesion.site_text.strip():
        return None
    a, b = _words(exposure.site_text), _words(lesion.site_text)
    sides_a, sides_b = a & {"left", "right"}, b & {"left", "right"}
    if len(sides_a) == 1 and len(sides_b) == 1 and sides_a != sides_b:
        return False
    if exposure.sites & lesion.sites:
        return True
    return bool((a - SITE_STOPWORDS) & (b - SITE_STOPWORDS))


SITE_STOPWORDS = frozenset(
    {"left", "right", "the", "of", "and", "at", "on", "site", "area", "region", "side"}
)


def _words(text: str) -> set[str]:
    return {w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split() if len(w) > 1}


def _timing_ok(exposure: Exposure, lesion: LesionFacts | None) -> bool:
    """The exposure did not come after the lesion appeared (unknown dates do not exclude it)."""
    if lesion is None or exposure.date is None or lesion.onset is None:
        return True
    return exposure.date <= lesion.onset


def _exposure_pairs(view: FactView) -> list[tuple[Exposure, LesionFacts | None, bool | None, bool]]:
    lesions: list[LesionFacts | None] = list(view.lesions) or [None]
    return [(e, le, _site_relation(e, le), _timing_ok(e, le)) for e in view.exposures for le in lesions]


def _pair_facts(exposure: Exposure, lesion: LesionFacts | None) -> list[Fact]:
    return [exposure.fact] + ([lesion.fact] if lesion is not None else [])


def _exposures_where(view: FactView, site_ok: Callable[[bool | None], bool]) -> Finding:
    """Exposure–lesion pairs not after the lesion's onset whose site relation passes ``site_ok``."""
    hits = [
        f for e, le, site, when in _exposure_pairs(view) if when and site_ok(site) for f in _pair_facts(e, le)
    ]
    return _any(list(dict.fromkeys(hits)))


@predicate("iatrogenic-exposure-at-site")
def _iatrogenic_at_site(view: FactView) -> Finding:
    return _exposures_where(view, lambda site: site is True)


@predicate("iatrogenic-exposure")
def _iatrogenic(view: FactView) -> Finding:
    return _exposures_where(view, lambda site: site is not False)


@predicate("iatrogenic-exposure-other-site")
def _iatrogenic_other_site(view: FactView) -> Finding:
    return _exposures_where(view, lambda site: site is False)


@predicate("calcium-exposure-recorded")
def _calcium_exposure(view: FactView) -> Finding:
    return _any([e.fact for e in view.exposures])


@predicate("iatrogenic-exposure-elsewhere")
def _iatrogenic_elsewhere(view: FactView) -> Finding:
    """Exposures are recorded, but every one came after the lesions appeared."""
    pairs = _exposure_pairs(view)
    if not pairs or any(when for _, _, _, when in pairs):
        return Finding(False)
    return _any(list(dict.fromkeys(f for e, le, _, _ in pairs for f in _pair_facts(e, le))))


@predicate("recent-transplant")
def _transplant(view: FactView) -> Finding:
    return _any(view.has_condition("solid-organ-transplant") + view.had_event("massive-transfusion"))


@predicate("kidney-transplant")
def _kidney_tx(view: FactView) -> Finding:
    return _any(view.has_condition("kidney-transplant"))


@predicate("local-injury")
def _local(view: FactView) -> Finding:
    return _any(view.had_event("local-injury-event") + view.has_condition("local-injury-condition"))


@predicate("biopsy-arteriolar-calcification")
def _biopsy_arteriolar(view: FactView) -> Finding:
    return _any(view.had_event("biopsy-arteriolar-calcification"))


@predicate("biopsy-calcification")
def _biopsy_calc(view: FactView) -> Finding:
    return _any(view.had_event("biopsy-calcification", "biopsy-arteriolar-calcification"))


@predicate("histology-ossification")
def _ossification(view: FactView) -> Finding:
    return _any(view.had_event("histology-ossification"))


# ----------------------------------------------------------------------- conditions
for _name, _concepts in (
    ("ctd", CTD),
    ("systemic-sclerosis", ("systemic-sclerosis",)),
    ("dermatomyositis", ("dermatomyositis",)),
    ("juvenile-dermatomyositis", ("juvenile-dermatomyositis",)),
    ("lupus", ("lupus",)),
    ("down-syndrome", ("down-syndrome",)),
    ("sarcoidosis", ("sarcoidosis",)),
    ("hyperparathyroidism-recorded", ("hyperparathyroidism",)),
    ("recorded-calciphylaxis", ("calciphylaxis",)),
    ("recorded-iatrogenic", ("iatrogenic-calcinosis",)),
    ("recorded-dystrophic", ("dystrophic-calcinosis",)),
    ("recorded-metastatic", ("metastatic-calcinosis",)),
    ("recorded-idiopathic", ("idiopathic-calcinosis",)),
    ("recorded-calcinosis-universalis", ("calcinosis-universalis",)),
    ("recorded-calcinosis-circumscripta", ("calcinosis-circumscripta",)),
    ("recorded-tumoral-calcinosis", ("tumoral-calcinosis",)),
    ("recorded-scrotal-calcinosis", ("scrotal-calcinosis",)),
    ("recorded-milia-like", ("milia-like-calcinosis",)),
    ("recorded-subepidermal-nodule", ("subepidermal-calcified-nodule",)),
    ("liver-disease", ("liver-disease",)),
):
    PREDICATES[_name] = lambda view, cs=_concepts: _any(view.has_condition(*cs))  # type: ignore[misc]


@predicate("ctd-antibodies-positive")
def _ctd_antibodies(view: FactView) -> Finding:
    return _combine(_flag(view, "ssc-antibodies", {"H", "A"}), _flag(view, "myositis-antibodies", {"H", "A"}))


@predicate("ctd-active")
def _ctd_active(view: FactView) -> Finding:
    active = [view.active_disease[c] for c in CTD if c in view.active_disease]
    ck = _flag(view, "ck", {"H"})
    if view.has_condition("dermatomyositis") and ck.holds:
        return _combine(_any(active), ck)
    return _any(active)


@predicate("on-dialysis")
def _dialysis(view: FactView) -> Finding:
    return _any(view.had_event("dialysis") + view.has_condition("dialysis"))


@predicate("peritoneal-dialysis")
def _pd(view: FactView) -> Finding:
    return _any(view.had_event("peritoneal-dialysis"))


@predicate("ckd")
def _ckd(view: FactView) -> Finding:
    return _combine(_any(view.has_condition("ckd")), _egfr_below(view, 60), _dialysis(view))


@predicate("renal-impairment")
def _renal(view: FactView) -> Finding:
    return _combine(_ckd(view), _any(view.has_condition("aki")), _flag(view, "creatinine", {"H"}))


@predicate("severe-renal-impairment")
def _severe_renal(view: FactView) -> Finding:
    return _combine(_egfr_below(view, 30), _dialysis(view), _any(view.has_condition("esrd")))


@predicate("ckd-not-on-dialysis")
def _ckd_no_dialysis(view: FactView) -> Finding:
    ckd = _ckd(view)
    dialysis = _dialysis(view)
    return Finding(ckd.holds and not dialysis.holds, ckd.facts + dialysis.facts)


@predicate("hyperparathyroidism")
def _hyperpth(view: FactView) -> Finding:
    return _combine(_any(view.has_condition("hyperparathyroidism")), _flag(view, "pth", {"H"}))


@predicate("malignancy")
def _malignancy(view: FactView) -> Finding:
    return _combine(_any(view.has_condition("haematological-malignancy")), _flag(view, "pthrp", {"H", "A"}))


@predicate("vitamin-d-excess")
def _vitd(view: FactView) -> Finding:
    return _combine(
        _any(view.has_condition("hypervitaminosis-d", "milk-alkali-syndrome")),
        _flag(view, "vitamin-d-25", {"H"}),
        _flag(view, "vitamin-d-1-25", {"H"}),
    )


# ----------------------------------------------------------------------- labs
@predicate("hypercalcaemia")
def _hyperca(view: FactView) -> Finding:
    if view.lab("ionized-calcium") is not None:
        return _flag(view, "ionized-calcium", {"H"})
    return _flag(view, "corrected-calcium", {"H"})


@predicate("hypocalcaemia")
def _hypoca(view: FactView) -> Finding:
    if view.lab("ionized-calcium") is not None:
        return _flag(view, "ionized-calcium", {"L"})
    return _flag(view, "corrected-calcium", {"L"})


@predicate("hyperphosphataemia")
def _hyperpo4(view: FactView) -> Finding:
    return _flag(view, "phosphate", {"H"})


@predicate("cap-product-high")
def _cap_high(view: FactView) -> Finding:
    return _flag(view, "ca-x-po4", {"H"})


@predicate("cap-product-borderline")
def _cap_borderline(view: FactView) -> Finding:
    return _flag(view, "ca-x-po4", {"H", "B"})


@predicate("mineral-derangement")
def _mineral(view: FactView) -> Finding:
    return _combine(
        _hyperca(view),
        _hyperpo4(view),
        _cap_borderline(view),
        _flag(view, "pth", {"H"}),
        _vitd(view),
    )


@predicate("mineral-derangement-real")
def _mineral_real(view: FactView) -> Finding:
    """A real derangement (dossier I1): calcium, phosphate or Ca×PO4 actually high, or vitamin D excess."""
    return _combine(_hyperca(view), _hyperpo4(view), _cap_high(view), _vitd(view))


@predicate("pth-high")
def _pth_high(view: FactView) -> Finding:
    return _flag(view, "pth", {"H"})


@predicate("established-hyperparathyroidism")
def _established_hpt(view: FactView) -> Finding:
    """Recorded hyperparathyroidism, or raised PTH with high calcium, or raised PTH without kidney disease
    (a mildly raised PTH in kidney disease alone does not establish it, reading I3)."""
    recorded = _any(view.has_condition("hyperparathyroidism"))
    pth = _pth_high(view)
    if recorded.holds:
        return recorded
    if pth.holds and (_hyperca(view).holds or not _ckd(view).holds):
        return _combine(pth, _hyperca(view))
    return Finding(False, pth.facts)


@predicate("calcium-phosphate-normal")
def _ca_po4_normal(view: FactView) -> Finding:
    ca = view.lab("ionized-calcium") or view.lab("corrected-calcium")
    po4 = view.lab("phosphate")
    if ca is None or po4 is None:
        return Finding(False)
    cap = view.lab("ca-x-po4")
    normal = ca.flag == "N" and po4.flag == "N" and (cap is None or cap.flag in ("N", "U"))
    return Finding(normal, (ca.fact, po4.fact, *((cap.fact,) if cap else ())))


@predicate("mineral-labs-normal")
def _labs_normal(view: FactView) -> Finding:
    needed = ("corrected-calcium", "phosphate")
    present = [view.lab(a) for a in needed]
    if any(lv is None for lv in present):
        return Finding(False)
    facts = tuple(lv.fact for lv in present if lv is not None)
    return Finding(not _mineral(view).holds and not _renal(view).holds, facts)


@predicate("mineral-labs-missing")
def _labs_missing(view: FactView) -> Finding:
    return Finding(
        (view.lab("calcium") is None and view.lab("ionized-calcium") is None) or view.lab("phosphate") is None
    )


# ----------------------------------------------------------------------- demographics
@predicate("child")
def _child(view: FactView) -> Finding:
    return _age(view, lambda a: a < 18)


@predicate("age-under-8")
def _under8(view: FactView) -> Finding:
    return _age(view, lambda a: a < 8)


@predicate("neonate")
def _neonate(view: FactView) -> Finding:
    return _age(view, lambda a: a <= 28 / 365.25)


@predicate("infant")
def _infant(view: FactView) -> Finding:
    return _age(view, lambda a: a < 1)


@predicate("young-adult-male")
def _young_male(view: FactView) -> Finding:
    if view.sex != "male":
        return Finding(False, tuple(v for k, v in view.demographics.items() if k == "sex"))
    found = _age(view, lambda a: 10 <= a <= 45)
    return Finding(found.holds, (*found.facts, view.demographics["sex"]))


@predicate("pregnant")
def _pregnant(view: FactView) -> Finding:
    fact = view.demographics.get("pregnancy")
    preg = view.has_condition("pregnancy")
    holds = bool(view.pregnant)
    return Finding(holds, tuple(([fact] if fact else []) + preg))


@predicate("breastfeeding")
def _breastfeeding(view: FactView) -> Finding:
    fact = view.demographics.get("breastfeeding")
    recorded = view.has_condition("lactation")
    return Finding(bool(view.breastfeeding), tuple(([fact] if fact else []) + recorded))


# ----------------------------------------------------------------------- calcinosis itself
IMAGING = ("radiograph", "ct-scan", "ultrasound", "bone-scan")


@predicate("calcinosis-recorded")
def _calcinosis_recorded(view: FactView) -> Finding:
    """A lesion, a calcinosis diagnosis (code or text), or imaging or histology showing calcification."""
    imaging = [
        f
        for f in view.had_event(*IMAGING)
        if "calcif" in f"{f.text} {f.value or ''}".lower()
        or "calcinosis" in f"{f.text} {f.value or ''}".lower()
    ]
    return _any(
        list(
            dict.fromkeys(
                [lesion.fact for lesion in view.lesions]
                + view.has_condition("calcinosis-cutis")
                + view.had_event(
                    "biopsy-calcification", "biopsy-arteriolar-calcification", "histology-ossification"
                )
                + imaging
            )
        )
    )


@predicate("self-limiting-form")
def _self_limiting(view: FactView) -> Finding:
    """Neonatal/infant IV-calcium extravasation or heel-stick calcinosis, or milia-like papules in a child
    (reading I5)."""
    infant = _infant(view)
    neonatal = [
        e.fact
        for e in view.exposures
        if e.concepts & {"iv-calcium", "iv-calcium-extravasation", "heel-sticks", "iv-calcium-medication"}
    ]
    if infant.holds and neonatal and not _iatrogenic_elsewhere(view).holds:
        return Finding(True, (*infant.facts, *neonatal))
    micc = _any(view.lesions_with("milia-like"))
    child = _child(view)
    if micc.holds and child.holds:
        return Finding(True, (*micc.facts, *child.facts))
    return Finding(False)


# ----------------------------------------------------------------------- current medications
for _name, _meds in (
    ("on-warfarin", ("warfarin",)),
    ("on-colchicine", ("colchicine",)),
    ("on-diltiazem", ("diltiazem",)),
    ("on-methotrexate", ("methotrexate",)),
    ("on-aluminium-binder", ("aluminium-binder",)),
    ("on-calcium-supplement", ("calcium-supplement",)),
    ("on-active-vitamin-d", ("active-vitamin-d",)),
    ("on-iv-calcium", ("iv-calcium-medication",)),
    ("on-ceftriaxone", ("ceftriaxone",)),
    ("on-minocycline", ("tetracycline", "minocycline")),
    ("on-bisphosphonate", ("bisphosphonate",)),
    ("on-immunosuppressant", ("immunosuppressant",)),
    ("on-corticosteroid", ("corticosteroid",)),
    ("on-iron", ("iron",)),
    ("on-sodium-thiosulfate", ("sodium-thiosulfate",)),
    ("on-jak-inhibitor", ("jak-inhibitor",)),
    ("on-tnf-inhibitor", ("tnf-inhibitor",)),
    ("on-rituximab", ("rituximab",)),
    ("on-probenecid", ("probenecid",)),
    ("on-cinacalcet", ("cinacalcet",)),
):
    PREDICATES[_name] = lambda view, ms=_meds: _any(view.on_medication(*ms))  # type: ignore[misc]


def evaluate(name: str, view: FactView) -> Finding:
    """Evaluate a predicate once per view; later calls reuse the finding."""
    cached = view.memo.get(name)
    if cached is None:
        cached = PREDICATES[name](view)
        view.memo[name] = cached
    assert isinstance(cached, Finding)  # noqa: S101 - the memo only holds findings
    return cached
