"""The results of a screen: ``assessments.ndjson``, ``assessments.parquet`` and the counts for the report.

Lines are written as they come (nothing is held); the table rows go to a work file that DuckDB turns into
Parquet with an explicit schema at the end, whichever engine did the selection.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import duckdb
import orjson

from calcinosis.screen.assessing import PatientResult

PARQUET_COLUMNS: dict[str, str] = {
    "patient_id": "VARCHAR",
    "resources": "INTEGER",
    "subtype": "VARCHAR",
    "subtype_variant": "VARCHAR",
    "subtype_confidence": "VARCHAR",
    "subtype_alternatives": "VARCHAR[]",
    "workup_missing": "VARCHAR[]",
    "workup_abnormal": "VARCHAR[]",
    "therapies_recommended": "VARCHAR[]",
    "therapies_consider": "VARCHAR[]",
    "therapies_caution": "VARCHAR[]",
    "therapies_avoid": "VARCHAR[]",
    "top_therapy": "VARCHAR",
    "alerts": "VARCHAR[]",
    "alerts_critical": "INTEGER",
    "input_issues": "INTEGER",
    "lesion_facts": "INTEGER",
    "calcinosis_recorded": "BOOLEAN",
    "risks": "VARCHAR[]",
}


@dataclass
class Tally:
    """Counts of patients by subtype, missing work-up item, therapy stance and alert."""

    assessed: int = 0
    subtypes: Counter[str] = field(default_factory=Counter)
    confidence: Counter[str] = field(default_factory=Counter)
    workup_missing: Counter[str] = field(default_factory=Counter)
    top_therapy: Counter[str] = field(default_factory=Counter)
    recommended: Counter[str] = field(default_factory=Counter)
    avoid: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    critical_patients: int = 0
    with_lesion: int = 0
    at_risk_no_calcinosis: int = 0
    risks: Counter[str] = field(default_factory=Counter)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def with_calcinosis(self) -> int:
        return self.assessed - self.at_risk_no_calcinosis

    def add(self, row: dict[str, Any], labels: dict[str, str]) -> None:
        self.assessed += 1
        if not row["calcinosis_recorded"]:
            # At risk, no calcinosis recorded: counted apart from the assessed cases (no subtype is called).
            self.at_risk_no_calcinosis += 1
            self.risks.update(row["risks"])
        else:
            variant = row["subtype_variant"]
            self.subtypes[row["subtype"] + (f" ({variant})" if variant else "")] += 1
            self.confidence[row["subtype_confidence"]] += 1
        self.workup_missing.update(row["workup_missing"])
        if row["top_therapy"]:
            self.top_therapy[row["top_therapy"]] += 1
        self.recommended.update(row["therapies_recommended"])
        self.avoid.update(row["therapies_avoid"])
        self.alerts.update(row["alerts"])
        self.critical_patients += 1 if row["alerts_critical"] else 0
        self.with_lesion += 1 if row["lesion_facts"] else 0
        for key, text in labels.items():
            self.labels.setdefault(key, text)

    def label(self, kind: str, key: str) -> str:
        return self.labels.get(f"{kind}:{key}", key)


class ResultWriter:
    """Writes assessment lines and table rows; ``finish`` converts the rows to Parquet."""

    def __init__(self, out_dir: Path, work_dir: Path) -> None:
        self.out_dir = out_dir
        self.assessments_path = out_dir / "assessments.ndjson"
        self.parquet_path = out_dir / "assessments.parquet"
        self._rows_path = work_dir / "rows.ndjson"
        self._lines: IO[bytes] = self.assessments_path.open("wb")
        self._rows: IO[bytes] = self._rows_path.open("wb")
        self.tally = Tally()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def add(self, result: PatientResult) -> None:
        if result.line is None or result.row is None:
            raise ValueError("ResultWriter.add: result holds no assessment")
        self._lines.write(result.line + b"\n")
        self._rows.write(orjson.dumps(result.row) + b"\n")
        self.tally.add(result.row, result.labels)

    def close(self) -> None:
        self._lines.close()
        self._rows.close()

    def finish(self, threads: int, memory_mb: int) -> None:
        """Close the files and write ``assessments.parquet`` from the rows (an empty table if none)."""
        self.close()
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in PARQUET_COLUMNS.items()) + "}"
        rows = str(self._rows_path).replace("'", "''")
        target = str(self.parquet_path).replace("'", "''")
        with duckdb.connect(":memory:") as con:
            con.execute(f"SET threads = {int(threads)}")
            con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
            if self.tally.assessed:
                source = f"SELECT * FROM read_ndjson('{rows}', columns = {columns}) ORDER BY patient_id"  # noqa: S608
            else:
                source = (
                    "SELECT "
                    + ", ".join(f"NULL::{v} AS {k}" for k, v in PARQUET_COLUMNS.items())
                    + " LIMIT 0"
                )
            con.execute(f"COPY ({source}) TO '{target}' (FORMAT parquet)")
