"""HubSpot's error bodies as the emulator answers them (crm-apis.md §1.8, samples/hubspot/error_*).

Owns the :class:`ApiError` exception that route handlers raise and the exact JSON shapes: the
standard ``{status, message, correlationId, category, ...}`` body, the 409 duplicate-contact text,
the property-validation message and the three 429 variants. Knows nothing about routing or state.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

KNOWLEDGE_BASE = {"knowledge-base": "https://www.hubspot.com/products/service/knowledge-base"}

MESSAGE_UNAUTHENTICATED = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
MESSAGE_TEN_SECONDLY = "You have reached your ten_secondly_rolling limit."
MESSAGE_DAILY = "You have reached your daily limit."
MESSAGE_SECONDLY = "You have reached your secondly limit."


def correlation_id() -> str:
    """A fresh correlation id (a UUID, as HubSpot sends)."""
    return str(uuid.uuid4())


class ApiError(Exception):
    """A HubSpot error answer: raise it from a handler, the emulator turns it into a response."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body HubSpot sends for this error."""
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id(),
            "category": self.category,
        }
        body.update(self.extra)
        return body


def validation(message: str, **extra: Any) -> ApiError:
    """A 400 ``VALIDATION_ERROR``."""
    return ApiError(400, "VALIDATION_ERROR", message, links=KNOWLEDGE_BASE, **extra)


def not_found(message: str = "resource not found") -> ApiError:
    """A 404 ``OBJECT_NOT_FOUND``."""
    return ApiError(404, "OBJECT_NOT_FOUND", message)


def conflict(message: str) -> ApiError:
    """A 409 ``CONFLICT``."""
    return ApiError(409, "CONFLICT", message)


def contact_exists(existing_id: str) -> ApiError:
    """The 409 for creating a contact whose e-mail is taken."""
    return conflict(f"Contact already exists. Existing ID: {existing_id}")


def unauthenticated() -> ApiError:
    """The 401 for a missing or wrong private-app token."""
    return ApiError(401, "INVALID_AUTHENTICATION", MESSAGE_UNAUTHENTICATED)


def invalid_properties(problems: list[dict[str, str]]) -> ApiError:
    """The 400 HubSpot answers when property values are unknown, read-only or malformed.

    ``problems`` items carry ``name``, ``error`` (``PROPERTY_DOESNT_EXIST``, ``INVALID_OPTION``,
    ...) and ``message``; HubSpot embeds them as JSON in the message and lists them in ``errors``.
    """
    detailed = [
        {
            "isValid": False,
            "message": p["message"],
            "error": p["error"],
            "name": p["name"],
            "localizedErrorMessage": p["message"],
        }
        for p in problems
    ]
    return validation(
        "Property values were not valid: " + json.dumps(detailed),
        errors=[
            {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
            for p in problems
        ],
    )


def ten_secondly() -> dict[str, Any]:
    """The 429 body of the 10-second rolling bucket."""
    return {
        "status": "error",
        "message": MESSAGE_TEN_SECONDLY,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": "TEN_SECONDLY_ROLLING",
    }


def daily() -> dict[str, Any]:
    """The 429 body once the daily allowance is spent."""
    return {
        "status": "error",
        "message": MESSAGE_DAILY,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": "DAILY",
    }


def secondly() -> dict[str, Any]:
    """The 429 body of the search API's per-second limit.

    The sample carries ``category: RATE_LIMITS``; ``errorType``/``policyName: SECONDLY`` are added
    so that a client keyed on either field recognises it.
    """
    return {
        "status": "error",
        "message": MESSAGE_SECONDLY,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "category": "RATE_LIMITS",
        "policyName": "SECONDLY",
    }


def server_error(status: int) -> dict[str, Any]:
    """A 5xx body."""
    return {
        "status": "error",
        "message": "internal error",
        "correlationId": correlation_id(),
        "category": "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
    }
