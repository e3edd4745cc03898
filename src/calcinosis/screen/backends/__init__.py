"""Engines that run a screen's selection and grouping, by name: ``duckdb`` (default) and ``spark``.

Classes are imported only when asked for, so the Spark extra is needed only to use Spark.
"""

from __future__ import annotations

import importlib

from calcinosis.errors import InputError
from calcinosis.screen.backends.base import BackendSettings, PatientGroup, ScanCounts, ScreenBackend

BACKENDS: dict[str, str] = {
    "duckdb": "calcinosis.screen.backends.duckdb:DuckDBBackend",
    "spark": "calcinosis.screen.backends.spark:SparkBackend",
}
DEFAULT_BACKEND = "duckdb"

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "BackendSettings",
    "PatientGroup",
    "ScanCounts",
    "ScreenBackend",
    "get_backend",
]


def get_backend(name: str) -> type[ScreenBackend]:
    """The backend class registered under ``name``. Raises InputError for an unknown or unusable engine."""
    target = BACKENDS.get(name)
    if target is None:
        raise InputError(f"--engine: unknown engine '{name}' (choose from {', '.join(sorted(BACKENDS))})")
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(
            f"--engine {name}: not installed ({exc.name or exc}); "
            f"install the extra: pip install 'calcinosis-cds[{name}]'"
        ) from exc
    backend: type[ScreenBackend] = getattr(module, class_name)
    return backend
