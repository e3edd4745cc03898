"""Patient scenarios of a synthetic export and how often each occurs.

Most patients are unrelated (everyday problems, labs and drugs); the rest carry the settings calcinosis
cutis arises in: connective tissue disease with or without dystrophic calcinosis, chronic kidney disease
with or without metastatic calcinosis, calciphylaxis on dialysis with warfarin, iatrogenic calcinosis after
calcium extravasation, and idiopathic calcinosis. Lab values are synthetic (drawn in the engine's canonical
units, converted for SI sites); some are left out, some contradict each other, as in real records.

A builder of the "synthea" style also writes what refused or missed patients of real Synthea exports: kidney
disease and dialysis coded in SNOMED CT as Synthea codes them (dialysis sometimes recorded only as a
procedure), urine albumin/creatinine ratios whose name contains "Creatinine", an eGFR in a unit the reader
does not accept, results reported only as an interpretation, and IV calcium given as a MedicationAdministration.
Each patient's tags (scenarios.tsv) say which kidney facts were written: ckd, esrd, dialysis.
"""

from __future__ import annotations

from collections.abc import Callable

from calcinosis.synth.builder import PatientBuilder
from calcinosis.synth.codebook import (
    ATRIAL_FIBRILLATION,
    ATRIAL_FIBRILLATION_SNOMED,
    BACKGROUND_CONDITIONS,
    BACKGROUND_DRUGS,
    BACKGROUND_LABS,
    BACKGROUND_PROCEDURES,
    SYNTHEA_ACR,
    SYNTHEA_CKD_STAGES,
    SYNTHEA_DIALYSIS,
    SYNTHEA_ESRD,
    SYNTHEA_RENAL_DYSPLASIA,
)

Scenario = Callable[[PatientBuilder], None]

NORMAL: dict[str, tuple[float, float]] = {
    "calcium": (8.8, 10.0),
    "phosphate": (2.8, 4.3),
    "albumin": (3.6, 4.8),
    "pth": (15, 60),
    "creatinine": (0.6, 1.1),
    "egfr": (75, 110),
    "vitamin-d-25": (20, 45),
    "alp": (40, 120),
    "ck": (40, 180),
}


def _labs(
    b: PatientBuilder, ranges: dict[str, tuple[float, float]], days_ago: int, keep: float = 0.8
) -> None:
    """One draw of each lab in ``ranges``; each is missing with probability 1 - keep."""
    for analyte, (low, high) in ranges.items():
        if b.rng.random() < keep:
            b.lab(analyte, round(b.rng.uniform(low, high), 2), days_ago)
    if b.rng.random() < 0.05 and "calcium" in ranges:  # a contradictory repeat on the same day
        b.lab("calcium", round(b.rng.uniform(8.0, 11.5), 2), days_ago)


def _background(b: PatientBuilder, problems: int, visits: int) -> None:
    for code, snomed in b.rng.sample(BACKGROUND_CONDITIONS, problems):
        chosen = snomed if (b.style in ("si", "synthea") and snomed) else code
        if b.style == "text" or (b.synthea and not snomed):
            b.condition(None, chosen.display, b.rng.randint(200, 4000))
        else:
            b.condition(None, chosen.display, b.rng.randint(200, 4000), code=chosen)
    for drug in b.rng.sample(BACKGROUND_DRUGS, b.rng.randint(0, 3)):
        b.medication(None, drug.display, b.rng.randint(30, 900), code=drug)
    for visit in range(visits):
        days_ago = 40 + visit * b.rng.randint(60, 200)
        for lab in b.rng.sample(BACKGROUND_LABS, b.rng.randint(3, 6)):
            value = round(b.rng.uniform(lab.low, lab.high), lab.decimals)
            b.observation(lab.code.coding(), lab.code.display, days_ago, value=value, unit=lab.unit)
    if b.rng.random() < 0.08:
        proc = b.rng.choice(BACKGROUND_PROCEDURES)
        b.procedure(None, proc.display, b.rng.randint(100, 3000), code=proc)


def unrelated(b: PatientBuilder) -> None:
    b.patient(b.rng.randint(18, 90), b.rng.choice(["female", "male"]))
    _background(b, b.rng.randint(0, 3), b.rng.randint(1, 4))


