"""The versions document clients use to pick an API version (spec v1 s.1.1)."""

from __future__ import annotations

import re

import flask

from glance_api.services import services

bp = flask.Blueprint("versions", __name__)
_VERSION_PATH = re.compile(r"^/v[0-9]+(\.[0-9]+)?(/|$)")


def document() -> dict:
    """The versions this server speaks, with links to each."""
    base = (services().conf.public_endpoint or flask.request.host_url).rstrip("/")
    return {"versions": [
        {"id": vid, "status": status,
         "links": [{"rel": "self", "href": "%s/v1/" % base}]}
        for vid, status in (("v1.1", "DEPRECATED"), ("v1.0", "DEPRECATED"))]}


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
    return bool(_VERSION_PATH.match(path)) and not path.startswith("/v1/")
