"""Human-readable renderings of an Assessment and of the evidence ladder (text, markdown)."""
