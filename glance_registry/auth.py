"""Who is calling: the one place a request becomes a RequestContext."""

from __future__ import annotations

import flask

from glance_common.context import RequestContext


def context_from_request(request: flask.Request, request_id: str | None
                         ) -> RequestContext:
    """The identity the request acts with.

    The registry binds to loopback and, for now, trusts the context headers
    glance-api sends from any caller that can reach it. When the registry
    learns Keystone, this function is where it will first require proof
    (a validated service token with the ``service`` or ``admin`` role) and
    reject the headers otherwise; nothing else in the registry changes.
    Without headers the caller is anonymous: no user, no project, no roles.
    """
    return RequestContext.from_headers(request.headers, request_id)
