"""Links follow X-Forwarded-Host only from trusted proxies, and public_endpoint wins."""

from __future__ import annotations

import pytest

from glance_api.forwarded import is_trusted
from glance_api.forwarded import middleware
from glance_api.forwarded import parse_networks


def _seen(remote, headers, networks):
    seen = {}

    def app(environ, start_response):
        seen.update(scheme=environ["wsgi.url_scheme"], host=environ.get("HTTP_HOST"))
        return []

    environ = {"REMOTE_ADDR": remote, "wsgi.url_scheme": "http", "HTTP_HOST": "internal:9292"}
    environ.update(headers)
    middleware(app, networks)(environ, lambda *a: None)
    return seen


FORWARDED = {"HTTP_X_FORWARDED_PROTO": "https",
             "HTTP_X_FORWARDED_HOST": "images.example.com, lb2.internal"}


def test_a_trusted_proxy_sets_the_host_it_appended():
    seen = _seen("10.0.0.5", {"HTTP_X_FORWARDED_HOST": "images.example.com"},
                 parse_networks(["10.0.0.0/24"]))
    assert seen == {"scheme": "http", "host": "images.example.com"}


def test_a_value_the_client_put_before_the_proxys_own_is_not_believed():
    # The client sent "X-Forwarded-Host: evil.example"; the proxy appended
    # the host the client really used.
    seen = _seen("10.0.0.5", {"HTTP_X_FORWARDED_HOST": "evil.example, images.example.com"},
                 parse_networks(["10.0.0.0/24"]))
    assert seen["host"] == "images.example.com"


def test_the_scheme_is_left_to_gunicorn():
    # gunicorn sets wsgi.url_scheme from X-Forwarded-Proto for the same
    # addresses (forwarded_allow_ips); the api does not do it twice.
    seen = _seen("10.0.0.5", FORWARDED, parse_networks(["10.0.0.0/24"]))
    assert seen["scheme"] == "http"


def test_anyone_else_is_ignored():
    seen = _seen("192.0.2.9", FORWARDED, parse_networks(["10.0.0.0/24", "::1"]))
    assert seen == {"scheme": "http", "host": "internal:9292"}


def test_addresses_and_networks_are_checked():
    nets = parse_networks(["127.0.0.1", "::1", "fd00::/8", " "])
    assert is_trusted("127.0.0.1", nets) and is_trusted("fd00::7", nets)
    assert not is_trusted("127.0.0.2", nets) and not is_trusted(None, nets)
    assert not is_trusted("not-an-ip", nets)
    with pytest.raises(ValueError, match="lb.example"):
        parse_networks(["lb.example"])


def test_location_headers_follow_the_proxy_unless_public_endpoint_is_set(make_conf):
    from glance_api.app import create_app
    from tests.unit.glance_api.api_support import RecordingRegistry

    class Registry(RecordingRegistry):
        def create(self, ctx, image):
            image = dict(image, id="2b1e8f4c-1c2d-4e5f-8a9b-0c1d2e3f4a5b", status="queued",
                         size=0, properties={})
            self.images[image["id"]] = image
            return image

    for endpoint, expected in ((None, "https://images.example.com/v1/images/"),
                               ("https://glance.example.org:443",
                                "https://glance.example.org:443/v1/images/")):
        default = {"auth_strategy": "noauth"}
        if endpoint:
            default["public_endpoint"] = endpoint
        app = create_app(make_conf(default), registry=Registry())
        # The scheme as gunicorn sets it from X-Forwarded-Proto.
        resp = app.test_client().post(
            "/v1/images", base_url="https://internal:9292", headers={"X-Forwarded-Proto": "https",
                                   "X-Forwarded-Host": "images.example.com",
                                   "x-image-meta-name": "x"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert resp.status_code == 201, resp.text
        assert resp.headers["Location"].startswith(expected)
