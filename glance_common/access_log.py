"""One log line per request: method, path, status, duration, via Python logging.

gunicorn's own access log is off (it cannot see the request id); this line
carries the id like every other line of the daemon's log. The duration is
the time until the response starts; an image body streams after it (the
api's image.send notification reports how much of it was sent).
"""

from __future__ import annotations

import logging
import time

import flask

LOG = logging.getLogger("glance.access")


def install(app: flask.Flask) -> None:
    """Log every request ``app`` answers, errors included."""

    @app.before_request
    def _start():
        flask.g.access_started = time.monotonic()

    @app.after_request
    def _log(response: flask.Response) -> flask.Response:
        started = flask.g.get("access_started")
        duration = time.monotonic() - started if started is not None else 0.0
        request = flask.request
        path = request.path
        if request.query_string:
            path += "?" + request.query_string.decode("latin-1")
        LOG.info("%s %s %d %.3fs %s", request.method, path, response.status_code,
                 duration, request.remote_addr or "-")
        return response
