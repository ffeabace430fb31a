"""TLS end to end (client -> api -> registry), and links behind a TLS-terminating
load balancer that only trusted proxies may describe."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys

import pytest
import requests

from tests import daemons
from tests.pairs import migrate


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert_file, key_file)."""
    base = tmp_path_factory.mktemp("tls")
    cert_file, key_file = str(base / "cert.pem"), str(base / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key_file, "-out", cert_file, "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert_file, key_file


def _start(kind: str, base, cert, scheme: str, **defaults) -> daemons.Daemon:
    cert_file, key_file = cert
    port = daemons.free_port()
    values = {"bind_host": "127.0.0.1", "bind_port": port, "workers": 1, "threads": 4,
              "cert_file": cert_file, "key_file": key_file}
    values.update(defaults)
    sections = {"DEFAULT": values}
    if kind == "registry":
        sections["database"] = {"connection": defaults.pop("connection")}
        values.pop("connection")
    else:
        sections["glance_store"] = {"stores": "file", "default_store": "file",
                                    "filesystem_store_datadir": str(base / "images")}
    config = daemons.write_config(base / ("glance-%s.conf" % kind), sections)
    module = "glance_registry.cmd" if kind == "registry" else "glance_api.cmd"
    return daemons.start("glance-" + kind, [sys.executable, "-m", module, "--config-file",
                                            str(config)],
                         config, port, base / ("glance-%s.log" % kind),
                         scheme=scheme, verify=cert[0])


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory, cert):
    base = tmp_path_factory.mktemp("tls-pair")
    url = "sqlite:///%s" % (base / "glance.sqlite")
    migrate(url)
    registry = _start("registry", base, cert, "https", connection=url)
    api = _start("api", base, cert, "https", registry_port=registry.port,
                 registry_client_protocol="https", registry_client_ca_file=cert[0])
    yield registry, api, base
    api.stop()
    registry.stop()


def test_an_image_round_trips_over_tls_end_to_end(tls_pair, cert):
    registry, api, _ = tls_pair
    data = os.urandom(2 * 1024 * 1024 + 5)
    created = requests.post(api.url + "/v1/images", data=data, verify=cert[0], headers={
        "x-image-meta-name": "secure", "x-image-meta-disk_format": "raw",
        "x-image-meta-container_format": "bare",
        "Content-Type": "application/octet-stream"})
    assert created.status_code == 201, created.text
    image = created.json()["image"]
    assert created.headers["Location"] == "%s/v1/images/%s" % (api.url, image["id"])
    assert created.headers["Location"].startswith("https://")
    got = requests.get(created.headers["Location"], verify=cert[0])
    assert got.content == data
    # The registry really speaks TLS only, and really recorded the image.
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:%d/healthcheck" % registry.port, timeout=5)
    record = requests.get(registry.url + "/images/" + image["id"], verify=cert[0],
                          headers={"X-Glance-Context-Roles": "admin"})
    assert record.json()["image"]["status"] == "active"


def test_an_api_that_does_not_trust_the_registry_certificate_is_unhealthy(tls_pair, cert,
                                                                          tmp_path):
    registry, _, _ = tls_pair
    port = daemons.free_port()
    config = daemons.write_config(tmp_path / "glance-api.conf", {
        "DEFAULT": {"bind_host": "127.0.0.1", "bind_port": port, "workers": 1,
                    "registry_port": registry.port, "registry_client_protocol": "https"},
        "glance_store": {"filesystem_store_datadir": str(tmp_path / "images")}})
    api = daemons.start("glance-api", [sys.executable, "-m", "glance_api.cmd",
                                       "--config-file", str(config)],
                        config, port, tmp_path / "api.log", health_path="/versions")
    try:
        health = requests.get(api.url + "/healthcheck")
        assert health.status_code == 503
        assert health.text.startswith("UNHEALTHY: registry")
    finally:
        api.stop()


def _post_from(source: str, url: str, headers: dict) -> http.client.HTTPResponse:
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), source_address=(source, 0))
    conn.request("POST", "/v1/images", headers=dict(headers, **{
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
        "Content-Length": "0"}))
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "images.example.com"}


def test_locations_follow_x_forwarded_headers_from_a_trusted_proxy_only(glance):
    trusted = _post_from("127.0.0.1", glance.url, FORWARDED)
    assert trusted.status == 201
    assert trusted.getheader("Location").startswith("https://images.example.com/v1/images/")
    # 127.0.0.2 is loopback too, but not in trusted_proxies (127.0.0.1, ::1).
    stranger = _post_from("127.0.0.2", glance.url, FORWARDED)
    assert stranger.status == 201
    assert stranger.getheader("Location").startswith(glance.url + "/v1/images/")
    versions = requests.get(glance.url + "/versions", headers=FORWARDED).json()
    hrefs = {link["href"] for v in versions["versions"] for link in v["links"]}
    assert hrefs == {"https://images.example.com/v1/", "https://images.example.com/v2/"}
