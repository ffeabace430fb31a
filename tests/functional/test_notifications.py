"""Notifications through a real RabbitMQ, and images that do not wait for a dead one."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid

import pytest
import requests

from tests import daemons
from tests import rabbit
from tests.pairs import Glance
from tests.pairs import database

IMAGE_FIELDS = {"id", "name", "status", "created_at", "updated_at", "min_disk",
                "min_ram", "protected", "checksum", "owner", "disk_format",
                "container_format", "size", "virtual_size", "is_public",
                "visibility", "properties", "tags", "deleted", "deleted_at"}
SEND_FIELDS = {"bytes_sent", "image_id", "owner_id", "receiver_tenant_id",
               "receiver_user_id", "destination_ip"}
QUICK = 5.0  # seconds any request may take while the bus is down


@pytest.fixture(scope="module")
def listener():
    rabbit.require_broker()
    consumer = rabbit.Listener()
    yield consumer
    consumer.stop()


@pytest.fixture(scope="module")
def notifying(request, tmp_path_factory, listener):
    """A pair publishing to the listener's exchange and topic; image.prepare disabled."""
    url = database(request, tmp_path_factory, "sqlite")
    pair = Glance(tmp_path_factory.mktemp("notify"), url,
                  image_size_cap=64 * 1024 * 1024,
                  transport_url=rabbit.URL, control_exchange=listener.exchange,
                  disabled_notifications="image.prepare",
                  sections={"oslo_messaging_notifications": {
                      "driver": "messagingv2", "topics": listener.topic}})
    yield pair
    pair.stop()


def _create(url: str, data: bytes | None = None, **meta) -> requests.Response:
    headers = {"x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare"}
    headers.update({"x-image-meta-%s" % k: str(v) for k, v in meta.items()})
    if data is not None:
        headers["Content-Type"] = "application/octet-stream"
    return requests.post(url + "/v1/images", headers=headers, data=data, timeout=30)


def _about(image_id: str):
    return lambda payload: payload.get("id") == image_id


def test_upload_update_download_and_delete_are_announced(notifying, listener):
    data = os.urandom(256 * 1024 + 3)
    created = _create(notifying.url, data, name="announced", owner="proj-a",
                      **{"property-os_distro": "cirros"})
    assert created.status_code == 201, created.text
    image_id = created.json()["image"]["id"]

    create = listener.wait_for("image.create", _about(image_id))
    assert create["priority"] == "info"
    assert create["publisher_id"] == "image.localhost"
    assert set(create["payload"]) == IMAGE_FIELDS
    assert create["payload"]["status"] == "queued"
    assert create["payload"]["owner"] == "proj-a"
    assert create["payload"]["properties"] == {"os_distro": "cirros"}
    upload = listener.wait_for("image.upload", _about(image_id))
    assert upload["payload"]["size"] == len(data)
    assert upload["payload"]["checksum"] == hashlib.md5(data).hexdigest()
    activate = listener.wait_for("image.activate", _about(image_id))
    assert activate["payload"]["status"] == "active"
    assert not any("location" in key for key in activate["payload"])

    updated = requests.put(notifying.url + "/v1/images/" + image_id,
                           headers={"x-image-meta-name": "renamed"})
    assert updated.status_code == 200
    update = listener.wait_for("image.update", _about(image_id))
    assert update["payload"]["name"] == "renamed"

    got = requests.get(notifying.url + "/v1/images/" + image_id)
    assert got.content == data
    send = listener.wait_for("image.send", lambda p: p.get("image_id") == image_id)
    assert send["priority"] == "info"
    assert set(send["payload"]) == SEND_FIELDS
    assert send["payload"]["bytes_sent"] == len(data)
    assert send["payload"]["owner_id"] == "proj-a"
    assert send["payload"]["destination_ip"] == "127.0.0.1"
    # noauth: the receiver is an admin with no user and no project.
    assert send["payload"]["receiver_tenant_id"] is None
    assert send["payload"]["receiver_user_id"] is None

    assert requests.delete(notifying.url + "/v1/images/" + image_id).status_code == 200
    delete = listener.wait_for("image.delete", _about(image_id))
    assert delete["payload"]["deleted"] is True
    assert delete["payload"]["status"] == "deleted"

    # One publishing thread per worker keeps order; the disabled event never came.
    types = listener.types_for(image_id)
    assert "image.prepare" not in types
    assert types.index("image.create") < types.index("image.upload") \
        < types.index("image.activate") < types.index("image.send") \
        < types.index("image.delete")


