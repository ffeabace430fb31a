"""Uploads that fail: a client that goes away, a registry that dies, a full
store, an abandoned upload. Each must leave no bytes behind and no image
stuck in ``saving``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest
import requests

from tests.waiting import poll_until


def _stored_for(images_dir: str, image_id: str) -> list[str]:
    return [f for f in os.listdir(images_dir) if image_id in f]


def _status(url: str, image_id: str) -> str | None:
    resp = requests.head(url + "/v1/images/" + image_id)
    return resp.headers.get("x-image-meta-status")


class ChunkedUpload:
    """A client that sends a chunked upload by hand, so a test controls when it stops."""

    def __init__(self, url: str, image_id: str):
        host, port = url.split("//")[1].split(":")
        self.sock = socket.create_connection((host, int(port)))
        self.sock.sendall((
            "POST /v1/images HTTP/1.1\r\nHost: %s\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Content-Type: application/octet-stream\r\n"
            "x-image-meta-id: %s\r\nx-image-meta-disk_format: raw\r\n"
            "x-image-meta-container_format: bare\r\n\r\n" % (host, image_id)).encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))

    def finish(self) -> bytes:
        self.sock.sendall(b"0\r\n\r\n")
        self.sock.settimeout(60)
        reader = self.sock.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline()
            if not line:
                break
            head += line
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return head + reader.read(length)

    def close(self) -> None:
        self.sock.close()


def test_client_disconnect_mid_upload_kills_the_image(glance):
    image_id = str(uuid.uuid4())
    upload = ChunkedUpload(glance.url, image_id)
    upload.send(b"a" * 65536)
    assert poll_until(lambda: _status(glance.url, image_id) == "saving")
    upload.close()
    assert poll_until(lambda: _status(glance.url, image_id) == "killed")
    assert _stored_for(glance.images_dir, image_id) == []


def test_concurrent_uploads_to_one_image_cannot_both_win(glance):
    image = requests.post(glance.url + "/v1/images", headers={
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare"}
    ).json()["image"]
    first = ChunkedUpload.__new__(ChunkedUpload)
    host, port = glance.url.split("//")[1].split(":")
    first.sock = socket.create_connection((host, int(port)))
    first.sock.sendall((
        "PUT /v1/images/%s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/octet-stream\r\n\r\n" % (image["id"], host)).encode())
    first.send(b"1" * 1000)
    assert poll_until(lambda: _status(glance.url, image["id"]) == "saving")
    second = requests.put(glance.url + "/v1/images/" + image["id"], data=iter([b"2" * 10]),
                          headers={"Content-Type": "application/octet-stream"})
    assert second.status_code == 409
    reply = first.finish()
    first.close()
    assert reply.startswith(b"HTTP/1.1 200")
    got = requests.get(glance.url + "/v1/images/" + image["id"])
    assert got.content == b"1" * 1000


def test_registry_stopped_mid_upload_is_503_and_leaves_no_bytes(fragile_glance):
    g = fragile_glance
    image_id = str(uuid.uuid4())
    upload = ChunkedUpload(g.url, image_id)
    upload.send(b"b" * 65536)
    assert poll_until(lambda: _status(g.url, image_id) == "saving")
    g.registry.stop()
    try:
        upload.send(b"b" * 65536)
        reply = upload.finish()
        upload.close()
        assert reply.startswith(b"HTTP/1.1 503"), reply[:200]
        assert b"registry" in reply
        assert _stored_for(g.images_dir, image_id) == []
    finally:
        g.restart_registry()
    # The api could not record the failure; the sweep does once the
    # registry is back and the upload's heartbeat has stopped.
    assert poll_until(lambda: _status(g.url, image_id) == "killed", timeout=60)


def test_sweep_kills_an_abandoned_upload_and_removes_its_partial_bytes(fragile_glance):
    g = fragile_glance
    image = g.registry_create({"name": "abandoned", "disk_format": "raw",
                               "container_format": "bare", "status": "saving"})
    partial = os.path.join(g.images_dir, ".%s.deadbeef.part" % image["id"])
    with open(partial, "wb") as f:
        f.write(b"left by a process killed mid-upload")
    assert poll_until(lambda: _status(g.url, image["id"]) == "killed", timeout=60)
    assert not os.path.exists(partial)


def test_full_store_is_413_and_leaves_nothing(tiny_store_glance):
    g = tiny_store_glance
    image_id = str(uuid.uuid4())
    resp = requests.post(g.url + "/v1/images", data=iter([b"c" * (1 << 20)] * 3), headers={
        "x-image-meta-id": image_id, "x-image-meta-disk_format": "raw",
        "x-image-meta-container_format": "bare",
        "Content-Type": "application/octet-stream"})
    assert resp.status_code == 413, resp.text
    assert _status(g.url, image_id) == "killed"
    assert os.listdir(g.images_dir) == []


@pytest.mark.parametrize("module", ["glance_api.cmd", "glance_registry.cmd"])
def test_noauth_refuses_a_public_address(tmp_path, module):
    conf = tmp_path / "daemon.conf"
    conf.write_text("[DEFAULT]\nbind_host = 0.0.0.0\nbind_port = 1\n"
                    "[database]\nconnection = sqlite:///%s\n" % (tmp_path / "x.sqlite"))
    proc = subprocess.run([sys.executable, "-m", module, "--config-file", str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "Refusing to serve auth_strategy = noauth" in proc.stderr


def test_paste_deploy_keystone_flavor_never_lands_in_noauth(tmp_path):
    conf = tmp_path / "api.conf"
    conf.write_text("[DEFAULT]\nbind_port = 1\n[paste_deploy]\nflavor = keystone\n")
    from glance_api import cmd
    from glance_api import options
    parsed = cmd.parse_config(["--config-file", str(conf)])
    assert options.strategy(parsed) == "keystone"


def test_client_disconnect_mid_content_length_upload_kills_the_image(glance):
    image_id = str(uuid.uuid4())
    host, port = glance.url.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall((
        "POST /v1/images HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
        "Content-Type: application/octet-stream\r\n"
        "x-image-meta-id: %s\r\nx-image-meta-disk_format: raw\r\n"
        "x-image-meta-container_format: bare\r\n\r\n" % (host, 4 << 20, image_id)).encode())
    sock.sendall(b"c" * (1 << 20))
    assert poll_until(lambda: _status(glance.url, image_id) == "saving")
    sock.close()
    assert poll_until(lambda: _status(glance.url, image_id) == "killed")
    assert _stored_for(glance.images_dir, image_id) == []
