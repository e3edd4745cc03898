"""Population screening over FHIR Bulk Data exports (``calcinosis screen``).

An engine backend (DuckDB by default, Spark optionally) reads the NDJSON files, sets bad lines aside and
picks the patients worth assessing; each picked patient then goes through the same FHIR reader and engine
as ``calcinosis assess``.
"""

from calcinosis.screen.pipeline import ScreenOptions, ScreenResult, run_screen

__all__ = ["ScreenOptions", "ScreenResult", "run_screen"]
