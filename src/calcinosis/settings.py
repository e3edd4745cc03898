"""Service settings: a pydantic-settings class built by :func:`load_settings`, never at import time.

Every field can be set from the environment with the ``CALCINOSIS_`` prefix, e.g.
``CALCINOSIS_DATABASE_URL=postgresql://user@127.0.0.1:5432/calcinosis`` or
``CALCINOSIS_TRUSTED_ISSUERS='{"https://ehr.example.org": "https://ehr.example.org/jwks.json"}'``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from calcinosis.errors import InputError


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "calcinosis-cds"


class Settings(BaseSettings):
    """Validated service configuration."""

    model_config = SettingsConfigDict(env_prefix="CALCINOSIS_", extra="forbid", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="postgresql://… for PostgreSQL; sqlite:///path or None for the embedded SQLite store.",
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Where the SQLite store lives.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="Server processes.")
    engine_processes: int = Field(
        default=0, ge=0, le=64, description="Assess in this many processes (0: in a thread of the server)."
    )
    graceful_timeout_s: int = Field(
        default=10, ge=0, le=600, description="On SIGTERM, requests still running after this are cancelled."
    )
    demo: bool = Field(default=False, description="Serve the example patients for demonstration.")
    public_base_url: str | None = Field(
        default=None,
        description="External base URL (behind a proxy); JWT `aud` is checked against it. "
        "Default: the URL the request arrived on.",
    )
    cors_origins: tuple[str, ...] = Field(
        default=(), description="Browser origins allowed to call (e.g. a CDS Hooks sandbox); none by default."
    )
    trusted_issuers: dict[str, str] = Field(
        default_factory=dict, description="JWT issuer -> JWKS URL or JWKS file path (the allow-list)."
    )
    allowed_jku: tuple[str, ...] = Field(
        default=(), description="JWKS URLs a token's `jku` header may name (besides the issuers' own)."
    )
    time_budget_ms: int = Field(default=1500, ge=50, le=5000, description="Per-request CDS Hooks budget.")
    fhir_timeout_ms: int = Field(default=1000, ge=10, le=5000, description="One FHIR fetch at most.")
    fhir_max_pages: int = Field(default=5, ge=1, le=50)
    card_cache_size: int = Field(
        default=256, ge=0, description="Repeat calls served from this many cached results."
    )
    max_body_bytes: int = Field(default=2_000_000, ge=1024, description="Larger request bodies get 413.")
    max_json_depth: int = Field(
        default=64, ge=8, le=200, description="Deepest nesting of JSON arrays and objects accepted."
    )
    max_resources: int = Field(default=5000, ge=1, description="FHIR resources in one request (all places).")
    max_list_items: int = Field(default=1000, ge=1, description="Items in one list of a native case.")
    max_text_chars: int = Field(
        default=10_000,
        ge=100,
        description="Characters in one JSON string (FHIR narrative and attachments excepted).",
    )
    store_timeout_ms: int = Field(
        default=2000, ge=100, le=60_000, description="Longest wait for a database connection (then 503)."
    )
    jwks_min_refresh_s: float = Field(default=60.0, ge=0)
    max_token_lifetime_s: int = Field(default=3600, ge=1, description="Longest JWT lifetime accepted.")
    clock_skew_s: int = Field(default=60, ge=0, le=600)
    funding_source: str = Field(
        default="No funding source declared by the publisher",
        description="HTI-1 source attribute: funding of the technical implementation.",
    )
    patient_page_path: str = Field(
        default="/patients/{patient_id}", description="App page linked from cards ({patient_id} filled in)."
    )
    patient_pages_open: bool = Field(
        default=False, description="Serve /patients/{id} to any client, not only loopback ones."
    )
    """Patient pages show a patient's latest assessment and have no login of their own, so by default they
    are served to loopback clients only. Set this only when the service sits behind the site's login."""
    # SMART App Launch (docs/smart.md); off until a client id is set.
    smart_client_id: str | None = Field(
        default=None, description="client_id the EHR registered the app under."
    )
    smart_allowed_iss: str = Field(
        default="",
        description="Comma-separated EHR FHIR base URLs a launch may name as `iss` (the allow-list).",
    )
    smart_private_key: Path | None = Field(
        default=None,
        description="Confidential client: PEM or JWK file with the RSA or P-384 EC private key (private_key_jwt).",
    )
    smart_key_id: str | None = Field(
        default=None, description="`kid` of that key (default: its RFC 7638 thumbprint)."
    )
    smart_session_ttl_s: int = Field(
        default=3600, ge=60, le=86400, description="A launch session's lifetime."
    )
    smart_timeout_ms: int = Field(
        default=5000, ge=100, le=60000, description="One request to the EHR at most."
    )
    smart_max_pages: int = Field(default=20, ge=1, le=200, description="Search result pages read per query.")

    @field_validator("trusted_issuers")
    @classmethod
    def _issuers(cls, value: dict[str, str]) -> dict[str, str]:
        for iss, where in value.items():
            if not iss.strip() or not where.strip():
                raise ValueError("each trusted issuer needs ISS=JWKS_URL_OR_FILE")
        return value

    @field_validator("smart_allowed_iss")
    @classmethod
    def _smart_iss(cls, value: str) -> str:
        urls = [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
        for url in urls:
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"'{url}' is not an http(s) URL")
        return ",".join(urls)

    @field_validator("public_base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def sqlite_path(self) -> Path:
        url = self.database_url or ""
        if url.startswith("sqlite:///"):
            return Path(url.removeprefix("sqlite:///"))
        return self.data_dir / "calcinosis.db"

    @property
    def smart_issuers(self) -> tuple[str, ...]:
        """The EHR FHIR base URLs a SMART launch may come from (no trailing slash)."""
        return tuple(u for u in self.smart_allowed_iss.split(",") if u)

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url) and str(self.database_url).startswith(("postgresql://", "postgres://"))


def parse_issuer_options(values: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``ISS=JWKS_URL_OR_FILE`` command-line values -> mapping (split at the first '=')."""
    out: dict[str, str] = {}
    for raw in values:
        iss, sep, where = raw.partition("=")
        if not sep or not iss or not where:
            raise InputError(f"--trusted-issuer {raw!r}: expected ISS=JWKS_URL_OR_FILE")
        out[iss] = where
    return out


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that rebuilds these settings in another process (uvicorn workers)."""
    out: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        out[f"CALCINOSIS_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return out


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides winning. Raises InputError."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(settings)"
        raise InputError(f"settings: {loc}: {err['msg']}") from exc
