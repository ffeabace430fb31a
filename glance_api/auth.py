"""Who is asking: turns each request into a RequestContext."""

from __future__ import annotations

import flask

from glance_api.exceptions import Unauthorized
from glance_api.options import strategy
from glance_common import keystone
from glance_common.context import RequestContext
from glance_common.options import refuse_open_noauth

# Answered without a token, as Glance's pipeline did (health checks from load
# balancers, version discovery by clients before they authenticate).
PUBLIC_PATHS = ("/", "/versions", "/healthcheck")


def check_safe_to_serve(conf) -> None:
    """Refuse to expose a noauth api (everyone an admin) beyond loopback."""
    refuse_open_noauth(strategy(conf), conf)


def noauth_context(request_id: str | None) -> RequestContext:
    """Glance's noauth: every request is an admin without a project."""
    return RequestContext.build(None, None, ["admin"], request_id)


def keystone_context(environ: dict, request_id: str | None, conf) -> RequestContext:
    """The context of a token auth_token validated; anonymous on public paths.

    With ``delay_auth_decision`` an invalid token still reaches the app; it
    is refused here the way auth_token would have refused it.
    """
    who = keystone.identity(environ)
    if who is None:
        return RequestContext.build(None, None, [], request_id)
    if not who.confirmed:
        raise Unauthorized("The request you have made requires "
                                  "authentication.", keystone.www_authenticate(conf))
    return RequestContext.build(who.user_id, who.project_id, who.roles, request_id)


def install(app: flask.Flask, conf) -> None:
    """Attach a context to every request as ``flask.g.context``."""
    if strategy(conf) == "keystone":
        app.wsgi_app = keystone.protect(app.wsgi_app, conf, PUBLIC_PATHS)

        @app.before_request
        def _keystone():
            flask.g.context = keystone_context(
                flask.request.environ, flask.g.get("request_id"), conf)
        return

    @app.before_request
    def _noauth():
        flask.g.context = noauth_context(flask.g.get("request_id"))
