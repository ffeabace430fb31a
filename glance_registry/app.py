"""The registry's Flask app factory."""

from __future__ import annotations

import logging

import flask
import peewee
from werkzeug.exceptions import HTTPException

from glance_common import access_log
from glance_common import request_id
from glance_common.errors import error_response
from glance_registry import api
from glance_registry import auth
from glance_registry import db
from glance_registry.api import bodies
from glance_registry.api.settings import Settings
from glance_registry.errors import RegistryError

LOG = logging.getLogger(__name__)


def create_app(conf, database: peewee.Database | None = None) -> flask.Flask:
    """Build the registry app for ``conf``; ``database`` overrides the URL (tests)."""
    app = flask.Flask("glance_registry")
    if database is None:
        db.warn_without_autovacuum(db.bind(conf))
    else:
        db.bind_database(database)
    request_id.install(app)
    access_log.install(app)
    auth.install(app, conf)
    _install_connection_handling(app, conf.auth_strategy)
    _install_error_handlers(app)
    api.register(app, Settings(conf.limit_param_default, conf.api_limit_max))
    return app


def _install_connection_handling(app: flask.Flask, strategy: str) -> None:
    @app.before_request
    def _connect():
        flask.g.context = auth.context_from_request(
            flask.request, flask.g.get("request_id"), strategy)
        bodies.refuse_nul_in_url()
        db.database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not db.database.is_closed():
            db.database.close()


def _install_error_handlers(app: flask.Flask) -> None:
    @app.errorhandler(RegistryError)
    def _registry_error(exc: RegistryError):
        return error_response(exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(peewee.OperationalError)
    @app.errorhandler(peewee.InterfaceError)
    def _database_down(exc: Exception):
        LOG.error("Database unavailable: %s", exc)
        return error_response(503, "The registry database is unavailable.")

    @app.errorhandler(Exception)
    def _bug(exc: Exception):
        LOG.exception("Unexpected error")
        return error_response(500, "Internal error in the registry.")
