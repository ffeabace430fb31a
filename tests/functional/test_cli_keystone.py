"""The ``glance`` command's Keystone path: a mocked Keystone, a real image service.

Keystone is faked with ``responses`` (version discovery and POST
/v3/auth/tokens, answering a token and a catalog); everything sent to the
real api passes through, so the command must find the image endpoint in the
catalog and reach the real server with the token it got.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests
import responses

from glance_cli import shell
from tests.pairs import Glance
from tests.pairs import database

AUTH_URL = "http://keystone.test:5000/v3"
TOKEN = "gAAAA-token-" + uuid.uuid4().hex
DEAD = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """One pair on SQLite for the whole module."""
    pair = Glance(tmp_path_factory.mktemp("cli-keystone"),
                  database(request, tmp_path_factory, "sqlite"))
    yield pair
    pair.stop()


@pytest.fixture
def image_id(server) -> str:
    """An image on the real server, made before Keystone is mocked."""
    resp = requests.post(server.url + "/v1/images", headers={
        "x-image-meta-name": "via keystone", "x-image-meta-disk_format": "raw",
        "x-image-meta-container_format": "bare"})
    resp.raise_for_status()
    return resp.json()["image"]["id"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME",
                 "OS_TENANT_NAME", "OS_PROJECT_ID", "OS_USER_DOMAIN_NAME",
                 "OS_PROJECT_DOMAIN_NAME", "OS_INTERFACE", "OS_REGION_NAME",
                 "OS_AUTH_TOKEN", "OS_IMAGE_URL", "OS_USER_ID", "OS_TENANT_ID",
                 "OS_USER_DOMAIN_ID", "OS_PROJECT_DOMAIN_ID", "OS_CACERT",
                 "OS_ENDPOINT_TYPE", "OS_IMAGE_API_VERSION", "OS_CERT", "OS_KEY"):
        monkeypatch.delenv(name, raising=False)


def endpoint(url: str, interface: str = "public", region: str = "RegionOne") -> dict:
    return {"id": uuid.uuid4().hex, "interface": interface, "region": region,
            "region_id": region, "url": url}


def token_body(catalog: list[dict]) -> dict:
    domain = {"id": "default", "name": "Default"}
    return {"token": {
        "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
        "issued_at": "2024-01-01T00:00:00.000000Z",
        "user": {"id": "u1", "name": "demo", "domain": domain},
        "project": {"id": "p1", "name": "demo", "domain": domain},
        "roles": [{"id": "r1", "name": "member"}],
        "catalog": catalog}}


@pytest.fixture
def keystone(server):
    """A mocked Keystone; ``keystone.catalog(...)`` sets what it answers."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(server.url)
        mock.add(responses.GET, AUTH_URL, json={"version": {
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": AUTH_URL + "/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}})

        def catalog(endpoints: list[dict] | None, status: int = 201) -> None:
            services = [] if endpoints is None else [
                {"id": "s1", "type": "image", "name": "glance", "endpoints": endpoints}]
            body = token_body(services) if status == 201 else {"error": {
                "code": status, "title": "Unauthorized",
                "message": "The request you have made requires authentication."}}
            mock.add(responses.POST, AUTH_URL + "/auth/tokens", json=body, status=status,
                     headers={"X-Subject-Token": TOKEN} if status == 201 else {})

        mock.catalog = catalog
        yield mock


LOGIN = ["--os-auth-url", AUTH_URL, "--os-username", "demo", "--os-password", "secret",
         "--os-project-name", "demo", "--os-user-domain-name", "Default",
         "--os-project-domain-name", "Default"]


@pytest.fixture
def sent(monkeypatch) -> list:
    """Every request the command sends through requests, passed-through ones too."""
    requests_sent = []
    real_send = requests.Session.send

    def send(self, request, **kwargs):
        requests_sent.append(request)
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return requests_sent


def test_password_login_finds_the_image_endpoint_and_sends_the_token(
        keystone, server, image_id, capsys, sent):
    keystone.catalog([endpoint(server.url)])
    assert shell.main([*LOGIN, "image-show", image_id]) == 0
    out = capsys.readouterr().out
    assert image_id in out and "via keystone" in out
    login = json.loads(next(c.request.body for c in keystone.calls
                            if c.request.url.endswith("/auth/tokens")))
    identity = login["auth"]["identity"]
    assert identity["password"]["user"] == {"name": "demo", "password": "secret",
                                            "domain": {"name": "Default"}}
    assert login["auth"]["scope"]["project"] == {"name": "demo",
                                                 "domain": {"name": "Default"}}
    to_images = [r for r in sent if r.url.startswith(server.url)]
    assert to_images and all(r.headers["X-Auth-Token"] == TOKEN for r in to_images)


def test_environment_variables_and_interface_choose_the_endpoint(
        keystone, server, image_id, capsys, monkeypatch):
    keystone.catalog([endpoint(DEAD, "public"), endpoint(server.url, "internal")])
    for name, value in (("OS_AUTH_URL", AUTH_URL), ("OS_USERNAME", "demo"),
                        ("OS_PASSWORD", "secret"), ("OS_PROJECT_NAME", "demo"),
                        ("OS_USER_DOMAIN_NAME", "Default"),
                        ("OS_PROJECT_DOMAIN_NAME", "Default"), ("OS_INTERFACE", "internal")):
        monkeypatch.setenv(name, value)
    assert shell.main(["image-show", image_id]) == 0
    assert image_id in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--os-endpoint-type", "--os-interface"])
def test_endpoint_type_is_the_classic_spelling_of_interface(keystone, server, image_id, capsys,
                                                            option):
    keystone.catalog([endpoint(DEAD, "public"), endpoint(server.url, "internal")])
    assert shell.main([*LOGIN, option, "internalURL", "image-show", image_id]) == 0
    assert image_id in capsys.readouterr().out


def test_region_chooses_the_endpoint(keystone, server, image_id, capsys):
    keystone.catalog([endpoint(DEAD, region="RegionOne"),
                      endpoint(server.url + "/v1", region="RegionTwo")])
    assert shell.main([*LOGIN, "--os-region-name", "RegionTwo", "image-show", image_id]) == 0
    assert image_id in capsys.readouterr().out


def test_public_interface_is_the_default(keystone, server, image_id, capsys):
    keystone.catalog([endpoint(DEAD, "internal"), endpoint(server.url, "public")])
    assert shell.main([*LOGIN, "image-show", image_id]) == 0
    assert image_id in capsys.readouterr().out


def test_refused_credentials_are_one_line(keystone, capsys):
    keystone.catalog(None, status=401)
    assert shell.main([*LOGIN, "image-list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Keystone at %s refused the credentials" % AUTH_URL)
    assert len(err.strip().splitlines()) == 1


def test_a_catalog_without_an_image_endpoint_is_one_line(keystone, capsys):
    keystone.catalog([])
    assert shell.main([*LOGIN, "image-list"]) == 1
    err = capsys.readouterr().err
    assert "no public endpoint of type 'image'" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_password_fails_before_asking_keystone(keystone, capsys):
    assert shell.main(["--os-auth-url", AUTH_URL, "--os-username", "demo",
                       "image-list"]) == 1
    assert capsys.readouterr().err.strip() == (
        "You must provide a password via --os-password or OS_PASSWORD.")
    assert len(keystone.calls) == 0
