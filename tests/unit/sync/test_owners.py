"""Who gets a task or a deal: CRM owner, Mautic owner by e-mail, reps, default owner."""

from __future__ import annotations

from typing import Any

from scorebridge.config import Settings
from scorebridge.crm.base import Owner
from scorebridge.sync.owners import Assignment, directory

OWNERS = [
    Owner("o1", "ada@sales.example", "Ada", True),
    Owner("o2", "bob@sales.example", "Bob", True),
    Owner("o3", "gone@sales.example", "Gone", False),
]
MAUTIC_USERS = {5: "bob@sales.example", 6: "nobody@elsewhere.example", 7: "gone@sales.example"}


def settings(**crm: Any) -> Settings:
    return Settings.model_validate(
        {
            "mautic": {"url": "http://127.0.0.1:9", "username": "u", "password": "p"},
            "crm": {"kind": "hubspot", "token": "t", **crm},
        }
    )


def test_the_chain_crm_owner_then_mautic_owner_then_reps_then_default() -> None:
    owners = directory(OWNERS, MAUTIC_USERS, settings(reps=["ada@sales.example", "o2"]))
    assert owners.resolve(10, "o1", 5) == Assignment("o1", "crm owner")
    assert owners.resolve(10, None, 5) == Assignment("o2", "mautic owner")
    assert owners.resolve(10, "o3", 5) == Assignment("o2", "mautic owner")  # inactive CRM owner
    assert owners.resolve(10, None, 6) == Assignment("o1", "round robin")  # 10 % 2 -> ada
    assert owners.resolve(11, None, None) == Assignment("o2", "round robin")
    assert owners.resolve(11, "o1", 5, "round_robin") == Assignment("o2", "round robin")
    fallback = directory(OWNERS, {}, settings(default_owner="bob@sales.example"))
    assert fallback.resolve(10, None, 6) == Assignment("o2", "default owner")
    assert directory(OWNERS, {}, settings()).resolve(10, None, 7) == Assignment(None, None)


def test_reps_that_are_no_active_owner_are_reported_and_skipped() -> None:
    owners = directory(OWNERS, {}, settings(reps=["o2", "gone@sales.example", "o9"]))
    assert owners.reps == ("o2",)
    assert owners.unknown == ("gone@sales.example", "o9")
