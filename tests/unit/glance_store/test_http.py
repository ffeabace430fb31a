"""The http driver against a real server on 127.0.0.1, and the URL filter."""

from __future__ import annotations

import base64

import pytest

from glance_store import exceptions
from glance_store.drivers.http import HttpDriver
from glance_store.url_filter import URLFilter
from glance_store.url_filter import check_url

IMAGE = bytes(range(256)) * 5000


@pytest.fixture
def server(image_server):
    image_server.images["cirros"] = IMAGE
    image_server.images["empty"] = b""
    return image_server


@pytest.fixture
def url_filter(server):
    return URLFilter.from_lists(allowed_hosts=["127.0.0.1"],
                                allowed_ports=[80, 443, server.port])


@pytest.fixture
def driver(url_filter):
    return HttpDriver(url_filter, connect_timeout=2, read_timeout=2)


def read_all(driver, url, **kwargs) -> bytes:
    with driver.get(url, **kwargs) as data:
        body = b"".join(data)
    assert len(body) == data.size
    return body


def test_get_streams_the_whole_image(driver, server):
    assert read_all(driver, server.url("/images/cirros")) == IMAGE


def test_ranged_get_asks_for_and_yields_only_the_range(driver, server):
    body = read_all(driver, server.url("/images/cirros"), offset=1000,
                    length=20)

    assert body == IMAGE[1000:1020]
    assert server.requests[-1][2]["Range"] == "bytes=1000-1019"


def test_an_open_ended_range_reads_to_the_end(driver, server):
    assert read_all(driver, server.url("/images/cirros"),
                    offset=len(IMAGE) - 5) == IMAGE[-5:]


def test_a_server_ignoring_range_still_yields_only_the_range(driver, server):
    assert read_all(driver, server.url("/norange/cirros"), offset=10,
                    length=5) == IMAGE[10:15]


def test_a_range_beyond_the_end_is_invalid(driver, server):
    with pytest.raises(exceptions.InvalidRange):
        driver.get(server.url("/images/cirros"), offset=len(IMAGE) + 1)


def test_size_comes_from_head(driver, server):
    assert driver.get_size(server.url("/images/cirros")) == len(IMAGE)
    assert server.requests[-1][0] == "HEAD"


def test_size_comes_from_a_ranged_get_when_head_is_refused(driver, server):
    assert driver.get_size(server.url("/nohead/cirros")) == len(IMAGE)
    assert server.requests[-1][0] == "GET"
    assert server.requests[-1][2]["Range"] == "bytes=0-0"


def test_size_of_an_empty_image_when_head_is_refused(driver, server):
    assert driver.get_size(server.url("/nohead/empty")) == 0


def test_a_missing_image_is_not_found(driver, server):
    with pytest.raises(exceptions.NotFound):
        driver.get(server.url("/images/nope"))
    with pytest.raises(exceptions.NotFound):
        driver.get_size(server.url("/images/nope"))


def test_redirects_are_followed_up_to_the_limit(driver, server):
    assert read_all(driver, server.url("/redirect/5/cirros")) == IMAGE


def test_too_many_redirects_are_refused(driver, server):
    with pytest.raises(exceptions.TooManyRedirects):
        driver.get(server.url("/redirect/6/cirros"))
    with pytest.raises(exceptions.TooManyRedirects):
        driver.get_size(server.url("/loop/"))


@pytest.mark.parametrize("target", [
    "http://127.0.0.2:{port}/images/cirros",
    "http://[::1]:{port}/images/cirros",
    "http://localhost:{port}/images/cirros",
    "file:///etc/passwd"])
def test_a_redirect_to_a_refused_url_is_refused_before_connecting(
        driver, server, target):
    target = target.format(port=server.port)

    with pytest.raises(exceptions.URLNotAllowed):
        driver.get(server.url(f"/to?url={target}"))
    assert len(server.requests) == 1


def test_a_body_shorter_than_announced_is_an_error(driver, server):
    with pytest.raises(exceptions.RemoteServiceUnavailable):
        read_all(driver, server.url("/truncated/cirros"))


def test_a_server_that_does_not_answer_times_out(server, url_filter):
    driver = HttpDriver(url_filter, connect_timeout=2, read_timeout=0.2)

    with pytest.raises(exceptions.RemoteServiceUnavailable, match="in time"):
        driver.get(server.url("/hang/"))