def _ctd(b: PatientBuilder, calcinosis: bool) -> None:
    kind = b.rng.choices(["lcssc", "ssc", "dm", "jdm", "sle"], weights=[3, 2, 2, 1, 2])[0]
    child = kind == "jdm"
    b.patient(
        b.rng.randint(6, 15) if child else b.rng.randint(30, 75), b.rng.choice(["female", "female", "male"])
    )
    _background(b, 0 if child else b.rng.randint(0, 2), b.rng.randint(1, 2))
    names = {
        "lcssc": ("limited-systemic-sclerosis", "Limited cutaneous systemic sclerosis"),
        "ssc": ("systemic-sclerosis", "Systemic sclerosis"),
        "dm": ("dermatomyositis", "Dermatomyositis"),
        "jdm": ("juvenile-dermatomyositis", "Juvenile dermatomyositis"),
        "sle": ("sle", "Systemic lupus erythematosus"),
    }
    concept, text = names[kind]
    b.condition(concept, text, b.rng.randint(700, 5000))
    b.qualitative("ana", "Positive", b.rng.randint(300, 1500))
    if kind in {"dm", "jdm"}:
        b.lab("ck", round(b.rng.uniform(60, 900)), b.rng.randint(20, 200))
        b.medication("corticosteroid", "prednisone", b.rng.randint(60, 800))
        if b.rng.random() < 0.5:
            b.medication("methotrexate", "methotrexate", b.rng.randint(60, 800))
    elif b.rng.random() < 0.4:
        b.medication("immunosuppressant", "mycophenolate mofetil", b.rng.randint(60, 800))
    _labs(b, NORMAL, b.rng.randint(10, 120), keep=0.7)
    if not calcinosis:
        return
    sites = {
        "lcssc": ("fingertips", "firm white nodules extruding chalky material"),
        "ssc": ("hands and forearms", "painful ulcerated nodules"),
        "dm": ("elbows and buttocks", "hard nodules, some inflamed"),
        "jdm": ("elbows, knees and trunk", "widespread sheet-like calcified plaques with contractures"),
        "sle": ("buttocks and thighs", "firm subcutaneous nodules"),
    }
    site, note = sites[kind]
    status = "resolved" if b.rng.random() < 0.03 else "active"
    b.condition(
        "calcinosis-cutis", "Calcinosis cutis", b.rng.randint(60, 900), site=site, note=note, status=status
    )
    if b.rng.random() < 0.3:
        b.medication("diltiazem", "diltiazem", b.rng.randint(30, 400))


def ctd_dystrophic(b: PatientBuilder) -> None:
    _ctd(b, calcinosis=True)


def ctd_only(b: PatientBuilder) -> None:
    _ctd(b, calcinosis=False)


def _kidney(b: PatientBuilder, dialysis: bool) -> None:
    if b.synthea:
        _kidney_synthea(b, dialysis)
        return
    if dialysis:
        b.condition("esrd", "End stage renal disease", b.rng.randint(400, 3000))
        if b.rng.random() < 0.5:
            b.condition("dialysis", "Dependence on renal dialysis", b.rng.randint(300, 2000))
        b.procedure("haemodialysis", "Hemodialysis", b.rng.randint(2, 30))
        b.tags |= {"esrd", "dialysis"}
    else:
        b.condition("ckd", "Chronic kidney disease", b.rng.randint(400, 3000))
        b.tags.add("ckd")


