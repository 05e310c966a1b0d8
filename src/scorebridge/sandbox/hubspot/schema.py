"""Property definitions, property groups and the default deal pipeline of an emulated account.

Owns what a fresh HubSpot portal ships with for contacts, deals and tasks (crm-apis.md §1.4,
§1.5, §1.7), the ``Property`` JSON shape, and the check-and-normalise step for a written value
(unknown, read-only, bad option, bad number, bad date). Holds no records and no routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scorebridge.sandbox.hubspot.values import iso_instant, parse_instant, stringify

OBJECT_TYPES = ("contacts", "deals", "tasks")
PROPERTY_TYPES = ("bool", "date", "datetime", "enumeration", "number", "phone_number", "string")
FIELD_TYPES = (
    "booleancheckbox",
    "calculation_equation",
    "checkbox",
    "date",
    "file",
    "html",
    "number",
    "phonenumber",
    "radio",
    "select",
    "text",
    "textarea",
)
#: The property that stamps creation and last modification, per object type (§1.1).
CREATED_PROPERTY = {"contacts": "createdate", "deals": "createdate", "tasks": "hs_createdate"}
MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "tasks": "hs_lastmodifieddate",
}
#: Returned by reads that name no properties (contacts: the search guide's list).
DEFAULT_READ = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
#: Always added to search results whatever was asked for (as in the search sample).
SEARCH_ALWAYS = {
    "contacts": ("createdate", "hs_object_id", "lastmodifieddate"),
    "deals": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
#: Words ``query`` full-text search looks in.
QUERY_PROPERTIES = {
    "contacts": ("firstname", "lastname", "email", "phone", "company"),
    "deals": ("dealname",),
    "tasks": ("hs_task_subject", "hs_task_body"),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
#: The default deal pipeline's stages: (id, label, probability, closed).
DEFAULT_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
    ("presentationscheduled", "Presentation Scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
    ("contractsent", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
)
OWNER_PROPERTY = "hubspot_owner_id"


@dataclass
class PropertyDef:
    """One property of an object type, HubSpot-defined or created through the API."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    display_order: int = -1
    has_unique_value: bool = False
    hidden: bool = False
    form_field: bool = False
    read_only: bool = False
    calculated: bool = False
    hubspot_defined: bool = True
    created_at: datetime = EPOCH
    updated_at: datetime = EPOCH
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``Property`` object of the Properties v3 API."""
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": self.options,
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": self.name == OWNER_PROPERTY,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "formField": self.form_field,
            "archived": self.archived,
            "createdAt": iso_instant(self.created_at),
            "updatedAt": iso_instant(self.updated_at),
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyOptions": self.hubspot_defined and self.type == "enumeration",
                "readOnlyValue": self.read_only,
            },
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        return body

    def normalise(self, raw: Any, owner_ids: set[str]) -> tuple[str | None, dict[str, str] | None]:
        """The stored form of a written value, or a validation problem (name/error/message)."""
        if self.read_only:
            return None, self._problem("READ_ONLY_VALUE", f'"{self.name}" is a read only property')
        if raw is None or raw == "":
            return None, None
        text = str(stringify(raw))
        if self.type == "number":
            try:
                float(text)
            except ValueError:
                return None, self._problem("INVALID_INTEGER", f"{text} is not a valid number")
        elif self.type in ("datetime", "date"):
            try:
                instant = parse_instant(text)
            except ValueError:
                return None, self._problem("INVALID_DATE", f"{text} is not a valid date")
            text = instant.date().isoformat() if self.type == "date" else iso_instant(instant)
        elif self.type == "bool":
            if text.lower() not in ("true", "false"):
                return None, self._problem("INVALID_BOOLEAN", f"{text} is not a valid boolean")
            text = text.lower()
        elif self.name == OWNER_PROPERTY:
            if text not in owner_ids:
                return None, self._problem("INVALID_OWNER_ID", f"{text} is not a valid owner id")
        elif self.type == "enumeration":
            allowed = [str(o["value"]) for o in self.options]
            chosen = text.split(";") if self.field_type == "checkbox" else [text]
            bad = [c for c in chosen if c not in allowed]
            if bad:
                return None, self._problem(
                    "INVALID_OPTION", f"{bad[0]} was not one of the allowed options: {allowed}"
                )
        if self.name == "email":
            text = text.strip().lower()
        return text, None

    def _problem(self, error: str, message: str) -> dict[str, str]:
        return {"name": self.name, "error": error, "message": message}


def _options(
    values: tuple[str, ...], labels: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    labels = labels or tuple(v.replace("_", " ").title() for v in values)
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False, "description": ""}
        for i, (value, label) in enumerate(zip(values, labels, strict=True))
    ]


def _defs(group: str, *specs: tuple[str, str, str, str]) -> list[PropertyDef]:
    return [PropertyDef(name, label, kind, ftype, group) for name, label, kind, ftype in specs]


def default_groups() -> dict[str, list[dict[str, Any]]]:
    """The property groups of a fresh portal, per object type."""
    names = {
        "contacts": [("contactinformation", "Contact information"), ("sales_properties", "Sales")],
        "deals": [("dealinformation", "Deal information")],
        "tasks": [("task", "Task information")],
    }
    return {
        kind: [
            {"name": name, "label": label, "displayOrder": i, "archived": False}
            for i, (name, label) in enumerate(groups)
        ]
        for kind, groups in names.items()
    }


def default_properties() -> dict[str, dict[str, PropertyDef]]:
    """The HubSpot-defined properties the emulator knows, per object type."""
    contacts = _defs(
        "contactinformation",
        ("email", "Email", "string", "text"),
        ("firstname", "First Name", "string", "text"),
        ("lastname", "Last Name", "string", "text"),
        ("jobtitle", "Job Title", "string", "text"),
        ("company", "Company Name", "string", "text"),
        ("country", "Country/Region", "string", "text"),
        ("city", "City", "string", "text"),
        ("phone", "Phone Number", "string", "phonenumber"),
        ("website", "Website URL", "string", "text"),
        ("createdate", "Create Date", "datetime", "date"),
    )
    contacts += [
        PropertyDef(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            "radio",
            "contactinformation",
            options=_options(LIFECYCLE_STAGES),
        ),
        PropertyDef(
            "hs_lead_status",
            "Lead Status",
            "enumeration",
            "radio",
            "sales_properties",
            options=_options(LEAD_STATUSES),
        ),
        PropertyDef(
            "lastmodifieddate",
            "Last Modified Date",
            "datetime",
            "date",
            "contactinformation",
            read_only=True,
        ),
    ]
    deals = _defs(
        "dealinformation",
        ("dealname", "Deal Name", "string", "text"),
        ("amount", "Amount", "number", "number"),
        ("closedate", "Close Date", "datetime", "date"),
        ("createdate", "Create Date", "datetime", "date"),
        ("dealtype", "Deal Type", "string", "text"),
        ("closed_lost_reason", "Closed Lost Reason", "string", "textarea"),
        ("closed_won_reason", "Closed Won Reason", "string", "textarea"),
        ("description", "Deal Description", "string", "textarea"),
    )
    deals += [
        PropertyDef("pipeline", "Pipeline", "enumeration", "select", "dealinformation"),
        PropertyDef("dealstage", "Deal Stage", "enumeration", "radio", "dealinformation"),
        PropertyDef(
            "hs_is_closed",
            "Is Deal Closed?",
            "bool",
            "booleancheckbox",
            "dealinformation",
            read_only=True,
            calculated=True,
        ),
        PropertyDef(
            "hs_is_closed_won",
            "Is Closed Won",
            "bool",
            "booleancheckbox",
            "dealinformation",
            read_only=True,
            calculated=True,
        ),
        PropertyDef(
            "hs_lastmodifieddate",
            "Last Modified Date",
            "datetime",
            "date",
            "dealinformation",
            read_only=True,
        ),
    ]
    tasks = _defs(
        "task",
        ("hs_timestamp", "Due date", "datetime", "date"),
        ("hs_task_subject", "Task Title", "string", "text"),
        ("hs_task_body", "Task notes", "string", "html"),
        ("hs_task_reminders", "Reminder", "string", "text"),
    )
    tasks += [
        PropertyDef(
            "hs_task_status",
            "Task Status",
            "enumeration",
            "select",
            "task",
            options=_options(("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")),
        ),
        PropertyDef(
            "hs_task_priority",
            "Priority",
            "enumeration",
            "select",
            "task",
            options=_options(("NONE", "LOW", "MEDIUM", "HIGH")),
        ),
        PropertyDef(
            "hs_task_type",
            "Task Type",
            "enumeration",
            "select",
            "task",
            options=_options(("EMAIL", "CALL", "TODO")),
        ),
        PropertyDef("hs_createdate", "Create Date", "datetime", "date", "task", read_only=True),
        PropertyDef(
            "hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "task", read_only=True
        ),
    ]
    result: dict[str, dict[str, PropertyDef]] = {}
    for kind, defs, group in (
        ("contacts", contacts, "sales_properties"),
        ("deals", deals, "dealinformation"),
        ("tasks", tasks, "task"),
    ):
        defs += [
            PropertyDef(OWNER_PROPERTY, "Owner", "enumeration", "select", group),
            PropertyDef("hs_object_id", "Record ID", "number", "number", group, read_only=True),
        ]
        for order, definition in enumerate(defs):
            definition.display_order = order
        result[kind] = {d.name: d for d in defs}
    return result


def default_pipeline() -> dict[str, Any]:
    """The ``default`` deal pipeline with the standard stages (samples/hubspot/deal_pipelines)."""
    created, updated = "1970-01-01T00:00:00Z", "2026-01-01T00:00:00Z"
    stages = [
        {
            "id": stage_id,
            "label": label,
            "displayOrder": order,
            "metadata": {"isClosed": "true" if closed else "false", "probability": probability},
            "archived": False,
            "createdAt": created,
            "updatedAt": updated,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }
        for order, (stage_id, label, probability, closed) in enumerate(DEFAULT_STAGES)
    ]
    return {
        "id": "default",
        "label": "Sales Pipeline",
        "displayOrder": 0,
        "archived": False,
        "createdAt": created,
        "updatedAt": updated,
        "stages": stages,
    }
