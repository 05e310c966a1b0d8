"""PHP ``serialize()`` of plain data: how Mautic stores arrays in text columns (field
``properties``, ``page_hits.query``, ``email_stats.open_details``). Data only, no I/O.
"""

from __future__ import annotations

from typing import Any


def php_serialize(value: Any) -> str:
    """PHP ``serialize()`` of plain data, as Mautic stores arrays in text columns."""
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value};"
    if isinstance(value, str):
        return f's:{len(value.encode())}:"{value}";'
    items = value.items() if isinstance(value, dict) else enumerate(value)
    body = "".join(php_serialize(k) + php_serialize(v) for k, v in items)
    return f"a:{len(value)}:{{{body}}}"
