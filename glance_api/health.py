"""GET /healthcheck for load balancers: can this api serve images right now?

Two things must work: the registry (and through it the database), and the
default store, where uploads go. The file store is probed for real: each of
its data directories must exist and take a new file. Remote stores (swift,
s3) are reported "not probed" rather than guessed healthy or broken: a
probe per health check would cost a round trip to the cluster each time.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile

import flask

from glance_api.services import services
from glance_common.context import RequestContext

bp = flask.Blueprint("health", __name__)


@dataclasses.dataclass(frozen=True)
class Check:
    """One dependency's state: healthy (True), broken (False) or unknown (None)."""

    name: str
    healthy: bool | None
    detail: str


def check_registry(registry, ctx: RequestContext) -> Check:
    """Ask the registry's own health check, which asks its database."""
    if registry.healthy(ctx):
        return Check("registry", True, "ok")
    return Check("registry", False, "unavailable or its database is down")


def check_store(stores) -> Check:
    """Probe the default store: the file store's data directories must take writes."""
    name = stores.default_store
    datadirs = getattr(stores.driver(name), "datadirs", None)
    if datadirs is None:
        return Check("store " + name, None, "not probed")
    for path, _ in datadirs:
        problem = _writable_dir_problem(path)
        if problem:
            return Check("store " + name, False, "%s %s" % (path, problem))
    return Check("store " + name, True, "ok")


def _writable_dir_problem(path: str) -> str | None:
    """Why ``path`` cannot take a new file, or None when it can."""
    if not os.path.isdir(path):
        return "is missing"
    try:
        # An unnamed temporary file: a real write, invisible to anyone listing
        # the directory. Permission bits alone would not do: root ignores them.
        with tempfile.TemporaryFile(dir=path) as probe:
            probe.write(b"ok")
    except OSError as exc:
        return "is not writable (%s)" % (exc.strerror or exc)
    return None


def report(registry, stores, ctx: RequestContext) -> tuple[int, str]:
    """The status code and text body of the health check (asked as ``ctx``)."""
    checks = [check_registry(registry, ctx), check_store(stores)]
    broken = [c.name for c in checks if c.healthy is False]
    first = "UNHEALTHY: " + ", ".join(broken) if broken else "OK"
    lines = [first] + ["%s: %s" % (c.name, c.detail) for c in checks]
    return (503 if broken else 200), "\n".join(lines) + "\n"


@bp.get("/healthcheck")
def healthcheck():
    code, text = report(services().registry, services().stores, flask.g.context)
    return flask.Response(text, status=code, mimetype="text/plain")
