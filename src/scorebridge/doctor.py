"""``scorebridge doctor``: check everything scorebridge needs and say what to fix.

Each check is a small function returning a :class:`Check`; a failed check never stops the others
(a bad Mautic password still lets the store and the rules be checked). Checks only read: doctor
never writes to Mautic, the CRM or the store (opening the store may migrate it, as any command
does).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import requests

from scorebridge.errors import AuthError, BridgeError, TerminalError, UpstreamError
from scorebridge.redaction import redact
from scorebridge.runtime import Runtime

OK, WARN, FAIL = "ok", "warn", "fail"
_TLS_FIX = "set ca_bundle to your CA file (in [mautic] or [crm]) or fix the server's certificate"


@dataclass(frozen=True)
class Check:
    """One check's outcome; ``fix`` says what to do when it is not ok."""

    name: str
    status: str
    detail: str
    fix: str = ""


def _run(name: str, probe: Callable[[], Check], fix: str) -> Check:
    try:
        return probe()
    except AuthError as exc:
        return Check(name, FAIL, str(exc), "check the credentials and that the API is enabled")
    except requests.exceptions.SSLError as exc:
        return Check(name, FAIL, f"TLS: {type(exc).__name__}", _TLS_FIX)
    except (UpstreamError, requests.RequestException) as exc:
        if isinstance(exc.__cause__, requests.exceptions.SSLError):  # the HTTP layer wraps it
            return Check(name, FAIL, f"TLS: {exc}", _TLS_FIX)
        return Check(name, FAIL, f"{type(exc).__name__}: {exc}", fix)
    except BridgeError as exc:
        return Check(name, FAIL, str(exc), fix)


def _store_checks(runtime: Runtime) -> list[Check]:
    def store() -> Check:
        path = runtime.store.path
        if path is None:
            return Check("store", OK, "PostgreSQL store opened and at the current schema")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            return Check("store", FAIL, f"{path} has mode {mode:o}", f"chmod 600 {path}")
        return Check("store", OK, f"{path} (mode {mode:o}) at the current schema")

    return [_run("store", store, "check [store] url and that its directory is writable")]


def _rules_check(runtime: Runtime) -> Check:
    from scorebridge.scoring import compile_rules, load_rules

    def rules() -> Check:
        compiled = compile_rules(load_rules(runtime.settings.scoring.rules))
        return Check(
            "scoring rules",
            OK,
            f"{runtime.settings.scoring.rules}: version {compiled.version}, "
            f"{len(compiled.rules)} behaviour rules, {len(compiled.fit)} fit rules, "
            f"{len(compiled.triggers)} triggers",
        )

    return _run("scoring rules", rules, "fix the rule file; the error names the rule and field")


def _mautic_checks(runtime: Runtime) -> list[Check]:
    client = runtime.mautic
    url = runtime.settings.mautic.url
    checks = [
        _run(
            "mautic reachable and authenticated",
            lambda: Check(
                "mautic reachable and authenticated",
                OK,
                f"{url} (Mautic {client.api_version() or 'version unknown'}, "
                f"{runtime.settings.mautic.auth} auth)",
            ),
            f"check that {url} is reachable from this host",
        )
    ]
    if checks[0].status != OK:
        return checks

    def can(name: str, call: Callable[[], Any], needs: str) -> Check:
        def probe() -> Check:
            try:
                call()
            except (AuthError, TerminalError) as exc:
                return Check(name, FAIL, str(exc), f"give the API user the {needs} permission")
            return Check(name, OK, "allowed")

        return _run(name, probe, "retry later; Mautic answered with an error")

    checks += [
        can("read contacts", lambda: client.list_contacts(limit=1), "lead:leads:viewother"),
        can(
            "read the point log",
            lambda: client.stats("lead_points_change_log", limit=1),
            "lead:leads:viewother",
        ),
        can("read point groups", client.list_point_groups, "point:groups:view"),
        can("read segments", client.list_segments, "lead:lists:viewother"),
        can("read stages", client.list_stages, "stage:stages:view"),
    ]
    write = runtime.settings.write.mautic

    def fields() -> Check:
        aliases = {f.alias for f in client.list_contact_fields()}
        wanted = [a for a in (write.score_field, write.stage_score_field, write.band_field) if a]
        missing = [a for a in wanted if a not in aliases]
        if missing:
            return Check(
                "mautic score fields",
                WARN,
                f"missing custom field(s) {', '.join(missing)}",
                "they are created on the first sync (needs lead:fields:full), or create them "
                "in Mautic: Settings > Custom Fields",
            )
        return Check("mautic score fields", OK, ", ".join(wanted) or "score fields not written")

    checks.append(_run("mautic score fields", fields, "give the API user lead:fields:full"))
    return checks


