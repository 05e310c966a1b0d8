"""Mautic's value quirks: dates, string numbers, dict-or-list collections, bracket queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

import scorebridge.mautic as mautic
from scorebridge.mautic.parsing import as_int, indexed, items, parse_datetime
from scorebridge.mautic.query import flatten, mautic_datetime, order_params, where_params


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-20 12:00:00", datetime(2026, 11, 20, 12, tzinfo=UTC)),
        ("2026-11-20T12:00:00+00:00", datetime(2026, 11, 20, 12, tzinfo=UTC)),
        ("2026-11-20T07:00:00-05:00", datetime(2026, 11, 20, 12, tzinfo=UTC)),
        ("2026-11-20T12:00:00Z", datetime(2026, 11, 20, 12, tzinfo=UTC)),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("0000-00-00 00:00:00", None),
    ],
)
def test_dates_become_aware_utc(raw: str | None, expected: datetime | None) -> None:
    parsed = parse_datetime(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)


def test_bad_dates_raise_value_error() -> None:
    with pytest.raises(ValueError, match="yesterday"):
        parse_datetime("yesterday")


def test_numbers_as_strings_and_collections_as_objects() -> None:
    assert as_int("42") == 42
    assert as_int(42.0) == 42
    with pytest.raises(TypeError):
        as_int(True)
    assert items({"3": "a", "1": "b"}) == ["a", "b"]
    assert items([]) == []
    assert items(None) == []
    assert indexed({"0": "a", "2": "c"}) == {0: "a", 2: "c"}
    assert indexed(["a", "b"]) == {0: "a", 1: "b"}


def test_datetimes_are_sent_as_utc_sql_strings() -> None:
    cet = timezone(timedelta(hours=1))
    assert mautic_datetime(datetime(2026, 1, 1, 13, 0, 5, tzinfo=cet)) == "2026-01-01 12:00:05"


def test_bracket_flattening() -> None:
    assert flatten("a", {"b": [1, {"c": True}], "d": None}) == [
        ("a[b][0]", "1"),
        ("a[b][1][c]", "1"),
    ]
    assert where_params([{"col": "x", "expr": "between", "val": [1, 5]}]) == [
        ("where[0][col]", "x"),
        ("where[0][expr]", "between"),
        ("where[0][val][0]", "1"),
        ("where[0][val][1]", "5"),
    ]
    assert where_params([{"col": "x", "expr": "isNull"}]) == [
        ("where[0][col]", "x"),
        ("where[0][expr]", "isNull"),
    ]
    assert order_params([("id", "desc")]) == [("order[0][col]", "id"), ("order[0][dir]", "DESC")]


def test_public_surface() -> None:
    assert set(mautic.__all__) >= {
        "MauticClient",
        "BasicAuth",
        "OAuth2ClientCredentials",
        "MauticContact",
        "ContactPage",
        "StatsPage",
        "PointGroup",
        "GroupScore",
        "Segment",
        "Note",
        "ContactField",
        "MauticStage",
        "MauticOwner",
        "MauticUser",
        "PointAction",
        "PointTrigger",
    }
    for name in mautic.__all__:
        assert hasattr(mautic, name)
