"""Per-shape facts for :mod:`scoring.batch`: what each distinct ``(kind, attributes)`` means.

Owns: :class:`EventShape`, the exact microsecond clock arithmetic (:func:`to_us`) and
:func:`shape_facts`, which decides once per distinct shape which rules it matches, its usable
``delta``, the configured group a Mautic point-log row goes to, whether an open is suspect
(or, when only its timing can make it suspect, the send time), whether it counts as activity,
and a manual adjustment's group and points. Must not: look at contacts, times of events or the
store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from scorebridge.scoring.engine import ACTIVITY_KINDS, _delta
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.opens import suspect_open_reason

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
NO_TIME = np.iinfo(np.int64).min
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime | None) -> int:
    """Microseconds since the epoch of an aware datetime (``NO_TIME`` for None), exactly."""
    if moment is None:
        return int(NO_TIME)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class EventShape:
    """A distinct ``(kind, attributes)`` pair; events sharing one match the same rules."""

    kind: str
    attributes: Mapping[str, Any]


@dataclass
class ShapeFacts:
    """Per-shape facts, computed once per distinct shape."""

    rule_ptr: I64
    rule_idx: I64
    delta: F64
    mautic_group: I64
    suspect: Bools
    sent_us: I64
    activity: Bools
    manual_group: I64
    manual_points: F64


def shape_facts(shapes: Sequence[EventShape], rules: CompiledRules) -> ShapeFacts:
    groups = {g: i for i, g in enumerate(rules.groups)}
    ungrouped = len(groups)  # the column of points that go straight into the total
    ptr: list[int] = [0]
    idx: list[int] = []
    delta: list[float] = []
    mgroup: list[int] = []
    suspect: list[bool] = []
    sent: list[int] = []
    activity: list[bool] = []
    man_group: list[int] = []
    man_points: list[float] = []
    for shape in shapes:
        attrs = shape.attributes
        matched = rules.match(shape.kind, attrs)
        idx.extend(matched)
        ptr.append(len(idx))
        d = _delta(attrs)
        delta.append(np.nan if d is None else d)
        routed = rules.route_mautic_group(attrs.get("group"))
        mgroup.append(ungrouped if routed is None else groups[routed])
        flag, sent_at = _suspect(shape) if shape.kind == "email.open" else (False, NO_TIME)
        suspect.append(flag)
        sent.append(sent_at)
        activity.append(shape.kind in ACTIVITY_KINDS)
        wanted = attrs.get("group")
        man_group.append(groups.get(wanted, ungrouped) if isinstance(wanted, str) else ungrouped)
        man_points.append(0.0 if d is None else d)
    return ShapeFacts(
        np.array(ptr, np.int64),
        np.array(idx, np.int64),
        np.array(delta, np.float64),
        np.array(mgroup, np.int64),
        np.array(suspect, bool),
        np.array(sent, np.int64),
        np.array(activity, bool),
        np.array(man_group, np.int64),
        np.array(man_points, np.float64),
    )


def _suspect(shape: EventShape) -> tuple[bool, int]:
    """(suspect whatever the time, send time in us when only the timing can make it suspect)."""
    attrs = shape.attributes
    if attrs.get("seconds_after_send") not in (None, ""):
        return suspect_open_reason(EPOCH, attrs) is not None, int(NO_TIME)
    timeless = {k: v for k, v in attrs.items() if k != "date_sent"}
    if suspect_open_reason(EPOCH, timeless) is not None:
        return True, int(NO_TIME)
    sent = attrs.get("date_sent")
    if not isinstance(sent, str) or not sent:
        return False, int(NO_TIME)
    try:
        sent_at = datetime.fromisoformat(sent)
    except ValueError:
        return False, int(NO_TIME)
    return False, to_us(sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC))