def test_a_download_cut_short_reports_what_was_sent_as_an_error(notifying, listener):
    size = 48 * 1024 * 1024
    created = _create(notifying.url, b"z" * size, name="big")
    assert created.status_code == 201, created.text
    image_id = created.json()["image"]["id"]
    host, port = notifying.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /v1/images/%s HTTP/1.1\r\nHost: x\r\n\r\n" % image_id.encode())
        received = 0
        while received < 1024 * 1024:
            received += len(sock.recv(65536))
    # The client hung up, as one that gives up does.
    send = listener.wait_for("image.send", lambda p: p.get("image_id") == image_id,
                             timeout=30)
    assert send["priority"] == "error"
    assert 1024 * 1024 <= send["payload"]["bytes_sent"] < size


def test_member_changes_are_announced(notifying, listener):
    image_id = _create(notifying.url, name="shared").json()["image"]["id"]
    members = notifying.url + "/v1/images/%s/members/" % image_id
    assert requests.put(members + "proj-b").status_code == 204
    created = listener.wait_for("image.member.create",
                                lambda p: p.get("image_id") == image_id)
    assert created["payload"]["member_id"] == "proj-b"
    assert set(created["payload"]) >= {"image_id", "member_id", "status", "created_at",
                                       "updated_at", "deleted", "deleted_at"}
    assert requests.put(members + "proj-b", json={"member": {"can_share": True}}
                        ).status_code == 204
    listener.wait_for("image.member.update", lambda p: p.get("image_id") == image_id)
    assert requests.delete(members + "proj-b").status_code == 204
    deleted = listener.wait_for("image.member.delete",
                                lambda p: p.get("image_id") == image_id)
    assert deleted["payload"]["deleted"] is True
    assert deleted["payload"]["member_id"] == "proj-b"


@pytest.fixture(scope="module")
def bus_down(request, tmp_path_factory):
    """A pair whose message bus is a closed port."""
    url = database(request, tmp_path_factory, "sqlite")
    dead = "rabbit://guest:guest@127.0.0.1:%d/" % daemons.free_port()
    pair = Glance(tmp_path_factory.mktemp("busdown"), url, transport_url=dead,
                  sections={"oslo_messaging_notifications": {"driver": "messagingv2"}})
    yield pair
    pair.stop()


def _timed(call):
    started = time.monotonic()
    resp = call()
    return resp, time.monotonic() - started


def test_images_are_served_quickly_while_the_bus_is_down(bus_down):
    url = bus_down.url
    for n in range(3):
        data = os.urandom(64 * 1024)
        resp, took = _timed(lambda: _create(url, data, name="busdown-%d" % n))
        assert resp.status_code == 201, resp.text
        assert took < QUICK
        image = resp.json()["image"]
        assert image["status"] == "active" and image["size"] == len(data)
        resp, took = _timed(lambda: requests.get(url + "/v1/images/" + image["id"]))
        assert resp.content == data and took < QUICK
        resp, took = _timed(lambda: requests.delete(url + "/v1/images/" + image["id"]))
        assert resp.status_code == 200 and took < QUICK
    reserved, took = _timed(lambda: _create(url, name="reserved", id=str(uuid.uuid4())))
    assert reserved.status_code == 201 and took < QUICK
    # Notifications were attempted, and failed, in the background.
    assert bus_down.wait_for_log("api", "Could not send notification")
