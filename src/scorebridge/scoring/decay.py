"""How an event's points age: half-life, linear decay and expiry.

Owns: the factor applied to a behaviour rule's points for an event of a given age (in days,
``(as_of - occurred_at) / 1 day``, exact to the microsecond). Must not: know about rules files,
contacts or the clock. The scalar function serves the engine; the numpy one serves bulk
rescoring and gives the same numbers.

- ``expires_after_days = N``: factor 0 when age >= N days exactly (an event is worth nothing
  from the N-day mark on), else the decay below.
- ``half_life_days = H``: ``0.5 ** (age / H)`` (exactly 0.5 at age H).
- ``linear_decay_days = L``: ``max(0, 1 - age / L)`` (HubSpot-style "100 % over L days").
- none of them: 1. Events after ``as_of`` never reach here (they have not happened yet).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SECONDS_PER_DAY = 86_400.0


def decay_factor(
    age_days: float,
    half_life_days: float | None,
    linear_decay_days: float | None,
    expires_after_days: float | None,
) -> float:
    """The factor (0..1) for an event ``age_days`` old under the given decay settings."""
    if expires_after_days is not None and age_days >= expires_after_days:
        return 0.0
    if half_life_days is not None:
        return float(0.5 ** (age_days / half_life_days))
    if linear_decay_days is not None:
        return max(0.0, 1.0 - age_days / linear_decay_days)
    return 1.0


def decay_factors(
    age_days: npt.NDArray[np.float64],
    half_life_days: float | None | npt.NDArray[np.float64],
    linear_decay_days: float | None | npt.NDArray[np.float64],
    expires_after_days: float | None | npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Vectorised :func:`decay_factor`, bit for bit.

    Each setting is one value for every age (``None``: not set) or an array with one value per
    age (``NaN``: not set), so events of many rules are decayed in one pass.
    """
    age = np.asarray(age_days, np.float64)

    def per_age(setting: float | None | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        value = np.nan if setting is None else setting
        return np.broadcast_to(np.asarray(value, np.float64), age.shape)

    half_life, linear, expires = map(
        per_age, (half_life_days, linear_decay_days, expires_after_days)
    )
    factors = np.ones(age.shape, np.float64)
    halving = ~np.isnan(half_life)
    factors[halving] = np.power(0.5, age[halving] / half_life[halving])
    straight = ~halving & ~np.isnan(linear)
    factors[straight] = np.maximum(0.0, 1.0 - age[straight] / linear[straight])
    factors[age >= expires] = 0.0  # False where NaN (no expiry)
    return factors
