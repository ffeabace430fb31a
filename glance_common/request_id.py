"""Request ids: keep a well-formed one the caller sent, else make one; log it."""

from __future__ import annotations

import logging
import re
import uuid

import flask

from glance_common.context import REQUEST_ID_HEADER

_WELL_FORMED = re.compile(
    r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def choose(sent: str | None) -> str:
    """Return the caller's id when it is well formed (Nova relies on it), else a new one."""
    if sent and _WELL_FORMED.match(sent.strip().lower()):
        return sent.strip().lower()
    return "req-%s" % uuid.uuid4()


def current() -> str | None:
    """The id of the request being served, if any."""
    if flask.has_request_context():
        return flask.g.get("request_id")
    return None


class LogFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current() or "-"
        return True


def install(app: flask.Flask) -> None:
    """Give every request an id and echo it on every response, errors included."""

    @app.before_request
    def _assign():
        flask.g.request_id = choose(flask.request.headers.get(REQUEST_ID_HEADER))

    @app.after_request
    def _echo(response):
        rid = flask.g.get("request_id") or choose(None)
        response.headers["x-openstack-request-id"] = rid
        return response
