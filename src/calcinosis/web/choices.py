"""What the assess form offers: vocabulary ids with the words shown, and US/SI units per lab.

These are input choices only (the ids come from ``patient/data/concepts.yaml`` and ``labs.yaml``; a test
checks every one against those files); what a choice means clinically is decided by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class LabField:
    analyte: str
    label: str
    us: str
    si: str | None = None
    step: str = "any"

    @property
    def units(self) -> tuple[str, ...]:
        return (self.us,) if self.si is None or self.si == self.us else (self.us, self.si)


CONDITIONS: tuple[Choice, ...] = (
    Choice("systemic-sclerosis", "Systemic sclerosis (diffuse or unspecified)"),
    Choice("limited-systemic-sclerosis", "Limited cutaneous systemic sclerosis"),
    Choice("dermatomyositis", "Dermatomyositis"),
    Choice("juvenile-dermatomyositis", "Juvenile dermatomyositis"),
    Choice("sle", "Systemic lupus erythematosus"),
    Choice("lupus-panniculitis", "Lupus panniculitis"),
    Choice("mctd", "Mixed connective tissue disease"),
    Choice("overlap-ctd", "Overlap or undifferentiated connective tissue disease"),
    Choice("morphoea", "Morphoea"),
    Choice("ckd", "Chronic kidney disease"),
    Choice("esrd", "End-stage kidney disease"),
    Choice("aki", "Acute kidney injury"),
    Choice("kidney-transplant", "Kidney transplant"),
    Choice("liver-transplant", "Liver transplant"),
    Choice("primary-hyperparathyroidism", "Primary hyperparathyroidism"),
    Choice("hyperparathyroidism", "Secondary or tertiary hyperparathyroidism"),
    Choice("hypervitaminosis-d", "Hypervitaminosis D"),
    Choice("sarcoidosis", "Sarcoidosis"),
    Choice("milk-alkali-syndrome", "Milk-alkali syndrome"),
    Choice("multiple-myeloma", "Multiple myeloma"),
    Choice("haematological-malignancy", "Other haematological malignancy"),
    Choice("down-syndrome", "Down syndrome"),
    Choice("hyperphosphataemic-tumoral-calcinosis", "Hyperphosphataemic familial tumoral calcinosis"),
    Choice("calciphylaxis", "Calciphylaxis (diagnosed)"),
)

HISTORY: tuple[Choice, ...] = (
    Choice("haemodialysis", "Haemodialysis"),
    Choice("peritoneal-dialysis", "Peritoneal dialysis"),
    Choice("parathyroidectomy", "Parathyroidectomy"),
    Choice("iv-calcium-extravasation", "Intravenous calcium extravasation"),
    Choice("iv-phosphate", "Intravenous phosphate"),
    Choice("heel-sticks", "Heel sticks"),
    Choice("electrode-paste", "Electrode paste (EEG/EMG)"),
    Choice("calcium-alginate-dressing", "Calcium alginate dressing"),
    Choice("local-injury-event", "Trauma, burn, scar or injection at the site"),
    Choice("skin-biopsy", "Skin biopsy done"),
    Choice("biopsy-calcification", "Biopsy showed calcium deposits"),
    Choice("biopsy-arteriolar-calcification", "Biopsy showed arteriolar calcification"),
    Choice("radiograph", "Radiograph of the affected region done"),
)

LABS: tuple[LabField, ...] = (
    LabField("calcium", "Calcium (total)", "mg/dL", "mmol/L"),
    LabField("ionized-calcium", "Ionised calcium", "mg/dL", "mmol/L"),
    LabField("albumin", "Albumin", "g/dL", "g/L"),
    LabField("phosphate", "Phosphate", "mg/dL", "mmol/L"),
    LabField("pth", "Parathyroid hormone (intact)", "pg/mL", "pmol/L"),
    LabField("vitamin-d-25", "25-hydroxyvitamin D", "ng/mL", "nmol/L"),
    LabField("creatinine", "Creatinine", "mg/dL", "umol/L"),
    LabField("egfr", "eGFR", "mL/min/1.73m2"),
    LabField("urea", "Urea nitrogen / urea", "mg/dL", "mmol/L"),
    LabField("alp", "Alkaline phosphatase", "U/L"),
    LabField("ck", "Creatine kinase", "U/L"),
    LabField("crp", "C-reactive protein", "mg/dL", "mg/L"),
)

QUALITATIVE: tuple[Choice, ...] = (
    Choice("ana", "Antinuclear antibodies (ANA)"),
    Choice("ssc-antibodies", "Systemic sclerosis antibodies"),
    Choice("myositis-antibodies", "Myositis-specific antibodies"),
    Choice("cbc", "Full blood count"),
    Choice("spep", "Serum protein electrophoresis"),
)

QUALITATIVE_RESULTS: tuple[Choice, ...] = (
    Choice("", "Not done / not known"),
    Choice("NEG", "Negative / normal"),
    Choice("POS", "Positive / abnormal"),
)

# Feature words are synonyms in lesion-terms.yaml (a test checks each maps to the feature named).
FEATURES: tuple[tuple[str, Choice], ...] = (
    ("painful", Choice("painful", "Painful")),
    ("ulcerated", Choice("ulcerated", "Ulcerated")),
    ("discharging", Choice("chalky discharge", "Chalky discharge")),
    ("inflamed", Choice("inflamed", "Inflamed (red, warm)")),
    ("infected", Choice("infected", "Infected")),
    ("retiform-purpura", Choice("retiform purpura", "Retiform purpura")),
    ("livedo", Choice("livedo", "Livedo")),
    ("necrotic", Choice("necrotic", "Necrotic / eschar")),
    ("indurated", Choice("indurated", "Indurated plaque")),
    ("milia-like", Choice("milia-like", "Milia-like papules")),
    ("widespread", Choice("widespread", "Widespread")),
    ("periarticular-mass", Choice("periarticular mass", "Periarticular mass")),
    ("functional-loss", Choice("loss of function", "Loss of function / contracture")),
    ("spreading", Choice("new lesions", "New or enlarging lesions")),
)

SEXES: tuple[Choice, ...] = (
    Choice("unknown", "Not recorded"),
    Choice("female", "Female"),
    Choice("male", "Male"),
    Choice("other", "Other"),
)

PREGNANCY: tuple[Choice, ...] = (
    Choice("", "Not known"),
    Choice("no", "Not pregnant"),
    Choice("yes", "Pregnant"),
)

LESION_SLOTS = 3
