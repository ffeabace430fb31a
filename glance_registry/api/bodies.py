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
        body = flask.json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("The body is not valid JSON: %s" % exc) from exc
    _refuse_nul(body)
    return body


NUL_REFUSED = "Text may not contain NUL (0x00) characters."


def refuse_nul_in_url() -> None:
    """400 for a NUL in the request's path or query: PostgreSQL cannot store
    or compare one, and SQLite must not accept what PostgreSQL refuses."""
    request = flask.request
    if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        raise BadRequest(NUL_REFUSED)


def _refuse_nul(value: Any) -> None:
    # Iterative: a body may nest as deep as the JSON parser allowed.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadRequest(NUL_REFUSED)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
