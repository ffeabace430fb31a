"""GET /healthcheck: is the database answering, with the registry's schema?"""

from __future__ import annotations

import os

import flask
import peewee

from glance_common.errors import error_response
from glance_registry.db import database


def sqlite_file_problem(db: peewee.Database) -> str | None:
    """Why an SQLite database's file is unusable, or None (also for other databases).

    Pooled connections keep the file open, so they go on answering after the
    file (or its directory) is removed or moved; only the path tells.
    """
    if not isinstance(db, peewee.SqliteDatabase) or db.database == ":memory:":
        return None
    if not os.path.isfile(db.database):
        return "The registry database file is missing."
    if not os.access(db.database, os.R_OK | os.W_OK):
        return "The registry database file is not readable and writable."
    return None


def blueprint() -> flask.Blueprint:
    """The health check resource."""
    bp = flask.Blueprint("health", __name__)

    @bp.get("/healthcheck")
    def healthcheck():
        problem = sqlite_file_problem(database.obj)
        if problem:
            return error_response(503, problem)
        # Touch a real table: a database without the registry's schema
        # (never synced, or an empty file SQLite made) is no registry.
        database.execute_sql("SELECT 1 FROM images LIMIT 1").fetchone()
        return flask.Response("OK", mimetype="text/plain")

    return bp
