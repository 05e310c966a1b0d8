"""REST resources on one record or object (crm-apis.md §3.3, §3.4): versions, describe, record
create / read / update / delete, upsert and read by external id, SOQL query and queryAll with
``nextRecordsUrl`` paging, ``/sobjects/{type}/updated|deleted`` and ``/limits``.

Owns the answers: create 201 ``{id, success, errors}``; update and delete 204; upsert 201
``{id, success, errors, created: true}`` or, from API 46.0 on, 200 ``created: false`` (older
versions 204); several records with the external id: 300 with their URLs; an external id field
that does not exist: 404. Write rules are the org's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.salesforce import errors
from scorebridge.sandbox.salesforce.cursors import batch_size
from scorebridge.sandbox.salesforce.org import Record
from scorebridge.sandbox.salesforce.routing import Call, RouteRow
from scorebridge.sandbox.salesforce.schema import FieldSpec, ObjectSpec
from scorebridge.sandbox.salesforce.soql import parse
from scorebridge.sandbox.salesforce.values import parse_datetime, sf_datetime

FIRST_VERSION, LATEST_VERSION = 31, 66
SEASONS = ("Spring", "Winter", "Summer")  # of version 66, 65, 64, then repeating
UPSERT_200_FROM = 46.0
UPDATED_WINDOW = timedelta(days=30)


def versions() -> list[dict[str, str]]:
    """``GET /services/data/``: the API versions served (answered without a session)."""
    out = []
    for number in range(FIRST_VERSION, LATEST_VERSION + 1):
        back = LATEST_VERSION - number
        season = SEASONS[back % 3]
        year = 26 - (back + 1) // 3 if season != "Spring" else 26 - back // 3
        out.append(
            {
                "label": f"{season} '{year:02d}",
                "url": f"/services/data/v{number}.0",
                "version": f"{number}.0",
            }
        )
    return out


def resources(call: Call) -> Response:
    """``GET /services/data/vXX.X/``."""
    names = ("sobjects", "query", "queryAll", "limits", "composite", "tooling")
    return Response(200, {name: f"{call.base}/{name}" for name in names})


def describe_global(call: Call) -> Response:
    """``GET /sobjects``."""
    sobjects = [
        {
            "name": spec.name,
            "label": spec.label,
            "keyPrefix": spec.prefix,
            "custom": False,
            "queryable": True,
            "createable": spec.createable,
            "updateable": spec.createable,
            "deletable": spec.createable,
            "urls": {"sobject": f"{call.base}/sobjects/{spec.name}"},
        }
        for spec in call.org.objects.values()
        if not spec.tooling
    ]
    return Response(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})


def basic_info(call: Call) -> Response:
    """``GET /sobjects/{type}``."""
    spec = call.spec()
    described = spec.describe([], call.base)
    described.pop("fields")
    return Response(200, {"objectDescribe": described, "recentItems": []})


def describe(call: Call) -> Response:
    """``GET /sobjects/{type}/describe`` (the fields the running user may read)."""
    spec = call.spec()
    return Response(200, spec.describe(call.org.visible(spec), call.base))


def _record(call: Call, spec: ObjectSpec) -> Record:
    found = call.org.find(call.params["id"])
    if found is None or found[0] is not spec:
        raise errors.not_found()
    return found[1]


def create(call: Call) -> Response:
    """``POST /sobjects/{type}``."""
    spec = call.spec()
    body = call.body_object()
    if any(k.lower() == "id" for k in body):
        raise errors.bad("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
    record = call.org.create(spec, body)
    return Response(201, {"id": record["Id"], "success": True, "errors": []})


def read(call: Call) -> Response:
    """``GET /sobjects/{type}/{id}[?fields=A,B]``."""
    spec = call.spec()
    return Response(200, call.render(spec, _record(call, spec), _field_names(call)))


def update(call: Call) -> Response:
    """``PATCH /sobjects/{type}/{id}``: 204."""
    spec = call.spec()
    record = _record(call, spec)
    call.org.update(spec, record, _without_id(call.body_object()))
    return Response(204)


def delete(call: Call) -> Response:
    """``DELETE /sobjects/{type}/{id}``: 204."""
    spec = call.spec()
    call.org.delete(spec, _record(call, spec))
    return Response(204)


def external_field(call: Call, spec: ObjectSpec, name: str) -> FieldSpec:
    """The external id field of an upsert path, or Salesforce's 404/400."""
    found = spec.field(name)
    if found is None or not call.org.access(spec, found)[0]:
        raise errors.not_found(
            f"Provided external ID field does not exist or is not accessible: {name}"
        )
    if not (found.external_id or found.name == "Id"):
        raise errors.bad("INVALID_FIELD", f"Field {found.name} is not an External ID or Id field")
    return found


def matches(call: Call, spec: ObjectSpec, field_spec: FieldSpec, value: str) -> list[Record]:
    """The live records an external id value names."""
    if field_spec.name == "Id":
        found = call.org.find(value)
        return [found[1]] if found and found[0] is spec else []
    return call.org.by_field(spec, field_spec, value)


