"""Error bodies as OpenStack clients read them.

The classic glance client crashes on a JSON error it did not ask for, so in
the v1 style JSON goes only to callers whose Accept names application/json;
everyone else gets ``<code> <reason>\\n\\n<message>\\n`` as text/plain (spec v1
section 1.6). The v2 style is Glance's webob one (spec v2 section 1.5): JSON
for application/json, text/plain for no Accept or text/plain, and a small
HTML page for anything else (``*/*``), which glanceclient 4 strips of tags.
"""

from __future__ import annotations

import html
import http
import json

import flask

V1, V2 = "v1", "v2"


def wants_json(accept_header: str | None) -> bool:
    """True when the caller explicitly asked for JSON."""
    return bool(accept_header) and "application/json" in accept_header.lower()


def _wants_text(accept_header: str | None) -> bool:
    accept = (accept_header or "").strip().lower()
    return not accept or accept.startswith("text/plain")


def error_response(code: int, message: str, headers=None, style: str = V1) -> flask.Response:
    """Render one error for the current request's Accept header, in ``style``."""
    try:
        title = http.HTTPStatus(code).phrase
    except ValueError:
        title = "Error"
    accept = flask.request.headers.get("Accept")
    if wants_json(accept):
        body = json.dumps({"message": message, "code": code, "title": title})
        mimetype = "application/json"
    elif style == V1 or _wants_text(accept):
        body = "%d %s\n\n%s\n" % (code, title, message)
        mimetype = "text/plain"
    else:
        body = ("<html>\n <head>\n  <title>%d %s</title>\n </head>\n <body>\n"
                "  <h1>%d %s</h1>\n  %s<br /><br />\n </body>\n</html>\n"
                % (code, title, code, title, html.escape(message)))
        mimetype = "text/html"
    response = flask.Response(body, status=code, mimetype=mimetype)
    if mimetype != "application/json":
        response.headers["Content-Type"] = "%s; charset=UTF-8" % mimetype
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if flask.request.method == "HEAD":
        response.set_data(b"")
    return response
