"""The request context: who is asking, and how it travels from api to registry."""

from __future__ import annotations

import dataclasses

# The api forwards the caller's identity in headers of our own naming, because
# keystonemiddleware in front of the registry overwrites X-User-Id, X-Roles and
# X-Project-Id with the identity of the api's own service token.
USER_HEADER = "X-Glance-Context-User"
PROJECT_HEADER = "X-Glance-Context-Project"
ROLES_HEADER = "X-Glance-Context-Roles"
REQUEST_ID_HEADER = "X-Openstack-Request-Id"


@dataclasses.dataclass(frozen=True)
class RequestContext:
    """The identity a request acts with; immutable once built by the auth layer."""

    user_id: str | None = None
    project_id: str | None = None
    roles: tuple[str, ...] = ()
    request_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """Glance compared role names case-insensitively; so do we."""
        return "admin" in self.roles

    @classmethod
    def build(cls, user_id, project_id, roles, request_id=None) -> "RequestContext":
        """Make a context, normalising role names to lower case."""
        norm = tuple(sorted({r.strip().lower() for r in roles if r and r.strip()}))
        return cls(user_id or None, project_id or None, norm, request_id)

    def to_headers(self) -> dict[str, str]:
        """The headers that carry this context to the registry."""
        headers = {ROLES_HEADER: ",".join(self.roles)}
        if self.user_id:
            headers[USER_HEADER] = self.user_id
        if self.project_id:
            headers[PROJECT_HEADER] = self.project_id
        if self.request_id:
            headers[REQUEST_ID_HEADER] = self.request_id
        return headers

    @classmethod
    def from_headers(cls, headers, request_id=None) -> "RequestContext":
        """Read a context sent by to_headers(); the caller decides whether to trust it."""
        roles = (headers.get(ROLES_HEADER) or "").split(",")
        return cls.build(headers.get(USER_HEADER), headers.get(PROJECT_HEADER),
                         roles, request_id)
