"""The versions document clients pick an API version from (spec v1 1.1, v2 1.1),
and URL version aliases (/v2.9/images is /v2/images)."""

from __future__ import annotations

import re

import flask

from glance_api.services import services

bp = flask.Blueprint("versions", __name__)
_VERSION_PATH = re.compile(r"^/v[0-9]+(\.[0-9]+)?(/|$)")
_V2_ALIAS = re.compile(r"^/v2\.[0-9]+(?=/|$)")

# The v2 minor versions this server implements (spec v2 1.1), in two groups
# as Glance lists them; adding a version is one line in one of them.
# glanceclient refuses the commands that need a version by its exact id.
ALWAYS = (
    "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6", "v2.7", "v2.9",
    "v2.15", "v2.17",  # v2.17: the locations API (/v2/images/{id}/locations)
)
# Only in multi-store mode ([DEFAULT] enabled_backends): the stores
# discovery (GET /v2/info/stores) and DELETE /v2/stores/{store}/{image}.
MULTISTORE = (
    "v2.8", "v2.10", "v2.11",
    "v2.12", "v2.13",  # GET /v2/images/{id}/tasks (glanceclient image-tasks)
)
# Only with this node's image cache (image_cache_dir): /v2/cache. Glance
# then lists v2.18 too, which becomes CURRENT.
CACHE = ("v2.14", "v2.16", "v2.18")
V1_VERSIONS = ("v1.1", "v1.0")


def _minor(vid: str) -> int:
    return int(vid.rpartition(".")[2])


def v2_versions(multistore: bool, cache: bool = False) -> tuple[str, ...]:
    """The v2 ids this configuration offers, oldest first."""
    ids = ALWAYS + (MULTISTORE if multistore else ()) + (CACHE if cache else ())
    return tuple(sorted(ids, key=_minor))


def document() -> dict:
    """The versions this server speaks, with links to each."""
    svc = services()
    base = (svc.conf.public_endpoint or flask.request.host_url).rstrip("/")
    listed = v2_versions(svc.stores.multistore, cache=svc.cache is not None)
    entries = []
    for vid in reversed(listed):
        entries.append({"id": vid, "status": "CURRENT" if vid == listed[-1]
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
    """``wsgi_app`` seeing /v2.N/... as /v2/... (any minor version this server
    can list; a middleware outside the app does not know the configuration,
    and an alias that works everywhere harms no client)."""
    known = frozenset(ALWAYS + MULTISTORE + CACHE + ("v2.18",))

    def rewrite(environ, start_response):
        path = environ.get("PATH_INFO", "")
        match = _V2_ALIAS.match(path)
        if match and match.group(0)[1:] in known:
            environ["PATH_INFO"] = "/v2" + path[match.end():]
        return wsgi_app(environ, start_response)

    return rewrite
