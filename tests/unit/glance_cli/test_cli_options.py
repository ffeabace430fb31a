"""The classic global options and offline commands of ``glance``: --version,
help, bash-completion, --os-endpoint-type, and TLS client certificates
(--os-cert/--os-key/--os-cacert) against a local server that demands one."""

from __future__ import annotations

import argparse
import ssl
import subprocess
import threading
import uuid

import pytest

from glance_cli import options
from glance_cli import shell
from tests.unit.glance_cli import fake_glance

IMAGE_ID = str(uuid.uuid4())


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch):
    for name in ("OS_IMAGE_API_VERSION", "OS_IMAGE_URL", "OS_AUTH_TOKEN", "OS_AUTH_URL",
                 "OS_INTERFACE", "OS_ENDPOINT_TYPE", "OS_CERT", "OS_KEY", "OS_CACERT"):
        monkeypatch.delenv(name, raising=False)


def test_version_prints_and_asks_nobody(capsys):
    assert shell.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("glance-lite ")


def test_help_describes_v2_by_default_and_points_at_v1(capsys):
    assert shell.main(["help"]) == 0
    out = capsys.readouterr().out
    assert "Images API v2 (glanceclient 4) commands" in out
    assert "image-deactivate" in out and "--os-image-api-version 1 help" in out
    assert shell.main(["help", "image-create"]) == 0
    out = capsys.readouterr().out
    assert "--visibility" in out and "--is-public" not in out
    assert "Images API v2." in out


def test_help_of_v1_commands_shows_v1_options(capsys):
    assert shell.main(["--os-image-api-version", "1", "help", "image-create"]) == 0
    out = capsys.readouterr().out
    assert "--is-public" in out and "--visibility" not in out
    assert shell.main(["--os-image-api-version", "1", "image-list", "--help"]) == 0
    assert "--changes-since" in capsys.readouterr().out
    assert shell.main(["--os-image-api-version", "1", "help", "image-deactivate"]) == 2
    assert "no such command in Images API v1: image-deactivate" in capsys.readouterr().err


@pytest.mark.parametrize("version, present, absent", [
    ("2", {"image-deactivate", "image-create-via-import", "stores-info", "--visibility",
           "--remove-property", "--os-cert", "--os-endpoint-type", "--version"},
     {"--is-public", "--changes-since"}),
    ("1", {"image-create", "--is-public", "--changes-since", "--max-column-width"},
     {"image-deactivate", "--visibility"})])
def test_bash_completion_lists_the_version_s_commands_and_options(capsys, version, present,
                                                                  absent):
    assert shell.main(["--os-image-api-version", version, "bash-completion"]) == 0
    words = set(capsys.readouterr().out.split())
    assert present <= words and not absent & words


@pytest.mark.parametrize("given, interface", [("publicURL", "public"),
                                              ("internalURL", "internal"),
                                              ("admin", "admin")])
def test_endpoint_type_takes_the_old_spellings(given, interface):
    assert options.interface(given) == interface


def test_endpoint_type_refuses_anything_else():
    with pytest.raises(argparse.ArgumentTypeError):
        options.interface("private")


# -- TLS client certificates ----------------------------------------------------

def _certificate(base, name: str, subject: str) -> tuple[str, str]:
    cert, key = str(base / (name + ".pem")), str(base / (name + "-key.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    key, "-out", cert, "-days", "1", "-subj", subject,
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A fake v2 service over TLS that refuses clients without the test's certificate."""
    base = tmp_path_factory.mktemp("cli-tls")
    # Distinct subjects: OpenSSL mixes up two self-signed certificates of one name.
    server_cert = _certificate(base, "server", "/CN=127.0.0.1")
    client_cert = _certificate(base, "client", "/CN=glance-cli-test-client")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*server_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(client_cert[0])
    server = fake_glance.FakeGlance()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    server.versions("v2.9", "v1.1")
    server.reply("GET", "/v2/images/" + IMAGE_ID, json_body={"id": IMAGE_ID, "name": "tls"})
    yield server, server_cert[0], client_cert
    server.shutdown()
    server.server_close()


def _over_tls(server, cacert, *extra):
    url = server.url.replace("http://", "https://")
    return shell.main(["--os-image-url", url, "--os-auth-token", "t", "--os-cacert", cacert,
                       *extra, "image-show", IMAGE_ID])


def test_a_client_certificate_and_key_are_presented(tls_server, capsys):
    server, cacert, (cert, key) = tls_server
    assert _over_tls(server, cacert, "--os-cert", cert, "--os-key", key) == 0
    assert "tls" in capsys.readouterr().out


def test_without_a_client_certificate_the_refusal_is_one_line(tls_server, capsys):
    server, cacert, _ = tls_server
    assert _over_tls(server, cacert) == 1
    err = capsys.readouterr().err
    assert err.startswith("Unable to reach the image service at https://127.0.0.1:")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_key_without_its_certificate_is_refused(tls_server, capsys):
    server, cacert, (_, key) = tls_server
    assert _over_tls(server, cacert, "--os-key", key) == 1
    assert capsys.readouterr().err == ("--os-key needs --os-cert (the certificate it "
                                       "belongs to).\n")


def test_an_unreadable_certificate_file_is_one_line(tls_server, tmp_path, capsys):
    server, cacert, _ = tls_server
    assert _over_tls(server, cacert, "--os-cert", str(tmp_path / "missing.pem")) == 1
    err = capsys.readouterr().err
    assert err.startswith("Request failed: ") and len(err.strip().splitlines()) == 1


def test_a_command_s_help_needs_no_credentials_and_returns_zero(capsys):
    assert shell.main(["image-list", "--help"]) == 0
    assert "usage: glance image-list" in capsys.readouterr().out
