"""glance-api calls the registry with its own service token, never the user's."""

from __future__ import annotations

import pytest
import responses

from glance_api.registry import RegistryClient, RegistryUnavailable
from glance_common.context import RequestContext

REGISTRY = "http://127.0.0.1:8"
ALICE = RequestContext.build("alice", "tenant-a", ["member"], "req-1")


@pytest.fixture
def client(make_conf, keystone):
    return RegistryClient.from_conf(make_conf())


def _registry_calls(keystone) -> list:
    return [c.request for c in keystone.mock.calls if c.request.url.startswith(REGISTRY)]


def test_registry_calls_carry_the_service_token_and_the_users_context(client, keystone):
    keystone.mock.add(responses.GET, REGISTRY + "/images/detail", json={"images": []})
    client.list(ALICE, {})
    sent = _registry_calls(keystone)[-1].headers
    assert sent["X-Auth-Token"] in keystone.tokens
    assert keystone.tokens[sent["X-Auth-Token"]]["token"]["user"]["name"] == "glance"
    assert sent["X-Glance-Context-User"] == "alice"
    assert sent["X-Glance-Context-Project"] == "tenant-a"
    assert sent["X-Glance-Context-Roles"] == "member"


def test_the_service_token_is_reused_until_it_needs_renewing(client, keystone):
    keystone.mock.add(responses.GET, REGISTRY + "/images/detail", json={"images": []})
    for _ in range(3):
        client.list(ALICE, {})
    assert keystone.logins == 1


def test_a_refused_service_token_is_renewed_and_the_call_sent_once_more(client, keystone):
    keystone.mock.add(responses.GET, REGISTRY + "/images/detail", status=401,
                      json={"message": "expired"})
    keystone.mock.add(responses.GET, REGISTRY + "/images/detail", json={"images": []})
    assert client.list(ALICE, {}) == []
    tokens = [r.headers["X-Auth-Token"] for r in _registry_calls(keystone)]
    assert len(tokens) == 2 and tokens[0] != tokens[1]
    assert keystone.logins == 2


def test_wrong_service_credentials_make_the_registry_unavailable(make_conf, keystone):
    from tests.keystone_mock import authtoken_section
    conf = make_conf(keystone_authtoken=authtoken_section(password="wrong"))
    client = RegistryClient.from_conf(conf)
    with pytest.raises(RegistryUnavailable):
        client.list(ALICE, {})


def test_noauth_sends_no_token(make_conf, keystone):
    client = RegistryClient.from_conf(make_conf({"auth_strategy": "noauth"}))
    keystone.mock.add(responses.GET, REGISTRY + "/images/detail", json={"images": []})
    client.list(ALICE, {})
    assert "X-Auth-Token" not in _registry_calls(keystone)[-1].headers
    assert keystone.logins == 0
