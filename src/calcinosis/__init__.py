"""calcinosis-cds: clinical decision support for calcinosis cutis."""

__version__ = "0.1.0"