def _crm_checks(runtime: Runtime) -> list[Check]:
    crm = runtime.settings.crm
    if crm.kind == "none":
        return [Check("crm", WARN, "no CRM configured ([crm] kind = none)", "set [crm] kind")]
    from scorebridge.crm.registry import get_adapter_class

    def owners() -> Check:
        adapter = runtime.crm_adapter()
        found = adapter.owners()
        return Check(
            "crm reachable and authenticated", OK, f"{crm.kind} at {crm.url}: {len(found)} owner(s)"
        )

    checks = [
        _run(
            "crm adapter",
            lambda: Check("crm adapter", OK, get_adapter_class(crm.kind).__name__),
            "install the adapter package",
        ),
    ]
    if checks[0].status == OK:
        checks.append(
            _run(
                "crm reachable and authenticated",
                owners,
                f"check that {crm.url} is reachable and the credentials are valid",
            )
        )
    if checks[-1].status == OK:
        checks += _crm_detail_checks(runtime)
    return checks


#: What to do about missing scorebridge fields, per CRM kind.
_FIELD_FIXES = {
    "pipedrive": "they are created on the first sync (the API token's user, or an OAuth app with "
    "contact-fields:full, may add fields)",
    "salesforce": "they are created on the first sync through the Tooling API when the "
    "integration user has Customize Application and Manage Profiles and Permission Sets; else "
    "create them (Setup > Object Manager) and grant the user read/edit on them",
}


def _crm_detail_checks(runtime: Runtime) -> list[Check]:
    """Per-CRM checks: scorebridge's fields, the daily budget left, Pipedrive's activity type."""
    settings = runtime.settings
    kind = settings.crm.kind
    adapter = runtime.crm_adapter()
    checks = []
    missing_of = getattr(adapter, "missing_fields", None)
    if callable(missing_of):

        def fields() -> Check:
            from scorebridge.scoring import compile_rules, load_rules
            from scorebridge.sync.crm_writer import crm_field_specs

            specs = crm_field_specs(settings, compile_rules(load_rules(settings.scoring.rules)))
            missing = list(missing_of(specs))
            if missing:
                return Check(
                    "crm fields", WARN, f"missing: {', '.join(missing)}", _FIELD_FIXES.get(kind, "")
                )
            return Check("crm fields", OK, f"all {len(specs)} scorebridge fields present")

        checks.append(_run("crm fields", fields, _FIELD_FIXES.get(kind, "")))
    types_of = getattr(adapter, "activity_types", None)
    if callable(types_of):
        wanted = settings.crm.activity_type

        def activity_type() -> Check:
            known = list(types_of())
            if wanted in known:
                return Check("crm activity type", OK, f"tasks are {wanted!r} activities")
            return Check(
                "crm activity type",
                FAIL,
                f"no active activity type {wanted!r} (known: {', '.join(known)})",
                "set [crm] activity_type to one of them",
            )

        checks.append(_run("crm activity type", activity_type, "check the API token's rights"))
    left = adapter.usage().daily_remaining
    if left is not None:
        unit = "tokens" if kind == "pipedrive" else "requests"
        checks.append(Check("crm daily budget", OK if left > 0 else WARN, f"{left} {unit} left"))
    return checks


