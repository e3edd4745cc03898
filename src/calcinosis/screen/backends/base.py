"""The ScreenBackend contract: select the patients worth screening and hand their resources over, grouped.

A backend does the heavy part of a screen inside its engine: it reads every NDJSON line once with an
explicit schema, sets bad lines aside, picks the patients that carry a screening code, and streams each
picked patient's resources to Python as one group, ordered by patient id. Python never holds more than
one batch of groups at a time. Every backend must give the same groups, bad lines and counts for the
same export (tests/screen/test_engines.py checks this).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from calcinosis.screen.ndjson import RESOURCE_TYPES, ExportFiles
from calcinosis.screen.quarantine import BadLine
from calcinosis.screen.selection import Selection

# Order of resource types inside a patient's group (then by resource id, then by text).
TYPE_RANK: dict[str, int] = {t: i for i, t in enumerate(RESOURCE_TYPES)}


@dataclass(frozen=True)
class BackendSettings:
    """Resource limits and placement. ``memory_mb`` bounds the engine's own buffers (not the JVM's heap)."""

    threads: int = 2
    memory_mb: int = 384
    work_dir: Path | None = None
    spark_master: str = "local[*]"


@dataclass(frozen=True)
class PatientGroup:
    """One screened patient's resources as raw JSON lines, in TYPE_RANK / id order."""

    patient_id: str
    resources: tuple[bytes, ...]


@dataclass
class ScanCounts:
    """What the engine saw: lines read by resource type, patients in the export, patients picked."""

    resources_by_type: dict[str, int] = field(default_factory=dict)
    patients_in_export: int = 0
    patients_selected: int = 0
    resources_selected: int = 0

    @property
    def resources_read(self) -> int:
        return sum(self.resources_by_type.values())


class ScreenBackend(ABC):
    """Base of the engines that run the selection and grouping. Use as a context manager."""

    name: ClassVar[str]

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings

    def __enter__(self) -> ScreenBackend:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:  # noqa: B027 - optional hook
        """Start the engine (connections, sessions)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop the engine and drop its working files."""

    @abstractmethod
    def scan(self, export: ExportFiles, selection: Selection) -> ScanCounts:
        """Read the export, set bad lines aside and pick patients. Must run before the iterators."""

    @abstractmethod
    def bad_lines(self) -> Iterator[BadLine]:
        """Every line set aside by ``scan``, with its reason."""

    @abstractmethod
    def groups(self) -> Iterator[PatientGroup]:
        """The picked patients' resources, one group per patient, in patient id order."""
