"""The versions document clients pick an API version from (spec v1 1.1, v2 1.1),
and URL version aliases (/v2.9/images is /v2/images)."""

from __future__ import annotations

import re

import flask

from glance_api.services import services

bp = flask.Blueprint("versions", __name__)
_VERSION_PATH = re.compile(r"^/v[0-9]+(\.[0-9]+)?(/|$)")
_V2_ALIAS = re.compile(r"^/v2\.[0-9]+(?=/|$)")

# The v2 minor versions this server implements, newest last. v2.12 (tasks)
# and v2.17 (the locations API) are left out until those exist:
# glanceclient refuses the commands that need them by these exact ids.
V2_VERSIONS = ("v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6", "v2.7", "v2.9")
V1_VERSIONS = ("v1.1", "v1.0")


def document() -> dict:
    """The versions this server speaks, with links to each."""
    base = (services().conf.public_endpoint or flask.request.host_url).rstrip("/")
    entries = []
    for vid in reversed(V2_VERSIONS):
        entries.append({"id": vid, "status": "CURRENT" if vid == V2_VERSIONS[-1]
                        else "SUPPORTED",
                        "links": [{"rel": "self", "href": "%s/v2/" % base}]})
    for vid in V1_VERSIONS:
        entries.append({"id": vid, "status": "SUPPORTED",
                        "links": [{"rel": "self", "href": "%s/v1/" % base}]})
    return {"versions": entries}


@bp.get("/versions")
def versions():
    return document()


@bp.get("/")
def root():
    response = flask.jsonify(document())
    response.status_code = 300
    return response


def is_unknown_version(path: str) -> bool:
    """True for /vN/... paths of a version this server does not speak."""
    return bool(_VERSION_PATH.match(path)) and not path.startswith(("/v1/", "/v2/"))


def aliases(wsgi_app):
    """``wsgi_app`` seeing /v2.N/... as /v2/... (any listed minor version)."""

    def rewrite(environ, start_response):
        path = environ.get("PATH_INFO", "")
        match = _V2_ALIAS.match(path)
        if match and match.group(0)[1:] in V2_VERSIONS:
            environ["PATH_INFO"] = "/v2" + path[match.end():]
        return wsgi_app(environ, start_response)

    return rewrite
