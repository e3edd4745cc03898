"""Moved to :mod:`calcinosis.server.state` (the state and dependencies every route and page declares);
kept here so that ``from calcinosis.api.deps import StateDep`` in the API's own routes keeps working."""

from calcinosis.server.state import (
    AppState,
    CallerDep,
    StateDep,
    base_url,
    endpoint_url,
    get_state,
    require_caller,
)

__all__ = ["AppState", "CallerDep", "StateDep", "base_url", "endpoint_url", "get_state", "require_caller"]
