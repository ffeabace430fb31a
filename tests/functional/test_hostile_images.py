"""Hostile images against the real daemons: every path that stores bytes (v1
create with data, v1 copy-from, v2 PUT /file) refuses them before the image
is active and keeps none of their bytes; clean images of every inspected
format become active, with v2's virtual_size read from their header."""

from __future__ import annotations

import os
import uuid

import pytest
import requests

from tests import qemu_images
from tests.image_server import serving
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until

OCTET = {"Content-Type": "application/octet-stream"}
JSON = {"Accept": "application/json"}
MISMATCHES = {"raw-as-qcow2", "random-as-qcow2", "qcow2-as-vmdk"}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return qemu_images.build_all(qemu_images.CLEAN + qemu_images.HOSTILE,
                                 tmp_path_factory.mktemp("qemu-images"))


@pytest.fixture(scope="module")
def source(images):
    with serving() as server:
        for name, (_, data) in images.items():
            server.images[name] = data
        yield server


@pytest.fixture(scope="module")
def fetching(request, tmp_path_factory, source):
    """A pair allowed to copy from the loopback image server."""
    url = database(request, tmp_path_factory, "sqlite")
    pair = Glance(tmp_path_factory.mktemp("hostile-fetch"), url, sections={
        "import_filtering_opts": {"allowed_hosts": "127.0.0.1",
                                  "allowed_ports": "80,443,%d" % source.port}})
    yield pair
    pair.stop()


def _stored_for(pair, image_id):
    return [f for f in os.listdir(pair.images_dir) if image_id in f]


def _v1_headers(disk_format, **more):
    return {"x-image-meta-name": "hostile", "x-image-meta-disk_format": disk_format,
            "x-image-meta-container_format": "bare", **more}


def _v1_status(pair, image_id):
    return requests.head(pair.url + "/v1/images/" + image_id).headers.get(
        "x-image-meta-status")


def _v2_create(pair, disk_format, container_format="bare"):
    resp = requests.post(pair.url + "/v2/images", json={
        "name": "hostile", "disk_format": disk_format,
        "container_format": container_format})
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.mark.parametrize("name", qemu_images.HOSTILE)
def test_v1_create_refuses_a_hostile_image_with_400_and_kills_it(glance, images, name):
    disk_format, data = images[name]
    image_id = str(uuid.uuid4())
    resp = requests.post(glance.url + "/v1/images", data=data,
                         headers={**_v1_headers(disk_format), **OCTET,
                                  "x-image-meta-id": image_id})
    assert resp.status_code == 400, resp.text
    why = "does not match stream data" if name in MISMATCHES else "failed safety checks"
    assert why in resp.text
    assert _v1_status(glance, image_id) == "killed"
    assert _stored_for(glance, image_id) == []


@pytest.mark.parametrize("name", ["qcow2-backing-file", "raw-as-qcow2"])
def test_v1_update_refuses_hostile_data_for_a_reserved_image(glance, images, name):
    disk_format, data = images[name]
    reserved = requests.post(glance.url + "/v1/images", headers=_v1_headers(disk_format))
    image_id = reserved.json()["image"]["id"]
    resp = requests.put(glance.url + "/v1/images/" + image_id, data=data, headers=OCTET)
    assert resp.status_code == 400, resp.text
    assert _v1_status(glance, image_id) == "killed"
    assert _stored_for(glance, image_id) == []


@pytest.mark.parametrize("name", qemu_images.HOSTILE)
def test_v2_upload_refuses_a_hostile_image_and_leaves_it_queued(glance, images, name):
    disk_format, data = images[name]
    image = _v2_create(glance, disk_format)
    resp = requests.put(glance.url + "/v2/images/%s/file" % image["id"], data=data,
                        headers={**OCTET, **JSON})
    if name in MISMATCHES:
        assert resp.status_code == 415, resp.text
        assert "does not match stream data" in resp.text
    else:
        assert resp.status_code == 400, resp.text
        assert "Image failed safety checks" in resp.text
    after = requests.get(glance.url + "/v2/images/" + image["id"]).json()
    assert (after["status"], after["size"], after["virtual_size"], after["checksum"]) == (
        "queued", None, None, None)
    assert _stored_for(glance, image["id"]) == []


def test_v2_zero_bytes_labelled_qcow2_are_415(glance):
    image = _v2_create(glance, "qcow2")
    resp = requests.put(glance.url + "/v2/images/%s/file" % image["id"], data=b"",
                        headers=OCTET)
    assert resp.status_code == 415
    assert requests.get(glance.url + "/v2/images/" + image["id"]).json()["status"] == "queued"


def test_v2_raw_and_a_container_other_than_bare_take_what_they_are_given(glance, images):
    raw = _v2_create(glance, "raw")
    data = images["qcow2"][1]
    resp = requests.put(glance.url + "/v2/images/%s/file" % raw["id"], data=data,
                        headers=OCTET)
    assert resp.status_code == 204, resp.text
    shown = requests.get(glance.url + "/v2/images/" + raw["id"]).json()
    assert (shown["status"], shown["virtual_size"]) == ("active", len(data))
    ovf = _v2_create(glance, "qcow2", "ovf")
    resp = requests.put(glance.url + "/v2/images/%s/file" % ovf["id"],
                        data=images["raw"][1], headers=OCTET)
    assert resp.status_code == 204, resp.text


@pytest.mark.parametrize("name", qemu_images.CLEAN)
def test_a_clean_image_is_active_on_v2_with_its_virtual_size(glance, images, name):
    disk_format, data = images[name]
    image = _v2_create(glance, disk_format)
    resp = requests.put(glance.url + "/v2/images/%s/file" % image["id"], data=data,
                        headers=OCTET)
    assert resp.status_code == 204, resp.text
    shown = requests.get(glance.url + "/v2/images/" + image["id"]).json()
    assert (shown["status"], shown["size"]) == ("active", len(data))
    expected = qemu_images.VIRTUAL_SIZE.get(name, len(data) if name == "raw" else None)
    assert shown["virtual_size"] == expected if expected else shown["virtual_size"] > 0
    assert _stored_for(glance, image["id"]) == [image["id"]]


@pytest.mark.parametrize("name", ["qcow2", "vmdk-streamOptimized"])
def test_a_clean_image_is_active_on_v1(glance, images, name):
    disk_format, data = images[name]
    resp = requests.post(glance.url + "/v1/images", data=data,
                         headers={**_v1_headers(disk_format), **OCTET})
    assert resp.status_code == 201, resp.text
    assert resp.json()["image"]["status"] == "active"


@pytest.mark.parametrize("name", qemu_images.HOSTILE)
def test_v1_copy_from_kills_a_hostile_image_and_keeps_no_bytes(fetching, source, images,
                                                                name):
    disk_format, _ = images[name]
    resp = requests.post(fetching.url + "/v1/images", headers=_v1_headers(
        disk_format, **{"x-glance-api-copy-from": source.url("/images/" + name)}))
    assert resp.status_code == 201, resp.text
    image_id = resp.json()["image"]["id"]
    assert poll_until(lambda: _v1_status(fetching, image_id) == "killed", timeout=20)
    assert _stored_for(fetching, image_id) == []


def test_v1_copy_from_a_clean_image_is_active(fetching, source, images):
    resp = requests.post(fetching.url + "/v1/images", headers=_v1_headers(
        "qcow2", **{"x-glance-api-copy-from": source.url("/images/qcow2")}))
    image_id = resp.json()["image"]["id"]
    assert poll_until(lambda: _v1_status(fetching, image_id) == "active", timeout=20)
    assert _stored_for(fetching, image_id) == [image_id]