def test_a_closed_port_is_remote_service_unavailable(server):
    closed = HttpDriver(URLFilter.from_lists(allowed_hosts=["127.0.0.1"],
                                             allowed_ports=[1]))

    with pytest.raises(exceptions.RemoteServiceUnavailable):
        closed.get("http://127.0.0.1:1/images/cirros")


def test_the_driver_connects_to_the_address_it_checked(server):
    def resolver(host, port):
        assert host == "images.test"
        return ["127.0.0.1"]

    driver = HttpDriver(URLFilter.from_lists(
        allowed_hosts=["images.test"], allowed_ports=[server.port]),
        resolver=resolver)

    assert read_all(driver, f"http://images.test:{server.port}"
                            f"/images/cirros") == IMAGE
    assert server.requests[-1][2]["Host"] == f"images.test:{server.port}"


def test_credentials_in_the_url_become_basic_auth(driver, server):
    url = f"http://user:pa%40ss@127.0.0.1:{server.port}/images/cirros"

    read_all(driver, url)

    expected = base64.b64encode(b"user:pa@ss").decode()
    assert server.requests[-1][2]["Authorization"] == f"Basic {expected}"


def test_the_driver_refuses_loopback_unless_allowed(server):
    driver = HttpDriver(URLFilter.from_lists(allowed_ports=[server.port]))

    with pytest.raises(exceptions.URLNotAllowed, match="loopback"):
        driver.get(server.url("/images/cirros"))
    assert server.requests == []


def test_the_driver_is_read_only(driver, server):
    with pytest.raises(exceptions.ReadOnlyStore):
        driver.delete(server.url("/images/cirros"))


# --- TLS, connecting to the checked address --------------------------

def tls_driver(server, tls_cert, **kwargs):
    return HttpDriver(
        URLFilter.from_lists(allowed_hosts=["images.test", "other.test"],
                             allowed_ports=[server.port]),
        resolver=lambda host, port: ["127.0.0.1"], **kwargs)


def test_https_verifies_the_certificate_against_the_url_host(
        tls_image_server, tls_cert):
    tls_image_server.images["cirros"] = IMAGE
    driver = tls_driver(tls_image_server, tls_cert, ca_file=tls_cert[0])
    url = f"https://images.test:{tls_image_server.port}/images/cirros"

    assert read_all(driver, url) == IMAGE


def test_https_refuses_a_certificate_for_another_host(tls_image_server,
                                                      tls_cert):
    driver = tls_driver(tls_image_server, tls_cert, ca_file=tls_cert[0])
    url = f"https://other.test:{tls_image_server.port}/images/cirros"

    with pytest.raises(exceptions.RemoteServiceUnavailable, match="TLS"):
        driver.get(url)


def test_https_refuses_an_untrusted_certificate(tls_image_server, tls_cert):
    driver = tls_driver(tls_image_server, tls_cert)
    url = f"https://images.test:{tls_image_server.port}/images/cirros"

    with pytest.raises(exceptions.RemoteServiceUnavailable, match="TLS"):
        driver.get(url)


@pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_insecure_skips_verification(tls_image_server, tls_cert):
    tls_image_server.images["cirros"] = IMAGE
    driver = tls_driver(tls_image_server, tls_cert, insecure=True)
    url = f"https://other.test:{tls_image_server.port}/images/cirros"

    assert driver.get_size(url) == len(IMAGE)


# --- The URL filter -----------------------------------------------------

def fake_dns(table):
    def resolver(host, port):
        return table[host]
    return resolver


def allow(url, resolver=None, **lists):
    return check_url(url, URLFilter.from_lists(**lists),
                     resolver or fake_dns({"example.com": ["93.184.216.34"]}))


def test_a_public_http_url_passes_and_returns_its_checked_addresses():
    checked = allow("http://Example.COM/path")

    assert (checked.scheme, checked.host, checked.port) == (
        "http", "example.com", 80)
    assert checked.addresses == ("93.184.216.34",)


