"""The api's client of glance-registry: one pooled session, one _request()."""

from __future__ import annotations

import logging
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

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
                 verify: bool | str = True, auth=None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        # An internal call: no proxies or .netrc from the environment (and
        # no per-request scan of os.environ for them).
        self.session.trust_env = False
        self.session.verify = verify
        self.session.auth = auth
        # Retry only failures to connect: those never reached the registry,
        # so repeating them cannot apply a change twice.
        retry = Retry(total=2, connect=2, read=0, status=0, other=0,
                      redirect=0, backoff_factor=0.1, allowed_methods=None)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size,
                              max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @classmethod
    def from_conf(cls, conf) -> "RegistryClient":
        """Build the client from glance-api's [DEFAULT] registry options."""
        host = conf.registry_host
        if ":" in host and not host.startswith("["):
            host = "[%s]" % host
        url = "%s://%s:%d" % (conf.registry_client_protocol, host, conf.registry_port)
        verify: bool | str = conf.registry_client_ca_file or True
        auth = None
        if _strategy(conf) == "keystone":
            from glance_common import keystone
            auth = ServiceTokenAuth(keystone.service_session(conf))
        return cls(url, conf.registry_client_timeout, pool_size=conf.threads,
                   verify=verify, auth=auth)

    def _request(self, ctx: RequestContext, method: str, path: str,
                 json: Any = None, params: Any = None,
                 timeout: float | None = None) -> Any:
        headers = ctx.to_headers()
        headers["Accept"] = "application/json"
        try:
            resp = self.session.request(method, self.base_url + path, json=json,
                                        params=params, headers=headers,
                                        timeout=timeout or self.timeout)
        except requests.RequestException as exc:
            LOG.error("Registry %s %s failed: %s", method, path, exc)
            raise RegistryUnavailable(
                "The image registry is unavailable: %s" % type(exc).__name__) from exc
        if resp.status_code >= 500:
            LOG.error("Registry %s %s answered %d: %s", method, path,
                      resp.status_code, resp.text[:500])
            raise RegistryUnavailable(
                "The image registry failed (HTTP %d)." % resp.status_code)
        if resp.status_code >= 400:
            raise RegistryError(resp.status_code, _message(resp))
        if "json" not in resp.headers.get("Content-Type", ""):
            return None
        return resp.json()

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


class ServiceTokenAuth(requests.auth.AuthBase):
    """Puts glance-api's own service token on every registry call.

    The token comes from a keystoneauth1 session holding the service
    credentials of ``[keystone_authtoken]``; the session renews it before it
    expires, so a long upload outlives any user's token. A 401 (the token
    was revoked, or Keystone's keys rotated early) drops the cached token
    and sends the call once more with a fresh one.
    """

    def __init__(self, session):
        self._session = session

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Auth-Token"] = self._token()
        request.register_hook("response", self._retry_on_401)
        return request

    def _token(self) -> str:
        from keystoneauth1 import exceptions as ks_exc
        try:
            return self._session.get_token()
        except ks_exc.ClientException as exc:
            LOG.error("Could not get a service token from Keystone: %s", exc)
            raise requests.ConnectionError(
                "no service token from Keystone: %s" % type(exc).__name__) from exc

    def _retry_on_401(self, response: requests.Response, **kwargs) -> requests.Response:
        if response.status_code != 401:
            return response
        self._session.invalidate()
        retry = response.request.copy()
        retry.deregister_hook("response", self._retry_on_401)
        retry.headers["X-Auth-Token"] = self._token()
        response.content  # noqa: B018 - read it so the connection is reusable
        response.close()
        again = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again


def _strategy(conf) -> str:
    from glance_api.auth import strategy
    return strategy(conf)


def _quote(part: str) -> str:
    return requests.utils.quote(part, safe="")


def _message(resp: requests.Response) -> str:
    try:
        return resp.json()["message"]
    except (ValueError, KeyError, TypeError):
        return resp.text.strip() or resp.reason
