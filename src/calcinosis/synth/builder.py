"""Build one synthetic patient's FHIR R4 resources (plain dicts, ready for NDJSON).

A builder knows the patient's id, the coding habits of the site the record comes from (ICD-10-CM and
US units, or SNOMED CT / WHO ICD-10 and SI units, or text only, or SNOMED CT the way Synthea writes it, with
the code's display as the text) and a reference date all dates count back from, so the same seed always
gives the same export.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from calcinosis.synth.codebook import INTERPRETATION, SNOMED, SYNTHEA_LABS, UCUM, Code, CodeBook

REFERENCE_DATE = date(2026, 1, 15)
CODING_STYLES: dict[str, tuple[str, ...]] = {
    "us": ("icd-10-cm", "snomed-ct", "rxnorm"),
    "si": ("snomed-ct", "icd-10", "icd-10-cm", "rxnorm"),
    "text": (),
    "synthea": ("snomed-ct", "rxnorm"),
}
INTRAVENOUS = Code(SNOMED, "47625008", "Intravenous route (qualifier value)")
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def day(days_ago: int) -> str:
    return (REFERENCE_DATE - timedelta(days=days_ago)).isoformat()


@dataclass
class PatientBuilder:
    rng: random.Random
    book: CodeBook
    patient_id: str
    style: str
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    _n: int = 0

    @property
    def si(self) -> bool:
        return self.style == "si"

    @property
    def synthea(self) -> bool:
        return self.style == "synthea"

    def _next_id(self, tag: str) -> str:
        self._n += 1
        return f"{self.patient_id}-{tag}{self._n:03d}"

    def _add(self, rtype: str, resource: dict[str, Any]) -> dict[str, Any]:
        self.resources.setdefault(rtype, []).append(resource)
        return resource

    def _subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.patient_id}"}

    def concept(self, concept: str | None, text: str) -> dict[str, Any]:
        """A CodeableConcept: codes from the project's code sets in the site's systems, plus text."""
        systems = CODING_STYLES[self.style]
        codes = self.book.codes_for(concept, systems) if concept and systems else ()
        cc: dict[str, Any] = {"text": text}
        if codes:
            chosen = self.rng.choice(codes)
            cc["coding"] = [chosen.coding()]
            if self.synthea:
                cc["text"] = chosen.display
        return cc

    def coded(self, code: Code) -> dict[str, Any]:
        """A CodeableConcept with one coding and, as Synthea writes it, the display as its text."""
        return {"coding": [code.coding()], "text": code.display}

    # ------------------------------------------------------------------ resources
    def patient(self, age: int, sex: str) -> None:
        born = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age) - timedelta(
            days=self.rng.randint(1, 360)
        )
        self._add(
            "Patient",
            {
                "resourceType": "Patient",
                "id": self.patient_id,
                "meta": {"lastUpdated": "2026-01-10T08:00:00Z"},
                "identifier": [
                    {"system": "urn:oid:2.16.840.1.113883.4.642.99", "value": self.patient_id.upper()}
                ],
                "name": [{"family": "Synthetic", "given": [f"Person {self.patient_id[-5:]}"]}],
                "gender": sex,
                "birthDate": born.isoformat(),
                "address": [{"city": "Springfield", "country": "US" if self.style == "us" else "GB"}],
            },
        )

    def condition(
        self,
        concept: str | None,
        text: str,
        days_ago: int,
        *,
        code: Code | None = None,
        status: str = "active",
        verification: str = "confirmed",
        site: str | None = None,
        note: str | None = None,
    ) -> None:
        cc = {"coding": [code.coding()], "text": text} if code else self.concept(concept, text)
        r: dict[str, Any] = {
            "resourceType": "Condition",
            "id": self._next_id("c"),
            "clinicalStatus": {"coding": [{"system": _CLINICAL, "code": status}]},
            "verificationStatus": {"coding": [{"system": _VERIFICATION, "code": verification}]},
            "category": [{"coding": [{"code": "problem-list-item"}]}],
            "code": cc,
            "subject": self._subject(),
            "onsetDateTime": day(days_ago),
            "recordedDate": day(max(days_ago - 3, 0)),
        }
        if site:
            r["bodySite"] = [{"text": site}]
        if note:
            r["note"] = [{"text": note}]
        self._add("Condition", r)

    def lab(self, analyte: str, us_value: float, days_ago: int, *, unit: str | None = None) -> None:
        """A lab from the code sets; ``us_value`` is in the engine's canonical unit (converted for SI)."""
        chosen = unit or self.book.lab_unit(analyte, self.si)
        value = us_value / self.book.factor(analyte, chosen)
        code = self.book.lab_code(analyte, self.si)
        if self.synthea and analyte in SYNTHEA_LABS:
            code = self.book.loinc(self.rng.choice(SYNTHEA_LABS[analyte]))
        self.observation(code.coding(), code.display, days_ago, value=round(value, 2), unit=chosen)

    def interpretation_only(self, analyte: str, interpretation: str, days_ago: int) -> None:
        """A result reported only as an interpretation (e.g. "N"), with no value."""
        code = self.book.lab_code(analyte, self.si)
        self.observation(code.coding(), code.display, days_ago)
        self.resources["Observation"][-1]["interpretation"] = [
            {"coding": [{"system": INTERPRETATION, "code": interpretation}]}
        ]

    def qualitative(self, analyte: str, answer: str, days_ago: int) -> None:
        code = self.book.lab_code(analyte, self.si)
        self.observation(code.coding(), code.display, days_ago, text_value=answer)

    def observation(
        self,
        coding: dict[str, str] | None,
        text: str,
        days_ago: int,
        *,
        value: float | None = None,
        unit: str | None = None,
        text_value: str | None = None,
        status: str = "final",
    ) -> None:
        r: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self._next_id("o"),
            "status": status,
            "category": [{"coding": [{"system": _OBS_CATEGORY, "code": "laboratory"}]}],
            "code": {"coding": [coding], "text": text} if coding else {"text": text},
            "subject": self._subject(),
            "effectiveDateTime": f"{day(days_ago)}T08:{self.rng.randint(0, 59):02d}:00Z",
            "issued": f"{day(days_ago)}T14:00:00Z",
        }
        if value is not None:
            quantity: dict[str, Any] = {"value": value}
            if unit is not None:
                quantity.update({"unit": unit, "system": UCUM, "code": unit})
            r["valueQuantity"] = quantity
        elif text_value is not None:
            r["valueString"] = text_value
        self._add("Observation", r)

    def medication(
        self,
        concept: str | None,
        text: str,
        days_ago: int,
        *,
        code: Code | None = None,
        status: str = "active",
    ) -> None:
        cc = {"coding": [code.coding()], "text": text} if code else self.concept(concept, text)
        if self.rng.random() < 0.6:
            self._add(
                "MedicationRequest",
                {
                    "resourceType": "MedicationRequest",
                    "id": self._next_id("m"),
                    "status": status,
                    "intent": "order",
                    "medicationCodeableConcept": cc,
                    "subject": self._subject(),
                    "authoredOn": day(days_ago),
                    "dosageInstruction": [{"text": "as directed"}],
                },
            )
        else:
            statement_status = {"stopped": "stopped", "completed": "completed"}.get(status, "active")
            self._add(
                "MedicationStatement",
                {
                    "resourceType": "MedicationStatement",
                    "id": self._next_id("s"),
                    "status": statement_status,
                    "medicationCodeableConcept": cc,
                    "subject": self._subject(),
                    "effectiveDateTime": day(days_ago),
                },
            )

    def administration(
        self, text: str, days_ago: int, *, site: str | None = None, status: str = "completed"
    ) -> None:
        """A MedicationAdministration given intravenously (route coded, with text), at a site if given."""
        dosage: dict[str, Any] = {"route": {"coding": [INTRAVENOUS.coding()], "text": "Intravenous"}}
        if site:
            dosage["site"] = {"text": site}
        self._add(
            "MedicationAdministration",
            {
                "resourceType": "MedicationAdministration",
                "id": self._next_id("a"),
                "status": status,
                "medicationCodeableConcept": {"text": text},
                "subject": self._subject(),
                "effectiveDateTime": f"{day(days_ago)}T10:30:00Z",
                "dosage": dosage,
            },
        )

    def procedure(
        self,
        concept: str | None,
        text: str,
        days_ago: int,
        *,
        code: Code | None = None,
        note: str | None = None,
    ) -> None:
        cc = {"coding": [code.coding()], "text": text} if code else self.concept(concept, text)
        r: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": self._next_id("p"),
            "status": "completed",
            "code": cc,
            "subject": self._subject(),
            "performedDateTime": day(days_ago),
        }
        if note:
            r["note"] = [{"text": note}]
        self._add("Procedure", r)
