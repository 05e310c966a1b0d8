"""What Mautic's point groups hold per contact, from the pulled point log (DESIGN §6: write a
point group only where Mautic differs). Mautic's own point actions add to groups; scorebridge's
sets come back as ``mautic.group_set`` rows carrying the value they set.
Must not: write anything, or decide what to write (the planner compares).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.mautic.streams import GROUP_SET
from scorebridge.store.tables import Event
from scorebridge.sync.plan import MAUTIC, as_written

POINTS_KIND = "mautic.points"
_event = Event.__table__  # type: ignore[attr-defined]


def mautic_group_scores(
    conn: Connection,
    ids: Sequence[int],
    names: Mapping[str, str],
    written: Mapping[int, Mapping[tuple[str, str], str]],
) -> dict[int, dict[str, int]]:
    """Per contact, topic group key -> the score Mautic's point group holds, from the pulled
    point log: scorebridge's last set (its log row carries the value) plus every change Mautic's
    own point actions made after it, or, for a group scorebridge never set, the sum of Mautic's
    changes. A group whose last write has not come back through the log yet (or was written
    before the log kept scorebridge's sets) is left out: the planner compares it with what was
    written."""
    key_of = {name.casefold(): key for key, name in names.items()}
    e = _event.c
    group = e.attributes["group"].as_string()
    rows = conn.execute(
        sa.select(
            e.contact_id,
            e.kind,
            e.external_id,
            group,
            e.attributes["delta"].as_string(),
            e.attributes["value"].as_string(),
        ).where(
            e.contact_id.in_(ids), e.kind.in_((POINTS_KIND, GROUP_SET)), group.is_not(None)
        )  # the database picks the group rows out of the whole point log
    )
    logs: dict[tuple[int, str], list[tuple[int, int | None, int]]] = {}
    for contact_id, kind, external_id, name, delta, value in rows:
        key = key_of.get(str(name).casefold())
        if key is not None:
            set_to = int(value) if kind == GROUP_SET and value is not None else None
            entry = (int(external_id), set_to, int(delta or 0))
            logs.setdefault((contact_id, key), []).append(entry)
    held: dict[int, dict[str, int]] = {}
    for contact_id in ids:
        mine = held.setdefault(contact_id, {})
        for key in names:
            value, last_set = 0, None
            for _, set_to, delta in sorted(logs.get((contact_id, key), ())):
                if set_to is not None:
                    value = last_set = set_to
                else:
                    value += delta
            wrote = written.get(contact_id, {}).get((MAUTIC, f"group:{key}"))
            if wrote is None or wrote == as_written(last_set):
                mine[key] = value
    return held
