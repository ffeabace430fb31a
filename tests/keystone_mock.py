"""A Keystone stand-in for unit tests, built on ``responses``.

It answers the three calls keystonemiddleware and keystoneauth1 make:
version discovery (``GET /v3``), a service user's password login (``POST
/v3/auth/tokens``, whose token carries a catalog with the identity endpoint)
and token validation (``GET /v3/auth/tokens`` with ``X-Subject-Token``).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import responses
from keystoneauth1 import fixture as ks_fixture

AUTH_URL = "http://127.0.0.1:9/v3"  # discard port: nothing real ever answers
SERVICE_PASSWORD = "service-secret"


def authtoken_section(**overrides) -> dict:
    """``[keystone_authtoken]`` as an operator writes it, pointed at the stand-in."""
    section = {
        "www_authenticate_uri": AUTH_URL, "auth_url": AUTH_URL,
        "auth_type": "password", "username": "glance",
        "password": SERVICE_PASSWORD, "project_name": "service",
        "user_domain_name": "Default", "project_domain_name": "Default",
        # Every request validates again: tests revoke and swap tokens.
        "token_cache_time": -1,
    }
    section.update(overrides)
    return section


class FakeKeystone:
    """Tokens it issued, and what each call it received asked for."""

    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock
        self.tokens: dict[str, dict] = {}
        self.logins = 0
        self.validations: list[str] = []
        mock.add(responses.GET, AUTH_URL, json=ks_fixture.V3Discovery(AUTH_URL))
        mock.add_callback(responses.POST, AUTH_URL + "/auth/tokens", callback=self._login)
        mock.add_callback(responses.GET, AUTH_URL + "/auth/tokens", callback=self._validate)

    def issue(self, user: str, project: str | None, roles: list[str]) -> str:
        """A new valid token for ``user`` in ``project`` with ``roles``."""
        token = ks_fixture.V3Token(user_id=user, user_name=user,
                                   user_domain_id="default", user_domain_name="Default")
        if project:
            token.set_project_scope(id=project, name=project, domain_id="default",
                                    domain_name="Default")
        for role in roles:
            token.add_role(name=role)
        service = token.add_service("identity")
        service.add_standard_endpoints(public=AUTH_URL, internal=AUTH_URL,
                                       admin=AUTH_URL, region="RegionOne")
        token_id = "tok-%s-%s" % (user, uuid.uuid4().hex)
        self.tokens[token_id] = token
        return token_id

    def revoke(self, token_id: str) -> None:
        """Make Keystone answer 404 for this token from now on."""
        self.tokens.pop(token_id, None)

    def _login(self, request):
        body = json.loads(request.body)
        password = body["auth"]["identity"]["password"]["user"]
        if password.get("password") != SERVICE_PASSWORD:
            return 401, {}, json.dumps({"error": {"code": 401, "message": "bad"}})
        self.logins += 1
        token_id = self.issue(password["name"], "service", ["service"])
        return 201, {"X-Subject-Token": token_id}, json.dumps(self.tokens[token_id])

    def _validate(self, request):
        caller = request.headers.get("X-Auth-Token")
        subject = request.headers.get("X-Subject-Token")
        self.validations.append(subject)
        if caller not in self.tokens:
            return 401, {}, json.dumps({"error": {"code": 401, "message": "caller"}})
        if subject not in self.tokens:
            return 404, {}, json.dumps({"error": {"code": 404, "message": "no token"}})
        return 200, {"X-Subject-Token": subject}, json.dumps(self.tokens[subject])


def write_conf(path: Path, sections: dict[str, dict]) -> Path:
    """An INI file from {section: {option: value}}."""
    lines = []
    for section, values in sections.items():
        lines.append("[%s]" % section)
        lines.extend("%s = %s" % (k, v) for k, v in values.items())
        lines.append("")
    path.write_text("\n".join(lines))
    return path