def _kidney_synthea(b: PatientBuilder, dialysis: bool) -> None:
    """Kidney disease and dialysis coded as Synthea's modules code them (and as other exports do)."""
    if not dialysis:
        stage = b.book.snomed(b.rng.choice(SYNTHEA_CKD_STAGES))
        b.condition(None, stage.display, b.rng.randint(400, 3000), code=stage)
        b.tags.add("ckd")
        return
    path = b.rng.choices(["esrd", "ckd4", "dysplasia", "dependence"], weights=[4, 3, 2, 2])[0]
    if path == "esrd":  # diabetic path: ESRD diagnosed, then dialysis
        esrd = b.book.snomed(SYNTHEA_ESRD)
        b.condition(None, esrd.display, b.rng.randint(400, 3000), code=esrd)
        b.tags.add("esrd")
    elif path == "ckd4":  # the dialysis module starts at CKD stage 4
        stage = b.book.snomed(SYNTHEA_CKD_STAGES[-1])
        b.condition(None, stage.display, b.rng.randint(400, 3000), code=stage)
        b.tags.add("ckd")
    elif (
        path == "dysplasia"
    ):  # ESRD reached without an ESRD Condition: dialysis is on record only as procedures
        b.condition(
            None, SYNTHEA_RENAL_DYSPLASIA.display, b.rng.randint(400, 3000), code=SYNTHEA_RENAL_DYSPLASIA
        )
        b.tags.add("dialysis-procedure-only")
    else:  # exports outside Synthea code dialysis dependence and CKD 5 on dialysis
        for code in (b.book.snomed("105502003"), b.book.snomed("714152005")):
            b.condition(None, code.display, b.rng.randint(300, 2000), code=code)
        b.tags.add("esrd")
    b.tags.add("dialysis")
    dialysis_code = b.book.snomed(SYNTHEA_DIALYSIS if path != "dependence" else "302497006")
    for _ in range(b.rng.randint(1, 4)):
        b.procedure(None, dialysis_code.display, b.rng.randint(2, 60), code=dialysis_code)
    if b.rng.random() < 0.5:  # the dialysis module's panel writes eGFR in mL/min: a unit the reader refuses
        egfr = b.book.lab_code("egfr", False)
        b.observation(
            egfr.coding(), egfr.display, b.rng.randint(2, 30), value=b.rng.randint(4, 29), unit="mL/min"
        )


def _synthea_extras(b: PatientBuilder, days_ago: int) -> None:
    """What a Synthea-style record adds around kidney disease: an ACR in mg/g and interpretation-only results."""
    if not b.synthea:
        return
    b.observation(SYNTHEA_ACR.coding(), SYNTHEA_ACR.display, days_ago, value=round(b.rng.uniform(5, 900), 1),
                  unit="mg/g")  # fmt: skip
    if b.rng.random() < 0.5:
        b.interpretation_only("calcium", b.rng.choice(["N", "N", "H", "L"]), days_ago)
    if b.rng.random() < 0.3:
        b.interpretation_only("pth", b.rng.choice(["N", "H"]), days_ago)


def _atrial_fibrillation(b: PatientBuilder) -> None:
    code = ATRIAL_FIBRILLATION_SNOMED if b.synthea else ATRIAL_FIBRILLATION
    b.condition(None, code.display, b.rng.randint(300, 2000), code=code)


def ckd_metastatic(b: PatientBuilder) -> None:
    b.patient(b.rng.randint(35, 85), b.rng.choice(["female", "male"]))
    _background(b, b.rng.randint(1, 3), 1)
    _kidney(b, dialysis=b.rng.random() < 0.7)
    _synthea_extras(b, b.rng.randint(5, 60))
    ranges = {
        "calcium": (9.8, 11.2),
        "phosphate": (6.5, 9.5),
        "pth": (400, 1100),
        "creatinine": (5.0, 9.0),
        "egfr": (5, 14),
        "albumin": (3.2, 4.0),
    }
    _labs(b, ranges, b.rng.randint(5, 60), keep=0.85)
    b.condition(
        "calcinosis-cutis",
        "Calcinosis cutis",
        b.rng.randint(30, 400),
        site="around the hips and shoulders",
        note="large periarticular masses, firm",
    )
    b.medication("calcium-supplement", "calcium carbonate 500 mg", b.rng.randint(60, 900))
    if b.rng.random() < 0.6:
        b.medication("active-vitamin-d", "calcitriol", b.rng.randint(60, 900))


