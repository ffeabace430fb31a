"""Error bodies as OpenStack clients read them.

The classic glance client crashes on a JSON error it did not ask for, so JSON
goes only to callers whose Accept names application/json; everyone else gets
``<code> <reason>\\n\\n<message>\\n`` as text/plain (spec v1 section 1.6).
"""

from __future__ import annotations

import http
import json

import flask


def wants_json(accept_header: str | None) -> bool:
    """True when the caller explicitly asked for JSON."""
    return bool(accept_header) and "application/json" in accept_header.lower()


def error_response(code: int, message: str, headers=None) -> flask.Response:
    """Render one error for the current request's Accept header."""
    try:
        title = http.HTTPStatus(code).phrase
    except ValueError:
        title = "Error"
    if wants_json(flask.request.headers.get("Accept")):
        body = json.dumps({"message": message, "code": code, "title": title})
        mimetype = "application/json"
    else:
        body = "%d %s\n\n%s\n" % (code, title, message)
        mimetype = "text/plain"
    response = flask.Response(body, status=code, mimetype=mimetype)
    if mimetype == "text/plain":
        response.headers["Content-Type"] = "text/plain; charset=UTF-8"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if flask.request.method == "HEAD":
        response.set_data(b"")
    return response
