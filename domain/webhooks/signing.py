"""Webhook secrets and signatures.

A secret is `whsec_` + 32 random bytes (base64url), shown once at creation and on rotation. It is
kept AES-GCM sealed under a key derived (HKDF-SHA256) from SEATLEASE_SECRET_KEY: the worker must
sign with it, so a hash would not do; a database dump alone does not reveal it, and nothing logs it.

The signature is Stripe's scheme: `Seatlease-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256(secret, f"{t}.{raw body}"). During a rotation's overlap the old secret signs too (a second
`v1=`), so a receiver still holding the old secret keeps verifying. README "Webhooks" has the
receiver's recipe; `verify` here is that recipe (the tests' receiver carries its own copy).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SIGNATURE_HEADER = "Seatlease-Signature"
EVENT_ID_HEADER = "Seatlease-Event-Id"
EVENT_TYPE_HEADER = "Seatlease-Event-Type"
DEFAULT_TOLERANCE_SECONDS = 300

_NONCE = 12


def _aead(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"seatlease-webhook-secrets", info=b"aes-gcm-v1").derive(
        secret_key.encode()
    )
    return AESGCM(key)


def new_secret() -> str:
    return "whsec_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def seal(secret_key: str, secret: str, *, endpoint_id: str) -> bytes:
    """The secret encrypted and bound to its endpoint (the id is the associated data: a sealed
    secret copied onto another endpoint's row does not open)."""
    nonce = os.urandom(_NONCE)
    return nonce + _aead(secret_key).encrypt(nonce, secret.encode(), endpoint_id.encode())


def unseal(secret_key: str, token: bytes, *, endpoint_id: str) -> str | None:
    """None when the server's key changed since (the endpoint needs a new secret: rotate it)."""
    try:
        return _aead(secret_key).decrypt(token[:_NONCE], token[_NONCE:], endpoint_id.encode()).decode()
    except (InvalidTag, ValueError):
        return None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets_: list[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets_)])


def verify(
    secret: str, header: str, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """The receiver's check: a `v1` matches the raw body under our secret, and `t` is within the tolerance."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    ts = [v for k, v in parts if k.strip() == "t"]
    if len(ts) != 1 or not ts[0].strip().isdigit():
        return False
    t = int(ts[0])
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = signature(secret, t, body)
    return any(hmac.compare_digest(expected, v.strip()) for k, v in parts if k.strip() == "v1")
