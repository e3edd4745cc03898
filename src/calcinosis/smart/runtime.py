"""What the SMART routes share for the life of the app: settings, the client key and the session table."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from calcinosis.settings import Settings
from calcinosis.smart.keys import ClientKey, load_client_key
from calcinosis.smart.sessions import SessionTable

log = logging.getLogger("calcinosis.smart")


@dataclass
class SmartRuntime:
    client_id: str | None
    allowed_iss: tuple[str, ...]
    key: ClientKey | None
    sessions: SessionTable
    timeout_s: float
    max_pages: int

    @property
    def enabled(self) -> bool:
        return bool(self.client_id)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmartRuntime:
        """Load the client key when one is configured. Raises InputError for an unusable key file."""
        key = (
            load_client_key(settings.smart_private_key, settings.smart_key_id)
            if settings.smart_private_key
            else None
        )
        if settings.smart_client_id and settings.workers > 1:
            log.warning(
                "SMART launch sessions are kept per process: with %d workers a launch may fail",
                settings.workers,
            )
        return cls(
            client_id=settings.smart_client_id,
            allowed_iss=settings.smart_issuers,
            key=key,
            sessions=SessionTable(settings.smart_session_ttl_s),
            timeout_s=settings.smart_timeout_ms / 1000,
            max_pages=settings.smart_max_pages,
        )
