"""``{iss}/.well-known/smart-configuration``: where to authorize and where to ask for tokens.

Only an ``iss`` on the allow-list (``CALCINOSIS_SMART_ALLOWED_ISS``) is ever fetched; the endpoints it names
must be https (plain http only on loopback, for testing), and PKCE S256 must be on offer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from calcinosis.server.security import is_loopback
from calcinosis.smart.errors import EhrError, LaunchRefused


class SmartConfiguration(BaseModel):
    """The fields of the SMART configuration document this app uses (others are kept, unused)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    authorization_endpoint: str
    token_endpoint: str
    issuer: str | None = None
    jwks_uri: str | None = None
    capabilities: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    grant_types_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    token_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = ()
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()


def allowed_iss(iss: str | None, allowed: tuple[str, ...]) -> str:
    """The allow-listed form of ``iss``; raises LaunchRefused when it is missing or not on the list."""
    if not iss or not iss.strip():
        raise LaunchRefused("The launch did not say which EHR it came from (no `iss` parameter).", status=400)
    wanted = iss.strip().rstrip("/")
    if wanted not in allowed:
        raise LaunchRefused(
            "This EHR is not on the list of EHRs this service accepts launches from, so nothing was requested "
            "from it. If it should be, an administrator adds its FHIR base URL to CALCINOSIS_SMART_ALLOWED_ISS.",
            status=403,
        )
    return wanted


def safe_endpoint(url: str | None, what: str) -> str:
    """An endpoint the app may call: https, or http on a loopback host (a test EHR on this machine)."""
    if not url:
        raise EhrError(f"The EHR's SMART configuration has no {what}.")
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)):
        return url
    raise EhrError(f"The EHR's {what} is not an https URL, so the app will not use it.")


async def discover(http: httpx.AsyncClient, iss: str, timeout_s: float) -> SmartConfiguration:
    """Fetch and check the SMART configuration of an allow-listed ``iss``. Raises EhrError."""
    url = f"{iss}/.well-known/smart-configuration"
    try:
        response = await http.get(url, headers={"Accept": "application/json"}, timeout=timeout_s)
    except httpx.TimeoutException as exc:
        raise EhrError("The EHR did not answer in time when asked for its SMART configuration.") from exc
    except httpx.HTTPError as exc:
        raise EhrError(
            f"The EHR could not be reached for its SMART configuration ({type(exc).__name__})."
        ) from exc
    if response.status_code != 200:
        raise EhrError(f"The EHR answered {response.status_code} when asked for its SMART configuration.")
    try:
        config = SmartConfiguration.model_validate(orjson.loads(response.content))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise EhrError("The EHR's SMART configuration is not a valid configuration document.") from exc
    safe_endpoint(config.authorization_endpoint, "authorization endpoint")
    safe_endpoint(config.token_endpoint, "token endpoint")
    if "S256" not in config.code_challenge_methods_supported:
        raise EhrError(
            "The EHR does not offer PKCE with S256 (code_challenge_methods_supported), which this app requires."
        )
    return config
