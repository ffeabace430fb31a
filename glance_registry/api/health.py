"""GET /healthcheck: is the database answering?"""

from __future__ import annotations

import flask

from glance_registry.db import database


def blueprint() -> flask.Blueprint:
    """The health check resource."""
    bp = flask.Blueprint("health", __name__)

    @bp.get("/healthcheck")
    def healthcheck():
        database.execute_sql("SELECT 1").fetchone()
        return flask.Response("OK", mimetype="text/plain")

    return bp
