"""Who is calling: the one place a request becomes a RequestContext.

glance-api forwards the end user's identity in ``X-Glance-Context-*``
headers. Under ``auth_strategy = noauth`` the registry believes them from
anyone who can reach it (it binds to loopback). Under ``keystone`` every
caller first proves itself with a token keystonemiddleware validates, and
the forwarded identity is believed only from a caller holding the
``service`` or ``admin`` role, which is how glance-api's service user
acts for its users. Any other caller acts as itself, and sending identity
headers is refused: that is someone claiming to be someone else.

Such a direct caller may only read (visibility still applies). Every write
is glance-api's: the registry decides no policy (who may change, publicise,
delete or share an image is enforced by the api, see ``images``), so a
write that did not come through the api would skip those decisions.
"""

from __future__ import annotations

import flask

from glance_common import keystone
from glance_common.context import PROJECT_HEADER
from glance_common.context import ROLES_HEADER
from glance_common.context import USER_HEADER
from glance_common.context import RequestContext
from glance_registry.errors import Forbidden
from glance_registry.errors import Unauthenticated

PUBLIC_PATHS = ("/healthcheck",)
TRUSTED_ROLES = frozenset({"service", "admin"})
FORWARDED = (USER_HEADER, PROJECT_HEADER, ROLES_HEADER)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def install(app: flask.Flask, conf) -> None:
    """Put token validation in front of ``app`` when the strategy is keystone."""
    if conf.auth_strategy == "keystone":
        app.wsgi_app = keystone.protect(app.wsgi_app, conf, PUBLIC_PATHS)


def context_from_request(request: flask.Request, request_id: str | None,
                         strategy: str = "noauth") -> RequestContext:
    """The identity the request acts with.

    Without identity headers (noauth), or on a public path (keystone), the
    caller is anonymous: no user, no project, no roles.
    """
    if strategy != "keystone":
        return RequestContext.from_headers(request.headers, request_id)
    caller = keystone.identity(request.environ)
    if caller is None:
        return RequestContext.build(None, None, [], request_id)
    if not caller.confirmed:
        raise Unauthenticated("The request you have made requires authentication.")
    if TRUSTED_ROLES & {r.lower() for r in caller.roles}:
        return RequestContext.from_headers(request.headers, request_id)
    if any(name in request.headers for name in FORWARDED):
        raise Forbidden("Only glance-api (a caller with the service or admin "
                        "role) may act for another identity.")
    if request.method not in READ_METHODS:
        raise Forbidden("Only glance-api (a caller with the service or admin "
                        "role) may change the registry; other callers may "
                        "only read.")
    return RequestContext.build(caller.user_id, caller.project_id, caller.roles,
                                request_id)
