"""Synthetic FHIR Bulk Data exports for tests, demos and benchmarks (``calcinosis synth``)."""

from calcinosis.synth.export import SynthSummary, generate_export

__all__ = ["SynthSummary", "generate_export"]
