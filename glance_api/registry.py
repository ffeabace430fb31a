"""The api's client of glance-registry: pooled connections, one _request()."""

from __future__ import annotations

import http.client
import json as jsonlib
import logging
import urllib.parse
from typing import Any

from glance_api.connections import ConnectionPool, ssl_context
from glance_common.context import RequestContext

LOG = logging.getLogger(__name__)
HEALTH_TIMEOUT = 5.0  # seconds


class RegistryError(Exception):
    """The registry refused a call; carries its status code and message."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class RegistryUnavailable(Exception):
    """The registry could not be reached or failed internally."""


class RegistryClient:
    """Calls the registry's internal JSON API on behalf of a request context."""

    def __init__(self, base_url: str, timeout: float, pool_size: int = 10,
                 ca_file: str | None = None, auth: ServiceTokenAuth | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.auth = auth
        context = ssl_context(ca_file) if base_url.startswith("https:") else None
        self.pool = ConnectionPool(self.base_url, pool_size, context)

    @classmethod
    def from_conf(cls, conf) -> "RegistryClient":
        """Build the client from glance-api's [DEFAULT] registry options."""
        host = conf.registry_host
        if ":" in host and not host.startswith("["):
            host = "[%s]" % host
        url = "%s://%s:%d" % (conf.registry_client_protocol, host, conf.registry_port)
        auth = None
        if _strategy(conf) == "keystone":
            from glance_common import keystone
            auth = ServiceTokenAuth(keystone.service_session(conf))
        return cls(url, conf.registry_client_timeout, pool_size=conf.threads,
                   ca_file=conf.registry_client_ca_file, auth=auth)

    def _request(self, ctx: RequestContext, method: str, path: str,
                 json: Any = None, params: Any = None,
                 timeout: float | None = None) -> Any:
        headers = ctx.to_headers()
        headers["Accept"] = "application/json"
        body = None
        if json is not None:
            body = jsonlib.dumps(json).encode()
            headers["Content-Type"] = "application/json"
        if params:
            path += "?" + urllib.parse.urlencode(params, doseq=True)
        answer = self._send(method, path, body, headers, timeout or self.timeout)
        if answer.status == 401 and self.auth is not None:
            # The service token was revoked, or Keystone's keys rotated
            # early: renew it and send the call once more.
            self.auth.invalidate()
            answer = self._send(method, path, body, headers, timeout or self.timeout)
        if answer.status >= 500:
            LOG.error("Registry %s %s answered %d: %s", method, path,
                      answer.status, answer.body[:500].decode(errors="replace"))
            raise RegistryUnavailable(
                "The image registry failed (HTTP %d)." % answer.status)
        if answer.status >= 400:
            raise RegistryError(answer.status, _message(answer))
        if "json" not in answer.headers.get("Content-Type", ""):
            return None
        return jsonlib.loads(answer.body)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict,
              timeout: float):
        try:
            if self.auth is not None:
                headers["X-Auth-Token"] = self.auth.token()
            return self.pool.request(method, path, body, headers, timeout)
        except (OSError, http.client.HTTPException) as exc:
            LOG.error("Registry %s %s failed: %s", method, path, exc)
            raise RegistryUnavailable(
                "The image registry is unavailable: %s" % type(exc).__name__) from exc

    # Images

    def list(self, ctx: RequestContext, params: dict, detail: bool = True) -> list[dict]:
        """One page of images visible to ``ctx`` (full records when ``detail``)."""
        path = "/images/detail" if detail else "/images"
        return self._request(ctx, "GET", path, params=params)["images"]

    def get(self, ctx: RequestContext, image_id: str) -> dict:
        """One image, or RegistryError(404) when ``ctx`` cannot see it."""
        return self._request(ctx, "GET", "/images/%s" % _quote(image_id))["image"]

    def create(self, ctx: RequestContext, image: dict) -> dict:
        """Record a new image."""
        return self._request(ctx, "POST", "/images", json={"image": image})["image"]

    def update(self, ctx: RequestContext, image_id: str, changes: dict,
               from_state: str | None = None, purge_props: bool = False) -> dict:
        """Change an image; with ``from_state`` only if its status is still that."""
        body = {"image": changes, "from_state": from_state, "purge_props": purge_props}
        return self._request(ctx, "PUT", "/images/%s" % _quote(image_id), json=body)["image"]

    def delete(self, ctx: RequestContext, image_id: str, pending: bool = False) -> dict:
        """Soft-delete an image; returns it with its locations."""
        params = {"status": "pending_delete"} if pending else None
        return self._request(ctx, "DELETE", "/images/%s" % _quote(image_id),
                             params=params)["image"]

    # Members

    def members(self, ctx: RequestContext, image_id: str) -> list[dict]:
        """The members of an image."""
        return self._request(ctx, "GET", "/images/%s/members" % _quote(image_id))["members"]

    def add_member(self, ctx: RequestContext, image_id: str, member: str,
                   can_share: bool | None) -> None:
        """Add a member or change its can_share."""
        body = None if can_share is None else {"member": {"can_share": can_share}}
        self._request(ctx, "PUT", "/images/%s/members/%s"
                      % (_quote(image_id), _quote(member)), json=body)

    def replace_members(self, ctx: RequestContext, image_id: str,
                        memberships: list[dict]) -> None:
        """Make the member list exactly ``memberships``."""
        self._request(ctx, "PUT", "/images/%s/members" % _quote(image_id),
                      json={"memberships": memberships})

    def delete_member(self, ctx: RequestContext, image_id: str, member: str) -> None:
        """Remove one member."""
        self._request(ctx, "DELETE", "/images/%s/members/%s"
                      % (_quote(image_id), _quote(member)))

    def shared_images(self, ctx: RequestContext, member: str) -> list[dict]:
        """The images shared with ``member``."""
        return self._request(ctx, "GET", "/shared-images/%s" % _quote(member))["shared_images"]

    # Quota accounting

    def reserve(self, ctx: RequestContext, image_id: str, at_least: int,
                wanted: int, quota: int) -> int:
        """Hold ``wanted`` bytes (at least ``at_least``) for a saving image
        under its project's ``quota``; returns the bytes now held.

        Checking the project's usage and holding the bytes are one atomic
        step in the registry, so concurrent uploads cannot both slip under
        the quota. RegistryError(413) when not even ``at_least`` fits.
        """
        body = {"at_least": at_least, "wanted": wanted, "quota": quota}
        return self._request(ctx, "PUT", "/images/%s/reservation" % _quote(image_id),
                             json=body)["reserved"]

    def healthy(self, ctx: RequestContext) -> bool:
        """True when the registry and its database answer."""
        try:
            # A load balancer's probe wants an answer now, not after the
            # long timeout that big metadata calls are allowed.
            self._request(ctx, "GET", "/healthcheck", timeout=HEALTH_TIMEOUT)
        except (RegistryError, RegistryUnavailable):
            return False
        return True


class ServiceTokenAuth:
    """glance-api's own service token, put on every registry call.

    The token comes from a keystoneauth1 session holding the service
    credentials of ``[keystone_authtoken]``; the session renews it before it
    expires, so a long upload outlives any user's token.
    """

    def __init__(self, session):
        self._session = session

    def token(self) -> str:
        """The current token; ConnectionError when Keystone gives none."""
        from keystoneauth1 import exceptions as ks_exc
        try:
            return self._session.get_token()
        except ks_exc.ClientException as exc:
            LOG.error("Could not get a service token from Keystone: %s", exc)
            raise ConnectionError(
                "no service token from Keystone: %s" % type(exc).__name__) from exc

    def invalidate(self) -> None:
        """Forget the token, so the next call fetches a new one."""
        self._session.invalidate()


def _strategy(conf) -> str:
    from glance_api.auth import strategy
    return strategy(conf)


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _message(answer) -> str:
    try:
        return jsonlib.loads(answer.body)["message"]
    except (ValueError, KeyError, TypeError):
        return answer.body.decode(errors="replace").strip() or answer.reason
