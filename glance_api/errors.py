"""The one place glance-api's exceptions become HTTP responses.

Handlers, rules and the data path raise what went wrong (``exceptions``,
``registry_client``'s errors, the store library's); this module alone says
what status each is answered with. The body follows the request's Accept
(glance_common.errors).
"""

from __future__ import annotations

import logging

import flask
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as RouteNotFound

from glance_api import registry_client
from glance_api import versions
from glance_api.data.upload import StoreFailed
from glance_api.exceptions import ApiError
from glance_api.exceptions import ImageRefused
from glance_common import errors as bodies
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)

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

# What a registry refusal the handler did not expect means to a client.
REGISTRY_STATUS = [
    (registry_client.BadRequest, 400),
    (registry_client.Forbidden, 403),
    (registry_client.NotFound, 404),
    (registry_client.Conflict, 409),
    (registry_client.QuotaExceeded, 413),
    (registry_client.Unavailable, 503),
]


def store_status(exc: store_exc.GlanceStoreError) -> int:
    """The HTTP status for a store failure."""
    return _status(STORE_STATUS, exc)


def registry_status(exc: registry_client.Error) -> int:
    """The HTTP status for a failed registry call."""
    return _status(REGISTRY_STATUS, exc)


def _store_error(exc: store_exc.GlanceStoreError, message: str) -> flask.Response:
    code = store_status(exc)
    if code >= 500:
        LOG.error("Store failure: %s", exc)
    return error_response(code, message)


def error_response(code: int, message: str, headers=None) -> flask.Response:
    """The error in the style of the API version the request speaks."""
    return bodies.error_response(code, message, headers, _style())


def _style():
    path = flask.request.path
    return bodies.V2 if path == "/v2" or path.startswith("/v2") else bodies.V1


def _status(table: list, exc: Exception) -> int:
    for cls, code in table:
        if isinstance(exc, cls):
            return code
    return 500


def install(app: flask.Flask) -> None:
    """Map every exception the api can raise to one rendered response."""

    @app.errorhandler(ApiError)
    def _api(exc: ApiError):
        return error_response(exc.code, exc.message, exc.headers)

    @app.errorhandler(ImageRefused)
    def _refused(exc: ImageRefused):
        # v2 answers bytes that are not their disk_format with 415 (spec v2 5.1).
        code = 415 if exc.mismatch and _style() == bodies.V2 else exc.code
        return error_response(code, exc.message, exc.headers)

    @app.errorhandler(StoreFailed)
    def _upload_store(exc: StoreFailed):
        return _store_error(exc.__cause__, exc.message)

    @app.errorhandler(registry_client.Error)
    def _registry(exc: registry_client.Error):
        return error_response(registry_status(exc), exc.message)

    @app.errorhandler(store_exc.GlanceStoreError)
    def _store(exc: store_exc.GlanceStoreError):
        return _store_error(exc, str(exc))

    @app.errorhandler(RouteNotFound)
    def _no_route(exc: RouteNotFound):
        if versions.is_unknown_version(flask.request.path):
            return versions.root()
        return error_response(404, exc.description or "Not found")

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