@pytest.mark.parametrize("url, why", [
    ("ftp://example.com/x", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("http://example.com:8080/x", "port"),
    ("http:///x", "no host"),
    ("http://example.com:99999/x", "invalid port"),
    ("http://exa mple.com/", "spaces"),
])
def test_default_rules_refuse(url, why):
    with pytest.raises(exceptions.URLNotAllowed, match=why):
        allow(url)


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"), ("240.0.0.1", "reserved"),
    ("100.64.0.1", "non-global"), ("::1", "loopback"),
    ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("::ffff:127.0.0.1", "loopback"), ("ff02::1", "multicast"),
    ("::", "unspecified")])
def test_a_host_resolving_to_an_internal_address_is_refused(address, kind):
    resolver = fake_dns({"inside.example": [address]})

    with pytest.raises(exceptions.URLNotAllowed, match=kind):
        allow("http://inside.example/", resolver)


def test_every_resolved_address_is_checked():
    resolver = fake_dns({"mixed.example": ["93.184.216.34", "10.0.0.1"]})

    with pytest.raises(exceptions.URLNotAllowed, match="10.0.0.1"):
        allow("http://mixed.example/", resolver)


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://[::1]/",
                                 "http://0x7f000001/"])
def test_ip_literals_are_checked_too(url):
    with pytest.raises(exceptions.URLNotAllowed):
        check_url(url, URLFilter())


def test_an_internal_host_named_in_allowed_hosts_passes():
    resolver = fake_dns({"mirror.internal": ["10.0.0.5"]})

    checked = allow("http://mirror.internal/", resolver,
                    allowed_hosts=["mirror.internal"])

    assert checked.addresses == ("10.0.0.5",)


def test_an_ip_literal_named_in_allowed_hosts_passes():
    checked = check_url("http://[::1]/x", URLFilter.from_lists(
        allowed_hosts=["::1"]))

    assert checked.addresses == ("::1",)


def test_allowed_hosts_when_given_is_the_only_list_consulted():
    with pytest.raises(exceptions.URLNotAllowed, match="host"):
        allow("http://example.com/", allowed_hosts=["other.example"],
              disallowed_hosts=[])
    assert allow("http://example.com/", allowed_hosts=["example.com"],
                 disallowed_hosts=["example.com"])


def test_disallowed_hosts_refuse_by_name_and_by_resolved_address():
    with pytest.raises(exceptions.URLNotAllowed, match="host"):
        allow("http://example.com/", disallowed_hosts=["EXAMPLE.com."])
    with pytest.raises(exceptions.URLNotAllowed, match="disallowed_hosts"):
        allow("http://example.com/", disallowed_hosts=["93.184.216.34"])


def test_scheme_and_port_lists_follow_the_same_rule():
    assert allow("ftp://example.com:21/", allowed_schemes=[],
                 disallowed_schemes=["file"], allowed_ports=[21])
    with pytest.raises(exceptions.URLNotAllowed, match="scheme"):
        allow("file:///x", allowed_schemes=[], disallowed_schemes=["file"])
    assert allow("http://example.com:8080/", allowed_ports=[],
                 disallowed_ports=[22])
    with pytest.raises(exceptions.URLNotAllowed, match="port"):
        allow("http://example.com:22/", allowed_ports=[],
              disallowed_ports=[22])


def test_an_unresolvable_host_is_refused():
    def resolver(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(exceptions.URLNotAllowed, match="resolved"):
        allow("http://nowhere.example/", resolver)


def test_messages_never_carry_the_credentials_of_a_url():
    from glance_store.url_filter import redact
    assert redact("http://alice:s3cr3t@example.org:8080/a@b") == "http://***@example.org:8080/a@b"
    assert redact("https://example.org/x") == "https://example.org/x"
    with pytest.raises(exceptions.URLNotAllowed) as info:
        check_url("ftp://alice:s3cr3t@example.org/x", URLFilter.from_lists())
    assert "s3cr3t" not in str(info.value)


def test_a_failed_fetch_does_not_echo_the_credentials(image_server):
    filter_ = URLFilter.from_lists(allowed_hosts=["127.0.0.1"],
                                   allowed_ports=[image_server.port])
    driver = HttpDriver(filter_)
    url = image_server.url("/images/absent").replace("http://", "http://bob:hunter2@")
    with pytest.raises(exceptions.NotFound) as info:
        driver.get_size(url)
    assert "hunter2" not in str(info.value)