def calciphylaxis(b: PatientBuilder) -> None:
    b.patient(b.rng.randint(45, 85), b.rng.choice(["female", "female", "male"]))
    _background(b, b.rng.randint(1, 2), 1)
    _kidney(b, dialysis=True)
    _synthea_extras(b, b.rng.randint(5, 60))
    _atrial_fibrillation(b)
    b.medication("warfarin", "warfarin 3 mg daily", b.rng.randint(100, 1500))
    b.condition(
        "calciphylaxis",
        "Calciphylaxis",
        b.rng.randint(5, 60),
        site="medial thighs and lower abdomen",
        note="exquisitely painful retiform purpura with necrotic ulcer and black eschar",
    )
    ranges = {
        "calcium": (8.8, 10.2),
        "phosphate": (5.5, 7.5),
        "pth": (300, 900),
        "albumin": (2.6, 3.3),
        "creatinine": (6.0, 10.0),
    }
    _labs(b, ranges, b.rng.randint(2, 20), keep=0.85)


def ckd_only(b: PatientBuilder) -> None:
    b.patient(b.rng.randint(40, 90), b.rng.choice(["female", "male"]))
    _background(b, b.rng.randint(1, 3), b.rng.randint(1, 3))
    on_dialysis = b.rng.random() < 0.25
    _kidney(b, dialysis=on_dialysis)
    _synthea_extras(b, b.rng.randint(10, 200))
    ranges = {"creatinine": (1.6, 3.5), "egfr": (18, 55), "phosphate": (3.5, 5.5), "calcium": (8.6, 9.8)}
    _labs(b, ranges, b.rng.randint(10, 200), keep=0.8)
    if b.rng.random() < 0.2:
        _atrial_fibrillation(b)
        b.medication("warfarin", "warfarin", b.rng.randint(100, 1500))


def iatrogenic(b: PatientBuilder) -> None:
    b.patient(b.rng.randint(0, 12), b.rng.choice(["female", "male"]))
    given = b.rng.randint(60, 200)
    if b.synthea:
        b.administration("calcium gluconate 100 MG/ML Injectable Solution", given, site="dorsum of left hand")
    b.procedure(None, "Calcium gluconate extravasation", given)
    b.condition(
        "calcinosis-cutis",
        "Calcinosis cutis",
        b.rng.randint(10, 50),
        site="dorsum of the left hand",
        note="firm white plaque at the site of calcium gluconate extravasation",
    )
    _labs(b, {k: NORMAL[k] for k in ("calcium", "phosphate", "albumin")}, b.rng.randint(5, 40), keep=0.7)


def idiopathic(b: PatientBuilder) -> None:
    b.patient(b.rng.randint(20, 60), "male")
    _background(b, b.rng.randint(0, 1), 1)
    b.condition(
        "calcinosis-cutis",
        "Calcinosis cutis",
        b.rng.randint(100, 1500),
        site="scrotum",
        note="multiple painless firm yellow-white nodules",
    )
    _labs(b, NORMAL, b.rng.randint(10, 100), keep=0.75)


def add_noise(b: PatientBuilder) -> None:
    """Contradictions and errors seen in real records, added to any patient now and then."""
    if b.rng.random() < 0.03:
        b.lab("calcium", round(b.rng.uniform(7.0, 12.0), 2), b.rng.randint(1, 30))
        b.resources["Observation"][-1]["status"] = "entered-in-error"
    if b.rng.random() < 0.02:
        icd, snomed = b.rng.choice(BACKGROUND_CONDITIONS)
        code = (snomed if b.synthea else icd) or None
        shown = (code or icd).display
        b.condition(None, shown, b.rng.randint(100, 900), code=code, verification="refuted")
    if b.rng.random() < 0.002:  # an old unit the reader does not accept: an input issue on that Observation
        b.lab("calcium", 9.4, b.rng.randint(1, 30), unit="mg%")


SCENARIOS: dict[str, tuple[Scenario, float]] = {
    "unrelated": (unrelated, 0.85),
    "ckd-only": (ckd_only, 0.05),
    "ctd-only": (ctd_only, 0.03),
    "ctd-dystrophic": (ctd_dystrophic, 0.03),
    "ckd-metastatic": (ckd_metastatic, 0.015),
    "calciphylaxis-dialysis-warfarin": (calciphylaxis, 0.01),
    "iatrogenic": (iatrogenic, 0.008),
    "idiopathic": (idiopathic, 0.007),
}
