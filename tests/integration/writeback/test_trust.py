"""What sales sees agrees with the rules, end to end on the sandbox (issue 9, items 5, 7, 8, 12):
new leads are notified on their first score while existing ones are silenced, tasks and deals
have owners, CRM contacts carry the lead's identity and follow its e-mail, and one failing
system never stops the other."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from pull.conftest import World, start_world

from scorebridge.sandbox.world import SITE
from writeback.conftest import raise_hubspot_limits

BUYING = [
    {"kind": "page.hit", "url": f"{SITE}/pricing"},
    {"kind": "form.submit", "form_id": 3},
    {"kind": "asset.download", "asset_id": 1},
    {"kind": "form.submit", "form_id": 4},
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = start_world(tmp_path, contacts=80, days=20, seed=5)
    raise_hubspot_limits(made)
    yield made
    made.sandbox.stop()


def cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scorebridge", "--config", str(world.config), *args],
        cwd=world.config.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def sync(world: World) -> tuple[int, dict[str, Any]]:
    done = cli(world, "sync", "--json")
    return done.returncode, json.loads(done.stdout)


def mautic(world: World) -> tuple[str, tuple[str, str]]:
    info = world.info["mautic"]
    return str(info["url"]), (str(info["username"]), str(info["password"]))


def new_mautic_contact(world: World, **fields: Any) -> int:
    url, auth = mautic(world)
    answer = requests.post(f"{url}/api/contacts/new", json=fields, auth=auth, timeout=10)
    answer.raise_for_status()
    return int(answer.json()["contact"]["id"])


def record(world: World, contact_id: int, events: list[dict[str, Any]]) -> None:
    url, _ = mautic(world)
    at = datetime.now(UTC) - timedelta(minutes=30)
    body = [{**e, "contact_id": contact_id, "at": (at + timedelta(minutes=n)).isoformat()}
            for n, e in enumerate(events)]  # fmt: skip
    requests.post(f"{url}/_sandbox/events", json=body, timeout=10).raise_for_status()


def hubspot_state(world: World) -> Any:
    return world.sandbox.crms["hubspot"].state


def crm_contact(world: World, email: str) -> Any:
    with world.sandbox.servers["hubspot"].lock:
        for record_ in hubspot_state(world).records["contacts"].values():
            if not record_.archived and record_.properties.get("email") == email:
                return record_
    return None


def linked(world: World, contact: Any, kind: str) -> list[dict[str, Any]]:
    with world.sandbox.servers["hubspot"].lock:
        state = hubspot_state(world)
        rows = [state.records[kind][i] for i in state.associated("contacts", contact.id, kind)]
        return [dict(r.properties) for r in rows if not r.archived]


def test_only_contacts_from_before_the_first_sync_are_silenced_and_a_new_hot_lead_is_notified(
    world: World,
) -> None:
    code, first = sync(world)
    assert code == 0, first["problems"]
    silenced = first["steps"]["rescore"]["silenced"]
    assert silenced > 0  # the world's warm and hot leads existed before scorebridge

    mid = new_mautic_contact(
        world,
        email="liv.berg@fjordkraft.example",
        firstname="Liv",
        lastname="Berg",
        position="Head of Maintenance",
        company="Fjordkraft",
        country="Norway",
        phone="+47 22 33 44 55",
    )
    record(world, mid, BUYING)
    code, second = sync(world)
    assert code == 0, second["problems"]
    assert second["steps"]["rescore"]["silenced"] == 0

    person = crm_contact(world, "liv.berg@fjordkraft.example")
    assert person is not None, "the hot newcomer was created in HubSpot"
    props = person.properties
    assert (props["firstname"], props["lastname"], props["company"]) == (
        "Liv",
        "Berg",
        "Fjordkraft",
    )
    assert (props["jobtitle"], props["country"]) == ("Head of Maintenance", "Norway")
    tasks, deals = linked(world, person, "tasks"), linked(world, person, "deals")
    assert len(deals) == 1
    assert len(tasks) == 1
    assert tasks[0]["hubspot_owner_id"], "the task has an owner (round-robin or mapped)"

    explained = json.loads(cli(world, "explain", str(mid), "--json").stdout)
    episodes = explained["triggers"]["turned-hot"]["episodes"]
    assert [(e["episode"], e["silenced"]) for e in episodes] == [(1, False)]
    assert [a["status"] for a in episodes[0]["actions"]] == ["sent"]
    assert explained["score"] == int(props["scorebridge_score"]) >= 75


def test_tasks_and_deals_have_an_owner_wherever_one_can_be_resolved(world: World) -> None:
    config = world.config.read_text()
    world.config.write_text(config.replace("[scoring]\n", "[scoring]\nnotify_existing = true\n"))
    code, report = sync(world)
    assert code == 0, report["problems"]
    assert report["steps"]["plan"]["unassigned"] == []
    with world.sandbox.servers["hubspot"].lock:
        state = hubspot_state(world)
        ours = [
            r
            for kind in ("tasks", "deals")
            for r in state.records[kind].values()
            if not r.archived
            and (
                r.properties.get("scorebridge_key")
                or "[scorebridge:" in str(r.properties.get("hs_task_body", ""))
            )
        ]
        unowned = [r.id for r in ours if not r.properties.get("hubspot_owner_id")]
    assert len(ours) > 5
    assert unowned == []


def test_a_mautic_email_change_follows_to_the_linked_crm_contact(world: World) -> None:
    mid = new_mautic_contact(
        world, email="old@fjordkraft.example", firstname="Ola", country="Norway"
    )
    record(world, mid, BUYING)
    assert sync(world)[0] == 0
    assert crm_contact(world, "old@fjordkraft.example") is not None
    url, auth = mautic(world)
    requests.patch(
        f"{url}/api/contacts/{mid}/edit", json={"email": "new@fjordkraft.example"}, auth=auth,
        timeout=10,
    ).raise_for_status()  # fmt: skip
    code, report = sync(world)
    assert code == 0, report["problems"]
    assert crm_contact(world, "old@fjordkraft.example") is None
    moved = crm_contact(world, "new@fjordkraft.example")
    assert moved is not None
    assert moved.properties["firstname"] == "Ola"


def test_a_refused_crm_token_leaves_mautic_synced_and_sync_json_says_why(world: World) -> None:
    token_file = next(world.config.parent.glob("*hubspot*token*"))
    good = token_file.read_text()
    token_file.write_text("pat-na1-refused-token\n")
    code, report = sync(world)
    assert code == 1
    assert any(p.startswith("crm pull failed: CrmAuthError") for p in report["problems"])
    assert report["steps"]["push"]["systems"]["mautic"]["ok"] > 0  # Mautic got its writes
    assert report["steps"]["rescore"]["contacts"] > 0
    token_file.write_text(good)
    code, report = sync(world)
    assert (code, report["problems"]) == (0, [])


def test_sync_json_prints_one_document_on_a_configuration_error(world: World) -> None:
    world.config.write_text(world.config.read_text() + "\n[nonsense]\nx = 1\n")
    done = cli(world, "sync", "--json")
    assert done.returncode == 2
    document = json.loads(done.stdout)
    assert document["error"]["type"] == "ConfigError"
    assert document["error"]["exit_code"] == 2
    assert document["problems"]


def test_a_hot_lead_crossing_again_with_its_deal_open_gets_a_task_on_it_not_a_second_deal(
    world: World,
) -> None:
    assert sync(world)[0] == 0  # the first sync: everything that existed is silenced
    mid = new_mautic_contact(
        world, email="per@fjordkraft.example", firstname="Per", country="Norway"
    )
    record(world, mid, BUYING)
    assert sync(world)[0] == 0
    person = crm_contact(world, "per@fjordkraft.example")
    assert len(linked(world, person, "deals")) == 1
    tasks_before = len(linked(world, person, "tasks"))
    # cools off below the hot trigger's rearm_below, then turns hot again
    for points, reason in ((-70, "wrong person"), (70, "right person after all")):
        done = cli(world, "adjust", str(mid), str(points), "--reason", reason)
        assert done.returncode == 0, done.stderr
        code, report = sync(world)
        assert code == 0, report["problems"]
    deals = linked(world, person, "deals")
    assert len(deals) == 1, "still one open deal"
    tasks = linked(world, person, "tasks")
    hot_again = [t for t in tasks if str(t.get("hs_task_subject", "")).startswith("Hot again:")]
    assert len(hot_again) == 1
    assert len(tasks) == tasks_before + 1
    explained = json.loads(cli(world, "explain", str(mid), "--json").stdout)
    assert [e["episode"] for e in explained["triggers"]["turned-hot"]["episodes"]] == [1, 2]
