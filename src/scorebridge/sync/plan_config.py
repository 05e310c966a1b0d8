"""The planner's view of the settings and the rules: what to write where (field aliases, point
group names, stages, lifecycles, the CRM's create stage) and each band's rank, as the plain
:class:`~scorebridge.sync.plan.PlanConfig` the pure planner takes.
Must not: read the store, the clock or the network.
"""

from __future__ import annotations

from scorebridge.config import Settings
from scorebridge.errors import ConfigError
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.sync.plan import PlanConfig, group_fields


def plan_config(settings: Settings, rules: CompiledRules) -> PlanConfig:
    """The planner's view of ``[write]``, ``[crm]`` and the rules (mirror names, stages)."""
    mw, cw = settings.write.mautic, settings.write.crm
    names: dict[str, str] = {}
    for name, key in rules.mautic_groups.items():
        names.setdefault(key, name)
    crm_on = cw.enabled and settings.crm.kind != "none"
    return PlanConfig(
        mautic=mw.enabled,
        score_field=mw.score_field,
        stage_score_field=mw.stage_score_field,
        band_field=mw.band_field,
        win_field=settings.predict.mautic_field if settings.predict.enabled else "",
        group_names={k: names[k] for k in rules.groups if k in names}
        if mw.group_scores in ("point_groups", "both")
        else {},
        group_fields=group_field_aliases(settings, rules),
        mautic_stages={s.key: s.mautic_stage for s in rules.stages if s.mautic_stage}
        if mw.stage
        else {},
        notes=mw.notes,
        crm=crm_on,
        score_property=cw.score_property,
        stage_score_property=cw.stage_score_property,
        band_property=cw.band_property,
        win_property=settings.predict.crm_property if settings.predict.enabled else "",
        group_properties={k: f"scorebridge_{k}" for k in rules.groups}
        if cw.group_properties
        else {},
        lifecycles={s.key: s.crm_lifecycle for s in rules.stages if s.crm_lifecycle}
        if cw.lifecycle
        else {},
        stage_order={s.key: s.index for s in rules.stages},
        create_at_stage=settings.crm.create_at_stage or None,
        band_ranks=band_ranks(rules),
    )


def band_ranks(rules: CompiledRules) -> dict[str, int]:
    """Each band's place from the lowest (cold 0, warm 1, hot 2)."""
    return {name: n for n, name in enumerate((rules.base_band, *(b for b, _ in rules.bands)))}


def group_field_aliases(settings: Settings, rules: CompiledRules) -> dict[str, str]:
    """Topic group key -> its Mautic custom number field when ``[write.mautic] group_scores``
    writes fields ("fields" or "both"), else nothing."""
    mw = settings.write.mautic
    if mw.group_scores not in ("fields", "both"):
        return {}
    try:
        aliases = group_fields(rules.groups)
    except ValueError as exc:
        raise ConfigError(str(exc), file=str(settings.scoring.rules), key="groups") from exc
    taken = {mw.score_field, mw.stage_score_field, mw.band_field} & set(aliases.values())
    if taken:
        raise ConfigError(
            f"the group field {sorted(taken)[0]!r} is also a score field of [write.mautic]; "
            "rename that group or the score field",
            key="write.mautic.group_scores",
        )
    return aliases
