"""Signing keys and tokens as an EHR would make them (PyJWT), plus a few deliberately bad ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    @classmethod
    def ec(cls, kid: str = "ehr-es384") -> SigningKey:
        return cls(kid, "ES384", ec.generate_private_key(ec.SECP384R1()))

    @classmethod
    def rsa(cls, kid: str = "ehr-rs384") -> SigningKey:
        return cls(kid, "RS384", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def public_jwk(self) -> dict[str, Any]:
        algo = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        jwk: dict[str, Any] = orjson.loads(algo.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def private_jwk(self) -> dict[str, Any]:
        algo = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        jwk: dict[str, Any] = orjson.loads(algo.to_jwk(self.private))
        return {**jwk, "kid": self.kid, "alg": self.alg}

    def token(
        self,
        iss: str,
        aud: str,
        *,
        lifetime: int = 300,
        iat: int | None = None,
        jti: str | None = None,
        headers: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        now = int(time.time()) if iat is None else iat
        payload = {
            "iss": iss,
            "aud": aud,
            "iat": now,
            "exp": now + lifetime,
            "jti": jti or str(uuid.uuid4()),
            **claims,
        }
        for claim in drop:
            payload.pop(claim, None)
        head = {"kid": self.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(payload, self.private, algorithm=self.alg, headers=head)


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(iss: str, aud: str, kid: str) -> str:
    """``alg: none``: header and claims with an empty signature."""
    now = int(time.time())
    head = {"alg": "none", "typ": "JWT", "kid": kid}
    body = {"iss": iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return f"{_b64(orjson.dumps(head))}.{_b64(orjson.dumps(body))}."


def hs256_token(iss: str, aud: str, kid: str, secret: bytes) -> str:
    """Symmetric (HMAC) signing with the public key as the secret: the classic algorithm confusion attack
    (made by hand, since PyJWT itself refuses to sign with a PEM key)."""
    now = int(time.time())
    head = {"alg": "HS256", "typ": "JWT", "kid": kid}
    body = {"iss": iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    signing_input = f"{_b64(orjson.dumps(head))}.{_b64(orjson.dumps(body))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def forged(token: str) -> str:
    """The same header and claims with the signature of another message."""
    head, body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[0] ^= 0xFF
    return f"{head}.{body}.{_b64(bytes(raw))}"
