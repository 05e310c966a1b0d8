"""Salesforce record ids (crm-apis.md §3.1): 15 case-sensitive characters starting with the
object's key prefix, plus the 3-character case-safe suffix that makes the 18-character form.

Owns making ids and reading ids a client sends (15 or 18 characters, answered in 18). Pure.
"""

from __future__ import annotations

import re
import secrets
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"
_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
POD = "Dn"  # the instance part every emulated id carries


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return digits.rjust(width, "0")


def suffix(id15: str) -> str:
    """The case-safe suffix: per 5-character chunk, which characters are upper case."""
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        out += _SUFFIX[bits]
    return out


def make_id(prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record with this key prefix."""
    id15 = prefix + POD + _base62(number, 10)
    return id15 + suffix(id15)


def random_id(prefix: str) -> str:
    """An 18-character id with a random body (org ids, query locators)."""
    id15 = prefix + "".join(secrets.choice(_BASE62) for _ in range(12))
    return id15 + suffix(id15)


def normalize(raw: object) -> str | None:
    """A client's id in 18 characters, or ``None`` when it is not shaped like an id."""
    if not isinstance(raw, str) or not _SHAPE.match(raw):
        return None
    id18 = raw[:15] + suffix(raw[:15])
    return id18 if len(raw) == 15 or raw[15:].upper() == id18[15:] else None