def _lint_checks(runtime: Runtime) -> list[Check]:
    """What the rule file means against what the systems hold: fields, double counting, URL
    globs, owners for tasks and deals."""
    from scorebridge.errors import ConfigError
    from scorebridge.scoring import compile_rules, load_rules
    from scorebridge.scoring.lint import double_counted, missing_fit_fields, unmatchable_urls

    try:
        ruleset = load_rules(runtime.settings.scoring.rules)
    except ConfigError:
        return []  # the rules check already says why
    rules = compile_rules(ruleset)
    found = unmatchable_urls({r.id: r.url for r in ruleset.rules if r.url})
    client = runtime.mautic
    try:
        aliases = [f.alias for f in client.list_contact_fields()]
        crm_fields = _crm_property_names(runtime)
        found += missing_fit_fields(rules, aliases, crm_fields)
        found += double_counted(rules, client.list_point_actions())
    except BridgeError as exc:
        return [Check("rules against the systems", WARN, f"not checked: {exc}", "")]
    checks = [Check(f"rule {w.rule_id}", WARN, w.message, w.fix) for w in found]
    checks += _owner_checks(runtime)
    if not checks:
        checks.append(
            Check("rules against the systems", OK, "fit fields exist; every act scored once")
        )
    return checks


def _crm_property_names(runtime: Runtime) -> list[str] | None:
    adapter = runtime.crm_adapter()
    names = getattr(adapter, "contact_property_names", None)
    return list(names()) if callable(names) else None


def _owner_checks(runtime: Runtime) -> list[Check]:
    settings = runtime.settings
    if settings.crm.kind == "none" or not (settings.write.crm.tasks or settings.write.crm.deals):
        return []
    from scorebridge.sync.owners import load_directory, unowned_contacts

    with runtime.store.read() as conn:
        owners = load_directory(conn, settings)
        unowned = unowned_contacts(conn, owners)
    checks = []
    if owners.unknown:
        checks.append(
            Check(
                "crm owners",
                WARN,
                f"[crm] reps/default_owner not found among the CRM's active owners: "
                f"{', '.join(owners.unknown)}",
                "use owner ids or e-mails of active CRM users",
            )
        )
    if unowned:
        checks.append(
            Check(
                "task and deal owners",
                WARN,
                f"{unowned} contact(s) have no CRM owner and no Mautic owner known in the CRM: "
                "their tasks and deals would have nobody assigned",
                "set [crm] reps (round-robin) or [crm] default_owner, or give them an owner",
            )
        )
    return checks


def _projection_check(runtime: Runtime) -> Check:
    """How many requests the queued write-back needs per system, and how long it takes under
    the configured limits (a CRM daily quota it exceeds is a warning)."""
    from scorebridge.sync.projection import limits_for, project_outbox

    def projection() -> Check:
        found = project_outbox(runtime.store, limits_for(runtime.settings, runtime.crm_adapter()))
        lines = found.lines() or ["nothing queued"]
        over = any(p.days > 1 for p in found.systems.values())
        fix = "raise [crm] daily_quota to your tier's, or let it run over the days shown"
        return Check(
            "queued write-back", WARN if over else OK, "; ".join(lines), fix if over else ""
        )

    return _run("queued write-back", projection, "check the store")


def run_checks(runtime: Runtime) -> list[Check]:
    """Every check, in the order an operator would fix them (texts redacted: a URL in the
    config may carry credentials)."""
    checks = [
        *_store_checks(runtime),
        _rules_check(runtime),
        *_mautic_checks(runtime),
        *_crm_checks(runtime),
        _projection_check(runtime),
    ]
    if all(c.status == OK for c in checks if c.name.startswith("mautic reachable")):
        checks += _lint_checks(runtime)
    return [replace(c, detail=redact(c.detail), fix=redact(c.fix)) for c in checks]


def as_json(checks: list[Check]) -> dict[str, Any]:
    """The ``--json`` document."""
    return {"ok": all(c.status != FAIL for c in checks), "checks": [asdict(c) for c in checks]}
