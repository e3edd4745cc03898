"""The confidential client's signing key (``CALCINOSIS_SMART_PRIVATE_KEY``) and its public JWKS.

The key file holds a PEM private key or a private JWK: RSA (2048 bits or more) signs RS384, EC on P-384
signs ES384, the two algorithms SMART asks every client to support. The public half is served at
``/.well-known/jwks.json`` for the EHR to register as the app's JWKS URL.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, RSAKey, import_key

from calcinosis.errors import InputError


@dataclass(frozen=True)
class ClientKey:
    key: RSAKey | ECKey
    kid: str
    alg: str

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = dict(self.key.as_dict(private=False))
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig", "key_ops": ["verify"]}


def _key_type(data: Any) -> Literal["RSA", "EC"]:
    if isinstance(data, dict):
        kty = data.get("kty")
    else:
        private = serialization.load_pem_private_key(data, password=None)
        kty = (
            "RSA"
            if isinstance(private, rsa.RSAPrivateKey)
            else "EC"
            if isinstance(private, ec.EllipticCurvePrivateKey)
            else None
        )
    if kty not in ("RSA", "EC"):
        raise ValueError("not an RSA or EC key")
    return "RSA" if kty == "RSA" else "EC"


def load_client_key(path: Path, kid: str | None = None) -> ClientKey:
    """Read the private key. Raises InputError naming the setting (never the key material)."""
    where = f"CALCINOSIS_SMART_PRIVATE_KEY {path}"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({type(exc).__name__})") from exc
    try:
        data: Any = orjson.loads(raw) if raw.lstrip().startswith(b"{") else raw
        with warnings.catch_warnings():  # a weak key gets our own one-line refusal below
            warnings.simplefilter("ignore", SecurityWarning)
            key = import_key(data, _key_type(data))
    except (orjson.JSONDecodeError, JoseError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{where}: not a PEM private key or a private JWK (RSA or EC)") from exc
    if not key.is_private:
        raise InputError(f"{where}: holds a public key; the private key is needed to sign")
    if isinstance(key, RSAKey):
        if key.raw_value.key_size < 2048:
            raise InputError(f"{where}: RSA keys must have at least 2048 bits")
        alg = "RS384"
    elif isinstance(key, ECKey) and key.curve_name == "P-384":
        alg = "ES384"
    else:
        raise InputError(f"{where}: use an RSA key (RS384) or an EC key on P-384 (ES384)")
    jwk_kid = key.kid if isinstance(data, dict) else None
    return ClientKey(key, kid or jwk_kid or key.thumbprint(), alg)
