"""HTTP service: REST API and CDS Hooks on one FastAPI app (see :func:`create_app`)."""

from calcinosis.api.app import create_app

__all__ = ["create_app"]
