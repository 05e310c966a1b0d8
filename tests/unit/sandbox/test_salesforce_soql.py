"""The Salesforce emulator's pure parts: the SOQL parser, record ids with their case-safe
suffix, and RS256 keys and signatures."""

from __future__ import annotations

import pytest

from scorebridge.sandbox.salesforce import ids, rsa
from scorebridge.sandbox.salesforce.errors import ApiError
from scorebridge.sandbox.salesforce.soql import Compare, Literal, Logic, Path, Query, parse


def test_and_binds_tighter_than_or_and_not_applies_to_one_term() -> None:
    query = parse("select Id from Lead where A = 1 or B = 2 and not C = 3 order by Id desc limit 5")
    assert query.object == "Lead"
    assert query.limit == 5
    assert query.order[0].descending
    assert query.order[0].nulls_last
    where = query.where
    assert isinstance(where, Logic)
    assert where.op == "OR"
    assert isinstance(where.items[1], Logic)
    assert where.items[1].op == "AND"
    negated = where.items[1].items[1]
    assert negated == Logic("NOT", (Compare(Path(("C",)), "=", (Literal("number", 3.0),)),))


def test_literals_subqueries_and_count() -> None:
    query = parse(
        "SELECT Id, Owner.Email, (SELECT ContactId FROM OpportunityContactRoles WHERE IsPrimary "
        "= TRUE) FROM Opportunity WHERE Name = 'O\\'Brien' AND CloseDate >= LAST_N_DAYS:30 AND "
        "SystemModstamp > 2026-11-20T00:00:00.000+0000 AND Amount != null AND Id NOT IN ('a')"
    )
    assert query.items[1] == Path(("Owner", "Email"))
    assert isinstance(query.items[2], Query)
    assert query.items[2].object == "OpportunityContactRoles"
    assert isinstance(query.where, Logic)
    values = [c.values[0] for c in query.where.items if isinstance(c, Compare)]
    assert values == [
        Literal("string", "O'Brien"),
        Literal("relative", "LAST_N_DAYS:30"),
        Literal("datetime", "2026-11-20T00:00:00.000+0000"),
        Literal("null", None),
        Literal("string", "a"),
    ]
    assert parse("SELECT COUNT() FROM Lead").count


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT Id FORM Lead", "unexpected token: 'FORM'"),
        ("SELECT Id FROM Lead WHERE", "unexpected end of query"),
        ("SELECT Id FROM Lead WHERE Name = Bob", "unexpected token: 'Bob'"),
        ("SELECT Id FROM Lead WHERE Name LIKE 5", "LIKE needs a string literal"),
        ("SELECT Id FROM Lead LIMIT 5 garbage", "unexpected token: 'garbage'"),
        ("SELECT Id FROM Lead WHERE Email = 'a' ;", "unexpected token: ';'"),
    ],
)
def test_syntax_errors_are_malformed_query(soql: str, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse(soql)
    assert caught.value.code == "MALFORMED_QUERY"
    assert caught.value.message == message


def test_ids_have_the_case_safe_suffix_and_read_both_lengths() -> None:
    assert ids.suffix("001D000000IqhSL") == "IAZ"  # the example of Salesforce's documentation
    made = ids.make_id("00Q", 12345)
    assert len(made) == 18
    assert made.startswith("00Q")
    assert ids.normalize(made[:15]) == made
    assert ids.normalize(made) == made
    assert ids.normalize(made[:15] + "ZZZ") is None
    assert ids.normalize("not an id") is None
    assert ids.make_id("00Q", 9) < ids.make_id("00Q", 10) < ids.make_id("00Q", 62)


def test_rs256_round_trip_and_pem_encodings() -> None:
    key = rsa.generate(1024)
    signature = rsa.sign(key, b"header.payload")
    assert rsa.verify(key.public, b"header.payload", signature)
    assert not rsa.verify(key.public, b"header.payloaD", signature)
    assert not rsa.verify(rsa.generate(1024).public, b"header.payload", signature)
    pem = rsa.private_key_to_pem(key)
    assert pem.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert rsa.private_key_from_pem(pem) == key
    for body in ("AAAA", "MAA=", "MAMCAQE="):  # truncated, empty and too short DER
        with pytest.raises(rsa.KeyError_):
            rsa.public_key_from_pem(
                f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----"
            )
    assert rsa.b64url_decode(rsa.b64url(b"\xff\x00")) == b"\xff\x00"
