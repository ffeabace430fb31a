"""Reading the parts of a request every handler needs."""

from __future__ import annotations

from typing import Any

import flask

from glance_common.context import RequestContext
from glance_registry.errors import BadRequest


def context() -> RequestContext:
    """The context the auth layer built for this request."""
    return flask.g.context


def json_body(required: bool = True) -> Any:
    """The request's JSON body; None when absent and not required."""
    raw = flask.request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise BadRequest("A JSON body is required.")
        return None
    try:
        return flask.json.loads(raw)
    except ValueError as exc:
        raise BadRequest("The body is not valid JSON: %s" % exc) from exc
