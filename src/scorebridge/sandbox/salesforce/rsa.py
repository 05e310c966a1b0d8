"""RS256 for the JWT bearer flow (crm-apis.md §3.2) with the standard library only: RSA keys,
PKCS #1 v1.5 SHA-256 signatures, and just enough DER to read a PEM certificate / public key /
private key (PKCS #1 or #8) and to write a PKCS #1 private key.

Owns the arithmetic and the encodings; knows nothing about JWT claims or HTTP. Key generation
(Miller-Rabin, 2048 bits) takes a fraction of a second in pure Python, so callers generate
lazily. Not constant-time: for the loopback sandbox only.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
from dataclasses import dataclass

_SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_RSA_OID = bytes.fromhex("2a864886f70d010101")
_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % q for q in range(3, math.isqrt(p) + 1, 2))]
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.+?)-----END \1-----", re.DOTALL)
E = 65537


class KeyError_(ValueError):
    """A PEM or DER blob that is not an RSA key or certificate."""


@dataclass(frozen=True)
class PublicKey:
    """An RSA public key."""

    n: int
    e: int


@dataclass(frozen=True)
class PrivateKey:
    """An RSA private key (CRT parameters kept for the PKCS #1 encoding)."""

    n: int
    e: int
    d: int
    p: int
    q: int

    @property
    def public(self) -> PublicKey:
        """The matching public key."""
        return PublicKey(self.n, self.e)


# -- keys and signatures ----------------------------------------------------------------------


def generate(bits: int = 2048) -> PrivateKey:
    """A fresh RSA key with e = 65537."""
    while True:
        p, q = _prime(bits // 2), _prime(bits - bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(E, phi) == 1:
            return PrivateKey(p * q, E, pow(E, -1, phi), p, q)


def sign(key: PrivateKey, message: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 (JWS ``RS256``)."""
    size = (key.n.bit_length() + 7) // 8
    return pow(int.from_bytes(_encode(message, size), "big"), key.d, key.n).to_bytes(size, "big")


def verify(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is an RS256 signature of ``message`` by ``key``."""
    size = (key.n.bit_length() + 7) // 8
    value = int.from_bytes(signature, "big")
    if len(signature) != size or value >= key.n:
        return False
    expected = _encode(message, size)
    return secrets.compare_digest(pow(value, key.e, key.n).to_bytes(size, "big"), expected)


def b64url(data: bytes) -> str:
    """Base64url without padding (JWS)."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    """The inverse of :func:`b64url`; ``ValueError`` when malformed."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc


# -- PEM / DER --------------------------------------------------------------------------------


def public_key_from_pem(pem: str) -> PublicKey:
    """The RSA key of a PEM ``CERTIFICATE``, ``PUBLIC KEY`` or ``RSA PUBLIC KEY``."""
    try:
        return _public_key(*_pem(pem))
    except (IndexError, ValueError) as exc:
        raise KeyError_(f"unreadable key: {exc}") from exc


def _public_key(label: str, der: bytes) -> PublicKey:
    if label == "CERTIFICATE":
        certificate = _items(der)[0][1]
        tbs = _items(_items(certificate)[0][1])
        if tbs and tbs[0][0] == 0xA0:  # explicit version
            tbs = tbs[1:]
        return _spki(_tlv(tbs[5]))
    if label == "PUBLIC KEY":
        return _spki(der)
    if label == "RSA PUBLIC KEY":
        n, e = (_int(v) for _, v in _items(_items(der)[0][1]))
        return PublicKey(n, e)
    raise KeyError_(f"not a certificate or public key: {label}")


def private_key_from_pem(pem: str) -> PrivateKey:
    """An RSA key from a PEM ``RSA PRIVATE KEY`` (PKCS #1) or ``PRIVATE KEY`` (PKCS #8)."""
    try:
        return _private_key(*_pem(pem))
    except (IndexError, ValueError, TypeError) as exc:
        raise KeyError_(f"unreadable key: {exc}") from exc


def _private_key(label: str, der: bytes) -> PrivateKey:
    if label == "PRIVATE KEY":
        der = _items(_items(der)[0][1])[2][1]
    elif label != "RSA PRIVATE KEY":
        raise KeyError_(f"not an RSA private key: {label}")
    numbers = [_int(v) for _, v in _items(_items(der)[0][1])]
    return PrivateKey(*numbers[1:6])


def private_key_to_pem(key: PrivateKey) -> str:
    """A PKCS #1 ``RSA PRIVATE KEY`` PEM."""
    numbers = [
        0,
        key.n,
        key.e,
        key.d,
        key.p,
        key.q,
        key.d % (key.p - 1),
        key.d % (key.q - 1),
        pow(key.q, -1, key.p),
    ]
    der = _der(0x30, b"".join(_der(0x02, _int_bytes(v)) for v in numbers))
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----\n"


# -- internals --------------------------------------------------------------------------------


def _encode(message: bytes, size: int) -> bytes:
    digest = _SHA256_INFO + hashlib.sha256(message).digest()
    if size < len(digest) + 11:
        raise KeyError_("key too small for SHA-256")
    return b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if all(candidate % p for p in _SMALL_PRIMES) and _probably_prime(candidate):
            return candidate


def _probably_prime(n: int, rounds: int = 24) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _pem(pem: str) -> tuple[str, bytes]:
    found = _PEM.search(pem)
    if not found:
        raise KeyError_("no PEM block found")
    try:
        return found.group(1), base64.b64decode("".join(found.group(2).split()))
    except ValueError as exc:
        raise KeyError_("PEM body is not base64") from exc


def _items(der: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) items of a DER sequence's content."""
    items, position = [], 0
    while position < len(der):
        if position + 2 > len(der):
            raise KeyError_("truncated DER")
        tag, length = der[position], der[position + 1]
        start = position + 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(der[start : start + count], "big")
            start += count
        if start + length > len(der):
            raise KeyError_("truncated DER")
        items.append((tag, der[start : start + length]))
        position = start + length
    return items


def _tlv(item: tuple[int, bytes]) -> bytes:
    return _der(item[0], item[1])


def _spki(der: bytes) -> PublicKey:
    algorithm, bits = _items(_items(der)[0][1])
    if _RSA_OID not in algorithm[1]:
        raise KeyError_("not an RSA key")
    n, e = (_int(v) for _, v in _items(_items(bits[1][1:])[0][1]))
    return PublicKey(n, e)


def _int(content: bytes) -> int:
    return int.from_bytes(content, "big", signed=True)


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content