def upsert_one(
    call: Call, spec: ObjectSpec, field_spec: FieldSpec, value: Any, body: dict[str, Any]
) -> tuple[Record, bool]:
    """Update the one record with this external id, or create it; (record, created)."""
    if value in (None, ""):
        raise errors.bad("MISSING_ARGUMENT", f"{field_spec.name} not specified", [field_spec.name])
    found = matches(call, spec, field_spec, str(value))
    if len(found) > 1:
        raise errors.ApiError(
            300,
            "DUPLICATE_EXTERNAL_ID",
            f"{field_spec.name}: more than one record found for external id field: "
            f"{[r['Id'] for r in found]}",
            [field_spec.name],
        )
    values = {k: v for k, v in body.items() if k.lower() != field_spec.name.lower()}
    if found:
        call.org.update(spec, found[0], values)
        return found[0], False
    if field_spec.name == "Id":
        raise errors.not_found()
    return call.org.create(spec, {**values, field_spec.name: value}), True


def upsert(call: Call) -> Response:
    """``PATCH /sobjects/{type}/{field}/{value}``."""
    spec = call.spec()
    field_spec = external_field(call, spec, call.params["field"])
    try:
        record, created = upsert_one(
            call, spec, field_spec, call.params["value"], _without_id(call.body_object())
        )
    except errors.ApiError as exc:
        if exc.status != 300:
            raise
        urls = [
            f"{call.base}/sobjects/{spec.name}/{r['Id']}"
            for r in matches(call, spec, field_spec, call.params["value"])
        ]
        return Response(300, urls)
    body = {"id": record["Id"], "success": True, "errors": [], "created": created}
    if created:
        return Response(201, body)
    return Response(200, body) if call.version_number >= UPSERT_200_FROM else Response(204)


def read_external(call: Call) -> Response:
    """``GET /sobjects/{type}/{field}/{value}``."""
    spec = call.spec()
    field_spec = external_field(call, spec, call.params["field"])
    found = matches(call, spec, field_spec, call.params["value"])
    if not found:
        raise errors.not_found()
    if len(found) > 1:
        return Response(300, [f"{call.base}/sobjects/{spec.name}/{r['Id']}" for r in found])
    return Response(200, call.render(spec, found[0], _field_names(call)))


def query(call: Call, deleted: bool = False) -> Response:
    """``GET /query?q=`` (``queryAll`` includes deleted records)."""
    text = call.arg("q")
    if not text:
        raise errors.malformed_query("A query string must be given (q)")
    result = call.runner().run(parse(text), deleted)
    size = batch_size(call.request.header("sforce-query-options"))
    body = call.cursors.page(call.version, result.records, result.total, size, call.now)
    return Response(200, body)


def query_more(call: Call) -> Response:
    """``GET /query/<locator>-<offset>`` (the ``nextRecordsUrl``)."""
    return Response(200, call.cursors.more(call.version, call.params["locator"], call.now))


def changed(call: Call, deleted: bool) -> Response:
    """``GET /sobjects/{type}/updated|deleted/?start=&end=`` (seconds are ignored)."""
    spec = call.spec()
    start = parse_datetime(call.arg("start") or "")
    end = parse_datetime(call.arg("end") or "")
    if start is None or end is None:
        raise errors.bad("INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes")
    start, end = start.replace(second=0), end.replace(second=0)
    earliest = (call.now - UPDATED_WINDOW).replace(second=0, microsecond=0)
    if end <= start or start < earliest:
        raise errors.bad(
            "INVALID_REPLICATION_DATE", "start must be before end and within the last 30 days"
        )
    rows = call.org.rows(spec.name, deleted=True)
    if deleted:
        gone = [
            {"id": r["Id"], "deletedDate": sf_datetime(call.org.deleted_at[r["Id"]])}
            for r in rows
            if r["IsDeleted"] and start <= call.org.deleted_at[r["Id"]] < end
        ]
        body: dict[str, Any] = {
            "deletedRecords": gone,
            "earliestDateAvailable": sf_datetime(earliest),
            "latestDateCovered": sf_datetime(end),
        }
        return Response(200, body)
    updated = [r["Id"] for r in rows if not r["IsDeleted"] and start <= r["SystemModstamp"] < end]
    return Response(200, {"ids": updated, "latestDateCovered": sf_datetime(end)})


def _field_names(call: Call) -> list[str] | None:
    raw = call.arg("fields")
    return [n.strip().lower() for n in raw.split(",") if n.strip()] if raw else None


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k.lower() != "id"}


ROUTES: tuple[RouteRow, ...] = (
    ("GET", "", resources),
    ("GET", "/sobjects", describe_global),
    ("GET", "/query", query),
    ("GET", "/queryAll", lambda call: query(call, deleted=True)),
    ("GET", "/query/{locator}", query_more),
    ("GET", "/queryAll/{locator}", query_more),
    ("GET", "/sobjects/{type}", basic_info),
    ("POST", "/sobjects/{type}", create),
    ("GET", "/sobjects/{type}/describe", describe),
    ("GET", "/sobjects/{type}/updated", lambda call: changed(call, deleted=False)),
    ("GET", "/sobjects/{type}/deleted", lambda call: changed(call, deleted=True)),
    ("GET", "/sobjects/{type}/{id}", read),
    ("PATCH", "/sobjects/{type}/{id}", update),
    ("DELETE", "/sobjects/{type}/{id}", delete),
    ("GET", "/sobjects/{type}/{field}/{value}", read_external),
    ("PATCH", "/sobjects/{type}/{field}/{value}", upsert),
)
