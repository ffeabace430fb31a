"""glance-api's exceptions and the one place they become HTTP responses."""

from __future__ import annotations

import logging

import flask
from werkzeug.exceptions import HTTPException

from glance_api.registry import RegistryError, RegistryUnavailable
from glance_common.errors import error_response
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with the HTTP status it is answered with."""

    code = 500

    def __init__(self, message: str, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(ApiError):
    code = 400


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


# What each store failure means to a client.
STORE_STATUS = [
    (store_exc.NotFound, 404),
    (store_exc.Duplicate, 409),
    (store_exc.InvalidRange, 416),
    (store_exc.StorageFull, 413),
    (store_exc.SizeLimitExceeded, 413),
    (store_exc.StorageWriteDenied, 503),
    (store_exc.RemoteServiceUnavailable, 503),
    (store_exc.SizeMismatch, 400),
    (store_exc.ChecksumMismatch, 400),
    (store_exc.UnknownScheme, 400),
    (store_exc.UnknownStore, 400),
    (store_exc.ReadOnlyStore, 400),
    (store_exc.BadStoreURI, 400),
    (store_exc.URLNotAllowed, 400),
]


def store_status(exc: store_exc.GlanceStoreError) -> int:
    """The HTTP status for a store failure."""
    for cls, code in STORE_STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def install(app: flask.Flask) -> None:
    """Map every exception the api can raise to one rendered response."""

    @app.errorhandler(ApiError)
    def _api(exc: ApiError):
        return error_response(exc.code, exc.message, exc.headers)

    @app.errorhandler(RegistryError)
    def _registry(exc: RegistryError):
        return error_response(exc.code, exc.message)

    @app.errorhandler(RegistryUnavailable)
    def _registry_down(exc: RegistryUnavailable):
        return error_response(503, str(exc))

    @app.errorhandler(store_exc.GlanceStoreError)
    def _store(exc: store_exc.GlanceStoreError):
        code = store_status(exc)
        if code >= 500:
            LOG.error("Store failure: %s", exc)
        return error_response(code, str(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        headers = {}
        if exc.code == 405:
            headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return error_response(exc.code or 500, exc.description or exc.name, headers)

    @app.errorhandler(Exception)
    def _bug(exc: Exception):
        LOG.exception("Unexpected error")
        return error_response(500, "An unexpected error occurred; see the "
                                   "api log for request %s." % flask.g.get("request_id"))
