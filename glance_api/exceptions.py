"""The errors glance-api answers with; ``errors.install`` renders them.

Each carries the HTTP status it is answered with, so a handler or rule just
raises the one that says what went wrong.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error with the HTTP status it is answered with."""

    code = 500

    def __init__(self, message: str, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(ApiError):
    code = 400


class ImageRefused(BadRequest):
    """Image data that format inspection refuses (glance_api.data.inspect).

    ``mismatch``: the bytes are not the declared disk_format, which v2
    answers with 415 (spec v2 section 5.1); every other refusal, and v1's
    mismatch, is 400.
    """

    def __init__(self, message: str, mismatch: bool = False):
        super().__init__(message)
        self.mismatch = mismatch


class Unauthorized(ApiError):
    code = 401


class Forbidden(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class Conflict(ApiError):
    code = 409


class PreconditionFailed(ApiError):
    code = 412


class TooLarge(ApiError):
    code = 413


class ServiceUnavailable(ApiError):
    code = 503


class UnsupportedMediaType(ApiError):
    code = 415


class RangeNotSatisfiable(ApiError):
    code = 416
