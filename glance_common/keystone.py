"""Keystone in front of a daemon: token validation and the identity it yields.

Both daemons put keystonemiddleware's ``auth_token`` in front of their Flask
app, configured from the ``[keystone_authtoken]`` section of their own config
file, exactly as an operator writes it for Glance. keystonemiddleware, and
keystoneauth1 with it, is imported only here and only when a daemon runs
with ``auth_strategy = keystone``, so the noauth default stays light.
"""

from __future__ import annotations

import dataclasses
from typing import Callable
from typing import Iterable

GROUP = "keystone_authtoken"
# Set in the WSGI environ of requests whose token auth_token validated; a
# request that reached the app around the middleware (a public path) lacks it.
VALIDATED = "glance.token_validated"


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who a validated token belongs to, as auth_token reports it."""

    user_id: str | None
    project_id: str | None
    roles: tuple[str, ...]
    confirmed: bool


def register_opts(conf) -> None:
    """Register keystonemiddleware's ``[keystone_authtoken]`` options on ``conf``."""
    from keystonemiddleware import auth_token

    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)


def protect(wsgi_app: Callable, conf, public_paths: Iterable[str] = ()) -> Callable:
    """``wsgi_app`` behind auth_token, except for ``public_paths`` (health, versions).

    auth_token answers a missing or invalid token itself: 401 with
    ``WWW-Authenticate: Keystone uri=...``. It also strips identity headers
    a caller sent, so what reaches the app was put there by the middleware.
    """
    from keystonemiddleware import auth_token

    register_opts(conf)
    public = frozenset(p.rstrip("/") for p in public_paths)

    def validated(environ, start_response):
        environ[VALIDATED] = True
        return wsgi_app(environ, start_response)

    guarded = auth_token.AuthProtocol(validated, {"oslo_config_config": conf})

    def dispatch(environ, start_response):
        if (environ.get("PATH_INFO") or "/").rstrip("/") in public:
            return wsgi_app(environ, start_response)
        return guarded(environ, start_response)

    return dispatch


def identity(environ: dict) -> Identity | None:
    """The identity auth_token validated for this request; None on a public path."""
    if not environ.get(VALIDATED):
        return None
    roles = tuple(r.strip() for r in (environ.get("HTTP_X_ROLES") or "").split(",")
                  if r.strip())
    return Identity(
        user_id=environ.get("HTTP_X_USER_ID") or None,
        project_id=(environ.get("HTTP_X_PROJECT_ID")
                    or environ.get("HTTP_X_TENANT_ID") or None),
        roles=roles,
        confirmed=environ.get("HTTP_X_IDENTITY_STATUS") == "Confirmed")


def www_authenticate(conf) -> dict[str, str]:
    """The header a 401 carries, naming where to get a token."""
    group = getattr(conf, GROUP)
    uri = group.www_authenticate_uri or group.auth_uri
    return {"WWW-Authenticate": 'Keystone uri="%s"' % uri} if uri else {}


def service_session(conf):
    """A keystoneauth1 session holding this daemon's own service credentials.

    The credentials are those of ``[keystone_authtoken]`` (auth_type,
    auth_url, username, password, project_name, ...), the ones auth_token
    itself uses to validate tokens. The session renews its token before it
    expires. TLS settings come from the same section's cafile, certfile,
    keyfile and insecure; keystoneauth1's own session options have those
    names too, so registering them beside keystonemiddleware's would clash.
    """
    from keystoneauth1 import loading

    register_opts(conf)
    auth = loading.load_auth_from_conf_options(conf, GROUP)
    if auth is None:
        raise ValueError("[%s] has no auth_type: glance-api needs service "
                         "credentials there to call the registry." % GROUP)
    group = getattr(conf, GROUP)
    return loading.session.Session().load_from_options(
        auth=auth, cacert=group.cafile, insecure=group.insecure,
        cert=group.certfile, key=group.keyfile,
        timeout=group.http_connect_timeout)
