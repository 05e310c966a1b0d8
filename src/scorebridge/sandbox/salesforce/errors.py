"""Salesforce's error answers (crm-apis.md §3.2, §3.8, samples/salesforce/error_*.json).

Owns :class:`ApiError`: REST errors are a JSON array ``[{message, errorCode, fields?}]``; the same
error inside an sObject collection result is ``{statusCode, message, fields}``. OAuth endpoints
answer ``{error, error_description}``. Knows nothing about routing or state.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response

MESSAGE_NOT_FOUND = "The requested resource does not exist"


class ApiError(Exception):
    """A REST error: raise it from a handler or a write rule."""

    def __init__(
        self, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def response(self) -> Response:
        """The error as Salesforce answers it."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return Response(self.status, [item])

    def item(self) -> dict[str, Any]:
        """The error as one entry of a collection result's ``errors``."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields or []}


def bad(code: str, message: str, fields: list[str] | None = None) -> ApiError:
    """A 400."""
    return ApiError(400, code, message, fields)


def not_found(message: str = MESSAGE_NOT_FOUND) -> ApiError:
    """The 404 ``NOT_FOUND``."""
    return ApiError(404, "NOT_FOUND", message)


def invalid_field(object_name: str, name: str) -> ApiError:
    """An unknown (or invisible) field in a write."""
    return bad("INVALID_FIELD", f"No such column '{name}' on sobject of type {object_name}")


def malformed_query(message: str) -> ApiError:
    """A SOQL syntax error."""
    return bad("MALFORMED_QUERY", message)


def invalid_session() -> Response:
    """The 401 for a missing, expired or revoked session."""
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid").response()


def request_limit() -> Response:
    """The 403 once the daily API request allocation is spent."""
    return ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").response()


def oauth(error: str, description: str, status: int = 400) -> Response:
    """An OAuth endpoint error."""
    return Response(status, {"error": error, "error_description": description})


def server_error(status: int) -> Response:
    """A 5xx."""
    if status == 503:
        return ApiError(503, "SERVER_UNAVAILABLE", "Server unavailable").response()
    message = "An unexpected error occurred. Please include this ErrorId if you contact support"
    return ApiError(status, "UNKNOWN_EXCEPTION", message).response()
