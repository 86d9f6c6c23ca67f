"""Credential secrets: generated here, kept only encrypted, revealed once, then destroyed.

The key is derived from SEATLEASE_SECRET_KEY with HKDF, so rotating that key makes
unrevealed secrets unreadable (they are regenerated on the next grant) rather than exposed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import string

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_ALPHABET = string.ascii_letters + string.digits


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"seatlease-credential-secrets", info=b"fernet-v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret(length: int = 20) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def seal(secret_key: str, secret: str) -> bytes:
    return _fernet(secret_key).encrypt(secret.encode())


def unseal(secret_key: str, token: bytes) -> str | None:
    try:
        return _fernet(secret_key).decrypt(token).decode()
    except InvalidToken:
        return None


def ssha256(secret: str) -> str:
    """FreeRADIUS `SSHA2-256-Password` value: base64(sha256(secret + salt) + salt)."""
    salt = os.urandom(8)
    return base64.b64encode(hashlib.sha256(secret.encode() + salt).digest() + salt).decode()
