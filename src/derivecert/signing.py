"""The certifying body's filing key (DOMAIN.md §5, A7): Ed25519 signatures on filing records.

The private key is one PEM file (PKCS#8, encrypted when a passphrase is configured), created with
permissions 0600 on a node's first `serve`, refused when others may read it, and never served or
logged. The public key is published as a JWK (RFC 8037) at `/.well-known/derivecert/filing-key`
and named by its RFC 7638 thumbprint, which every signature carries, so that a registry can check
a filing record with the key alone, whatever transport brought the record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import ConfigurationError, InputError

ALGORITHM = "Ed25519"
KEY_PATH = "/.well-known/derivecert/filing-key"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PublicKey:
    """A certifying body's public filing key: verifies signatures; JWK and PEM forms."""

    def __init__(self, key: Ed25519PublicKey):
        self._key = key

    @property
    def raw(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        """RFC 7638 JWK thumbprint (SHA-256, base64url)."""
        members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": b64url(self.raw)}, separators=(",", ":"), sort_keys=True)
        return b64url(hashlib.sha256(members.encode("ascii")).digest())

    def jwk(self) -> dict:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(self.raw), "kid": self.key_id, "alg": "EdDSA", "use": "sig"}

    def pem(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self._key.verify(signature, data)
            return True
        except InvalidSignature:
            return False

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "key") -> "PublicKey":
        """A public key written as PEM (SubjectPublicKeyInfo) or as a JWK (JSON)."""
        text = data.strip()
        try:
            if text.startswith(b"{"):
                jwk = json.loads(text)
                if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
                    raise ValueError("not an Ed25519 JWK (kty OKP, crv Ed25519)")
                return cls(Ed25519PublicKey.from_public_bytes(_unb64url(jwk["x"])))
            key = serialization.load_pem_public_key(text)
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise InputError(f"not a public key: {exc}", where=where,
                             hint=f"give the PEM or JWK the certifying body publishes at {KEY_PATH}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InputError("not an Ed25519 public key", where=where, hint="filing records are signed with Ed25519")
        return cls(key)


class FilingKey:
    """The certifying body's private filing key. Its repr never shows the key."""

    def __init__(self, key: Ed25519PrivateKey):
        self._key = key
        self.public = PublicKey(key.public_key())

    def __repr__(self) -> str:
        return f"FilingKey(kid={self.public.key_id})"

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    @classmethod
    def generate(cls) -> "FilingKey":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path, passphrase: bytes | None = None) -> "FilingKey":
        path = Path(path)
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise ConfigurationError("the filing key file may be read by other users", where=str(path),
                                     hint=f"chmod 600 {path}")
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the filing key: {exc}", where=str(path),
                                     hint="check signing.passphrase, or move the file away to have a new key made") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError("the filing key is not an Ed25519 key", where=str(path),
                                     hint="filing records are signed with Ed25519")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path, passphrase: bytes | None = None) -> tuple["FilingKey", bool]:
        """The key at `path`, made there (mode 0600, never overwriting) when absent; and whether it was made."""
        path = Path(path)
        if path.exists():
            return cls.load(path, passphrase), False
        key = cls.generate()
        encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                      else serialization.NoEncryption())
        pem = key._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return key, True
