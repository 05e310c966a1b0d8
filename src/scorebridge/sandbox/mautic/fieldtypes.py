"""How Mautic 5's contact form takes a value for each field type (data in, value or error out).

The API binds a contact body through ``LeadType`` (``LeadBundle/Form/Type/
EntityFieldsBuildFormTrait.php``) after ``CoreBundle/Form/RequestTrait.php::
prepareParametersFromRequest``; what each type does with a value:

| type | accepted | refused (form error) |
| --- | --- | --- |
| country, region, timezone, locale, select | one choice | else "This value is not valid." |
| multiselect | choices as a list or ``a|b`` (stored ``a|b``) | any unknown choice |
| number | a number (cast, ``scale`` keeps decimals) | non-numbers: "This value is not valid." |
| email | a valid address (sanitised first) | "<value> is invalid." / characters ``^&*%`` |
| text, lookup | up to 191 characters | longer: "This value is too long. ..." |
| url | anything; ``http://`` prefixed when no scheme (Symfony ``UrlType``) | never |
| boolean | anything, read by PHP ``FILTER_VALIDATE_BOOLEAN`` (stored 1/0) | never |
| date, datetime, time | what PHP ``strtotime`` reads, reformatted | never (unread: dropped) |

Symfony 5.4's legacy messages are in force (``framework.form`` is unset in ``app/config/
config.php``), hence "This value is not valid." rather than "The selected choice is invalid.".
Pure functions; no HTTP.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from scorebridge.sandbox.mautic.choices import COUNTRIES, REGION_NAMES, TIMEZONES, is_locale
from scorebridge.sandbox.mautic.query import php_float
from scorebridge.sandbox.mautic.state import FieldDef

NOT_VALID = "This value is not valid."
TOO_LONG = "This value is too long. It should have 191 characters or less."
DROP = object()  # the value is ignored (not an error)
_NUMBER = re.compile(r"\s*[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d*)?\s*")
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}")  # fmt: skip
_EMAIL_SANITIZE = re.compile(r"[^A-Za-z0-9!#$%&'*+\-=?^_`{|}~@.\[\]]")
_URL_HAS_SCHEME = re.compile(r"^(?:[/.]|[\w+.-]+://|[^:/?@#]+@)")
_TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d", "%d-%m-%Y",
                 "%m/%d/%Y", "%H:%M:%S", "%H:%M")  # fmt: skip


class FieldError(Exception):
    """A value the form refuses; ``message`` is Mautic's text for the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def php_bool(value: Any) -> bool:
    """PHP ``(bool) filter_var($value, FILTER_VALIDATE_BOOLEAN)``."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE_WORDS


def strtotime(value: Any) -> datetime | None:
    """PHP ``strtotime`` for the formats API clients send (ISO 8601 included); None if unread."""
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
        for fmt in _DATE_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)  # noqa: DTZ007 - naive like PHP's UTC default
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is not None:  # PHP runs in UTC inside Mautic (index.php)
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _choices(definition: FieldDef) -> set[str]:
    return {str(option.get("value")) for option in definition.properties.get("list") or []}


def _single_choice(definition: FieldDef, text: str) -> str:
    kind = definition.type
    if kind == "country":
        ok = text in COUNTRIES
    elif kind == "region":
        ok = text in REGION_NAMES
    elif kind == "timezone":
        ok = text in TIMEZONES
    elif kind == "locale":
        ok = is_locale(text)
    else:
        ok = text in _choices(definition)
    if not ok:
        raise FieldError(NOT_VALID)
    return text


def _number(definition: FieldDef, raw: Any) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise FieldError(NOT_VALID)
    if isinstance(raw, str):
        if not _NUMBER.fullmatch(raw) or not re.search(r"\d", raw):
            raise FieldError(NOT_VALID)
        raw = raw.replace(",", "")
    number = php_float(raw)
    if definition.scaled:
        return round(number, int(definition.properties.get("scale") or 0))
    return int(number)


def _email(raw: Any) -> str:
    text = _EMAIL_SANITIZE.sub("", str(raw)[:254]).strip()
    if not text or not _EMAIL.fullmatch(text):
        raise FieldError(f"{text or '?'} is invalid.")
    bad = re.search(r"[\^&*%]", text)
    if bad:
        raise FieldError(f"{text} has characters not allowed in email addresses.")
    return text


def _date(kind: str, raw: Any) -> Any:
    text = str(raw)
    if int(re.sub(r"\D", "", text) or 0) == 0:
        return DROP  # a zero-date placeholder is ignored
    moment = strtotime(text)
    if moment is None:
        return DROP
    fmt = {"date": "%Y-%m-%d", "time": "%H:%M:%S"}.get(kind, "%Y-%m-%d %H:%M:%S")
    return moment.strftime(fmt)


def form_value(definition: FieldDef, raw: Any) -> Any:
    """The value the form gives a field for ``raw`` (non-empty), :data:`DROP`, or
    :class:`FieldError`."""
    kind = definition.type
    if kind == "number":
        return _number(definition, raw)
    if kind == "boolean":
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        return 1 if php_bool(raw) else 0
    if kind in ("date", "datetime", "time"):
        return _date(kind, raw)
    if kind == "multiselect":
        items = raw if isinstance(raw, list) else str(raw).split("|")
        return "|".join(_single_choice(definition, str(item)) for item in items)
    if isinstance(raw, dict | list):
        raise FieldError(NOT_VALID)
    text = str(raw)
    if kind in ("country", "region", "timezone", "locale", "select"):
        return _single_choice(definition, text)
    if kind == "email":
        return _email(text)
    if kind == "url":
        text = text.strip()
        return text if _URL_HAS_SCHEME.match(text) else f"http://{text}"
    if kind in ("text", "lookup") and len(text) > 191:
        raise FieldError(TOO_LONG)
    return text
