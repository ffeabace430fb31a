"""Who is asking: turns each request into a RequestContext."""

from __future__ import annotations

import ipaddress

import flask

from glance_common.context import RequestContext


def strategy(conf) -> str:
    """The effective auth strategy; Glance's ``[paste_deploy] flavor`` counts too."""
    flavor = (conf.paste_deploy.flavor or "").lower()
    if "keystone" in flavor:
        return "keystone"
    return conf.auth_strategy


def check_safe_to_serve(conf) -> None:
    """Refuse to expose a noauth api (everyone an admin) beyond loopback."""
    if strategy(conf) != "noauth" or conf.allow_insecure_noauth:
        return
    try:
        loopback = ipaddress.ip_address(conf.bind_host).is_loopback
    except ValueError:
        loopback = conf.bind_host == "localhost"
    if not loopback:
        raise SystemExit(
            "Refusing to serve auth_strategy = noauth on %s: anyone who reaches "
            "it would be an admin. Bind to 127.0.0.1, configure auth_strategy = "
            "keystone, or set allow_insecure_noauth = true if this is really "
            "intended." % conf.bind_host)


def noauth_context(request_id: str | None) -> RequestContext:
    """Glance's noauth: every request is an admin without a project."""
    return RequestContext.build(None, None, ["admin"], request_id)


def install(app: flask.Flask, conf) -> None:
    """Attach a context to every request as ``flask.g.context``."""
    if strategy(conf) == "keystone":
        raise SystemExit("auth_strategy = keystone is not available in this "
                         "release yet; use noauth on loopback.")

    @app.before_request
    def _context():
        flask.g.context = noauth_context(flask.g.get("request_id"))
