"""glance-api calls the registry with its own service token, never the user's.

Keystone is the ``responses`` stand-in; the registry is a real HTTP server on
127.0.0.1 that answers from a script and records what it received.
"""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from glance_api.registry_client import RegistryClient
from glance_api.registry_client import Unavailable
from glance_common.context import RequestContext

ALICE = RequestContext.build("alice", "tenant-a", ["member"], "req-1")


class ScriptedRegistry(http.server.ThreadingHTTPServer):
    """Answers each request with the next scripted (status, body); records it."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[tuple[int, dict]] = []
        self.received: list[dict] = []
        self.port = self.server_address[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.received.append(dict(self.headers))
        status, body = (self.server.script.pop(0) if self.server.script
                        else (200, {"images": []}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def registry():
    server = ScriptedRegistry()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def conf(make_conf, registry):
    def _conf(**overrides):
        default = {"registry_port": registry.port}
        default.update(overrides.pop("default", {}))
        return make_conf(default, **overrides)
    return _conf


@pytest.fixture
def client(conf, keystone):
    return RegistryClient.from_conf(conf())


def test_registry_calls_carry_the_service_token_and_the_users_context(
        client, keystone, registry):
    client.list(ALICE, {})
    sent = registry.received[-1]
    assert sent["X-Auth-Token"] in keystone.tokens
    assert keystone.tokens[sent["X-Auth-Token"]]["token"]["user"]["name"] == "glance"
    assert sent["X-Glance-Context-User"] == "alice"
    assert sent["X-Glance-Context-Project"] == "tenant-a"
    assert sent["X-Glance-Context-Roles"] == "member"


def test_the_service_token_is_reused_until_it_needs_renewing(client, keystone, registry):
    for _ in range(3):
        client.list(ALICE, {})
    assert keystone.logins == 1
    assert len({r["X-Auth-Token"] for r in registry.received}) == 1


def test_a_refused_service_token_is_renewed_and_the_call_sent_once_more(
        client, keystone, registry):
    registry.script.append((401, {"message": "expired"}))
    assert client.list(ALICE, {}) == []
    tokens = [r["X-Auth-Token"] for r in registry.received]
    assert len(tokens) == 2 and tokens[0] != tokens[1]
    assert keystone.logins == 2


def test_a_second_refusal_is_not_retried_again_and_makes_the_registry_unavailable(
        client, keystone, registry):
    registry.script += [(401, {"message": "no"}), (401, {"message": "still no"})]
    with pytest.raises(Unavailable, match="refused glance-api's call"):
        client.list(ALICE, {})
    assert len(registry.received) == 2


def test_wrong_service_credentials_make_the_registry_unavailable(conf, keystone, registry):
    from tests.keystone_mock import authtoken_section
    client = RegistryClient.from_conf(
        conf(keystone_authtoken=authtoken_section(password="wrong")))
    with pytest.raises(Unavailable):
        client.list(ALICE, {})
    assert registry.received == []


def test_noauth_sends_no_token(conf, keystone, registry):
    client = RegistryClient.from_conf(conf(default={"auth_strategy": "noauth"}))
    client.list(ALICE, {})
    assert "X-Auth-Token" not in registry.received[-1]
    assert keystone.logins == 0
