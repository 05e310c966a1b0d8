"""Pipedrive's error answers (crm-apis.md §2.8, samples/pipedrive/error_*.json).

Owns :class:`ApiError` (raised by handlers, answered with the API envelope ``{success: false,
error, error_info, data: null, additional_data: null}``) and the gateway bodies that carry
``errorCode`` instead (401 unauthorized access, 403 scope mismatch, 429 limits, 5xx). Knows
nothing about routing or state.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
GATEWAY_INFO = "Please check developers.pipedrive.com"
MESSAGE_BURST = "Request over limit"
MESSAGE_DAILY = "Daily API token budget exceeded; it resets at 00:00 UTC"


class ApiError(Exception):
    """An API error: raise it from a handler, the emulator answers the envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        """The error as Pipedrive answers it."""
        body = {
            "success": False,
            "error": self.message,
            "error_info": ERROR_INFO,
            "data": None,
            "additional_data": None,
        }
        return Response(self.status, body)


def bad_request(message: str) -> ApiError:
    """A 400 validation error."""
    return ApiError(400, message)


def not_found(what: str) -> ApiError:
    """A 404 for a missing item, e.g. ``Person not found``."""
    return ApiError(404, f"{what} not found")


def gateway(status: int, message: str) -> dict[str, Any]:
    """The gateway's own body (auth, scope): ``{success, error, errorCode, error_info}``."""
    return {"success": False, "error": message, "errorCode": status, "error_info": GATEWAY_INFO}


def unauthorized() -> Response:
    """The 401 for a missing, wrong, expired or revoked token."""
    return Response(401, gateway(401, "unauthorized access"))


def scope_mismatch() -> Response:
    """The 403 for an OAuth token whose scopes do not cover the endpoint."""
    return Response(403, gateway(403, "Scope and URL mismatch"))


def rate_limited(daily: bool) -> dict[str, Any]:
    """The 429 body: the 2-second burst window or the spent daily token budget."""
    return {"success": False, "error": MESSAGE_DAILY if daily else MESSAGE_BURST, "errorCode": 429}


def server_error(status: int) -> dict[str, Any]:
    """A 5xx body."""
    message = "Internal server error" if status == 500 else "Service unavailable"
    return {"success": False, "error": message, "errorCode": status, "error_info": GATEWAY_INFO}
