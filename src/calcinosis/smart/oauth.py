"""The OAuth 2.0 / OpenID Connect mechanics, by Authlib: the authorization URL with PKCE S256, the token
request (public client, or ``private_key_jwt`` signed RS384/ES384), token expiry and refresh, and the
``id_token`` check. Nothing here builds a protocol message by hand.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
from authlib.common.security import generate_token
from authlib.oauth2.client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from calcinosis.smart.discovery import SmartConfiguration, safe_endpoint
from calcinosis.smart.errors import EhrError
from calcinosis.smart.keys import ClientKey

with warnings.catch_warnings():  # Authlib prefers the httpx2 fork and says so once at import
    warnings.simplefilter("ignore")
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

ASSERTION_LIFETIME_S = 300  # SMART: a client assertion expires no more than five minutes ahead
TOKEN_LEEWAY_S = 5  # an access token this close to expiry is refreshed (or reported expired) first
TokenUpdate = Callable[..., Awaitable[None]]


class SmartPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """Authlib's ``private_key_jwt`` with a fresh ``jti``, the key's ``kid`` and ``typ: JWT`` in the header,
    and a lifetime of at most five minutes, as the SMART asymmetric client profile asks."""

    def __init__(self, key: ClientKey) -> None:
        super().__init__(alg=key.alg)
        self.kid = key.kid

    def sign(self, auth: Any, token_endpoint: str) -> str:
        signed: str = private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            claims={},
            header={"kid": self.kid, "typ": "JWT"},
            expires_in=ASSERTION_LIFETIME_S,
        )
        return signed


def authorization_url(
    config: SmartConfiguration,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    aud: str,
    launch: str | None,
) -> tuple[str, str, str]:
    """The URL to send the browser to, the ``state`` and the PKCE ``code_verifier`` (kept server-side)."""
    verifier = generate_token(64)  # 64 unreserved characters (RFC 7636 allows 43-128)
    client = OAuth2Client(
        None,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=" ".join(scopes),
        code_challenge_method="S256",
    )
    extra = {"aud": aud, **({"launch": launch} if launch else {})}
    url, state = client.create_authorization_url(
        config.authorization_endpoint, state=generate_token(43), code_verifier=verifier, **extra
    )
    return str(url), str(state), verifier


def oauth_client(
    config: SmartConfiguration,
    *,
    client_id: str,
    key: ClientKey | None,
    timeout_s: float,
    redirect_uri: str | None = None,
    token: dict[str, Any] | None = None,
    update_token: TokenUpdate | None = None,
) -> AsyncOAuth2Client:
    """An Authlib client for this EHR: token requests and bearer-authorised FHIR reads (refreshing the access
    token when it has expired and a refresh token was given)."""
    client = AsyncOAuth2Client(
        client_id=client_id,
        client_secret=key.key if key else None,
        token_endpoint_auth_method="private_key_jwt" if key else "none",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token=token,
        update_token=update_token,
        token_endpoint=config.token_endpoint,
        leeway=TOKEN_LEEWAY_S,
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,
    )
    if key is not None:
        client.register_client_auth_method(SmartPrivateKeyJWT(key))
    return client


async def exchange_code(
    config: SmartConfiguration,
    *,
    client_id: str,
    key: ClientKey | None,
    redirect_uri: str,
    code: str,
    verifier: str,
    timeout_s: float,
) -> dict[str, Any]:
    """Trade the authorization code (and the PKCE verifier) for tokens. Raises EhrError."""
    async with oauth_client(
        config, client_id=client_id, key=key, timeout_s=timeout_s, redirect_uri=redirect_uri
    ) as client:
        try:
            token = await client.fetch_token(
                config.token_endpoint, grant_type="authorization_code", code=code, code_verifier=verifier
            )
        except OAuthError as exc:
            detail = f" ({exc.description})" if exc.description else ""
            raise EhrError(f"The EHR refused to issue a token: {exc.error}{detail}.") from exc
        except httpx.TimeoutException as exc:
            raise EhrError("The EHR did not answer the token request in time.") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise EhrError(f"The EHR's token endpoint could not be used ({type(exc).__name__}).") from exc
    out = dict(token)
    if not out.get("access_token") or str(out.get("token_type", "")).lower() != "bearer":
        raise EhrError("The EHR's token response has no bearer access token.")
    return out


async def verify_id_token(
    http: httpx.AsyncClient, config: SmartConfiguration, id_token: str, client_id: str, timeout_s: float
) -> dict[str, Any]:
    """The claims of the EHR's ``id_token``, its signature checked against the EHR's JWKS and its ``iss``,
    ``aud`` and expiry checked. Raises EhrError."""
    if not config.issuer or not config.jwks_uri:
        raise EhrError("The EHR sent an id_token but publishes no issuer and JWKS to check it against.")
    url = safe_endpoint(config.jwks_uri, "JWKS URL")
    try:
        response = await http.get(url, headers={"Accept": "application/json"}, timeout=timeout_s)
        response.raise_for_status()
        keys = KeySet.import_key_set(orjson.loads(response.content))
    except (httpx.HTTPError, orjson.JSONDecodeError, JoseError, ValueError, TypeError) as exc:
        raise EhrError(f"The EHR's signing keys could not be read ({type(exc).__name__}).") from exc
    algorithms = list(config.id_token_signing_alg_values_supported or ("RS256",))
    options = {
        "iss": {"essential": True, "values": [config.issuer]},
        "aud": {"essential": True, "values": [client_id]},
    }
    try:
        token = jwt.decode(id_token, keys, algorithms=algorithms)
        claims = CodeIDToken(token.claims, token.header, options, {"client_id": client_id})
        claims.validate(leeway=60)
    except (JoseError, ValueError) as exc:
        raise EhrError(f"The EHR's identity token did not verify ({type(exc).__name__}).") from exc
    return dict(claims)


__all__ = ["AsyncOAuth2Client", "OAuthError", "authorization_url", "exchange_code", "oauth_client"]
