"""The Images API v1 over real HTTP: real daemons, real files, both databases."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import pytest
import requests

pytestmark = pytest.mark.usefixtures("glance")


def _create(glance, data: bytes | None = None, chunked: bool = False, **meta):
    headers = {"x-image-meta-%s" % k.replace("property_", "property-"): str(v)
               for k, v in meta.items()}
    headers.setdefault("x-image-meta-disk_format", "raw")
    headers.setdefault("x-image-meta-container_format", "bare")
    body = None
    if data is not None:
        headers["Content-Type"] = "application/octet-stream"
        body = iter([data]) if chunked else data
    return requests.post(glance.url + "/v1/images", headers=headers, data=body)


def _stored_files(glance) -> list[str]:
    return sorted(os.listdir(glance.images_dir))


def test_versions_documents(glance):
    root = requests.get(glance.url + "/")
    assert root.status_code == 300
    listed = {v["id"]: v for v in root.json()["versions"]}
    assert listed["v1.1"]["status"] == "SUPPORTED"
    assert listed["v1.1"]["links"][0]["href"] == glance.url + "/v1/"
    assert [v for v in listed.values() if v["status"] == "CURRENT"][0]["id"].startswith("v2")
    assert requests.get(glance.url + "/versions").status_code == 200
    unknown = requests.get(glance.url + "/v9/images")
    assert unknown.status_code == 300


def test_reserve_creates_a_queued_image(glance):
    resp = _create(glance, name="reserved")
    assert resp.status_code == 201, resp.text
    image = resp.json()["image"]
    assert image["status"] == "queued"
    assert image["size"] == 0
    assert resp.headers["Location"].endswith("/v1/images/%s" % image["id"])
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert set(image) >= {"id", "name", "disk_format", "container_format", "size",
                          "virtual_size", "checksum", "status", "is_public",
                          "protected", "min_disk", "min_ram", "owner",
                          "created_at", "updated_at", "deleted_at", "deleted",
                          "properties"}
    assert "location" not in image and "locations" not in image


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_upload_then_download_round_trip(glance, chunked):
    data = os.urandom(3 * 1024 * 1024 + 17)
    resp = _create(glance, data, chunked=chunked, name="round trip")
    assert resp.status_code == 201, resp.text
    image = resp.json()["image"]
    md5 = hashlib.md5(data).hexdigest()
    assert (image["status"], image["size"], image["checksum"]) == ("active", len(data), md5)
    assert resp.headers["ETag"] == md5

    got = requests.get(glance.url + "/v1/images/" + image["id"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Length"] == str(len(data))
    assert got.headers["x-image-meta-checksum"] == md5
    assert got.headers["ETag"] == md5

    record = glance.registry_get(image["id"])
    assert record["os_hash_algo"] == "sha512"
    assert record["os_hash_value"] == hashlib.sha512(data).hexdigest()


def test_head_renders_metadata_headers(glance):
    resp = _create(glance, b"abc", name="seed%20one", protected="True",
                   min_ram="512", is_public="None", property_os_distro="ubuntu",
                   **{"property_Hw-Arch": "x86_64"})
    image_id = resp.json()["image"]["id"]
    head = requests.head(glance.url + "/v1/images/" + image_id)
    assert head.status_code == 200
    h = head.headers
    assert h["x-image-meta-name"] == "seed one"  # percent-decoded (spec 1.4)
    assert h["x-image-meta-protected"] == "True"
    assert h["x-image-meta-is_public"] == "False"  # the literal "None" reads as false
    assert h["x-image-meta-min_ram"] == "512"
    assert h["x-image-meta-property-os_distro"] == "ubuntu"
    assert h["x-image-meta-property-hw_arch"] == "x86_64"
    assert h["x-image-meta-size"] == "3"
    assert "x-image-meta-location" not in h and "x-image-meta-deleted_at" not in h
    assert head.content == b""


def test_unknown_image_is_404_with_plain_text_for_the_classic_client(glance):
    resp = requests.get(glance.url + "/v1/images/%s" % uuid.uuid4(),
                        headers={"Accept": "*/*"})
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.text.startswith("404 Not Found\n\n")
    as_json = requests.get(glance.url + "/v1/images/not-a-uuid",
                           headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    assert as_json.json()["code"] == 404


@pytest.mark.parametrize("headers, message", [
    ({"x-image-meta-disk_format": "qcow3"}, "Invalid disk format 'qcow3'"),
    ({"x-image-meta-container_format": "zip"}, "Invalid container format"),
    ({"x-image-meta-bogus": "1"}, "Bad header: x-image-meta-bogus"),
    ({"x-image-meta-min_ram": "lots"}, "Cannot convert min_ram"),
    ({"x-image-meta-size": "-1"}, "non-negative"),
    ({"x-image-meta-id": "not-a-uuid"}, "Invalid image id"),
    ({"x-image-meta-status": "active"}, "status"),
    ({"x-image-meta-location": "file:///etc/passwd"}, "External sources are not supported"),
    ({"x-image-meta-disk_format": "ami", "x-image-meta-container_format": "bare"}, "must match"),
])
def test_bad_input_is_a_4xx_that_changes_nothing(glance, headers, message):
    name = "bad-%s" % uuid.uuid4()
    headers = dict(headers, **{"x-image-meta-name": name})
    resp = requests.post(glance.url + "/v1/images", headers=headers)
    assert 400 <= resp.status_code < 500, resp.text
    assert message in resp.text
    listed = requests.get(glance.url + "/v1/images/detail",
                          params={"name": name, "is_public": "None"}).json()["images"]
    assert listed == []


def test_duplicate_id_is_409(glance):
    image_id = str(uuid.uuid4())
    assert _create(glance, id=image_id).status_code == 201
    again = _create(glance, id=image_id)
    assert again.status_code == 409
    assert image_id in again.text


def _assert_killed_and_nothing_stored(glance, image_id, before):
    head = requests.head(glance.url + "/v1/images/" + image_id)
    assert head.headers["x-image-meta-status"] == "killed"
    assert _stored_files(glance) == before


def test_checksum_mismatch_is_400_and_kills_the_image(glance):
    before = _stored_files(glance)
    image_id = str(uuid.uuid4())
    resp = _create(glance, b"x" * 1000, chunked=True, id=image_id, checksum="0" * 32)
    assert resp.status_code == 400
    assert "killed" in resp.text
    _assert_killed_and_nothing_stored(glance, image_id, before)


def test_size_mismatch_is_400_and_kills_the_image(glance):
    before = _stored_files(glance)
    image_id = str(uuid.uuid4())
    resp = _create(glance, b"x" * 1000, chunked=True, id=image_id, size=999)
    assert resp.status_code == 400
    _assert_killed_and_nothing_stored(glance, image_id, before)


def test_declared_size_above_the_cap_is_400_before_anything_is_recorded(glance):
    image_id = str(uuid.uuid4())
    resp = _create(glance, b"x", chunked=True, id=image_id, size=glance.size_cap + 1)
    assert resp.status_code == 400
    assert "Denying attempt to upload image larger than" in resp.text
    assert requests.head(glance.url + "/v1/images/" + image_id).status_code == 404


def test_stream_past_the_cap_is_413_and_killed(glance):
    before = _stored_files(glance)
    image_id = str(uuid.uuid4())
    chunks = (b"y" * 65536 for _ in range(glance.size_cap // 65536 + 2))
    resp = requests.post(glance.url + "/v1/images", data=chunks, headers={
        "x-image-meta-id": image_id, "x-image-meta-disk_format": "raw",
        "x-image-meta-container_format": "bare",
        "Content-Type": "application/octet-stream"})
    assert resp.status_code == 413
    _assert_killed_and_nothing_stored(glance, image_id, before)


def test_data_needs_formats_and_octet_stream(glance):
    resp = requests.post(glance.url + "/v1/images", data=b"abc",
                         headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 400
    assert "Disk format is not specified" in resp.text
    json_body = requests.post(glance.url + "/v1/images", data=b"{}", headers={
        "Content-Type": "application/json", "x-image-meta-disk_format": "raw",
        "x-image-meta-container_format": "bare"})
    assert json_body.status_code == 400


def test_explicit_size_zero_without_data_is_active_and_empty(glance):
    image = _create(glance, size=0).json()["image"]
    assert image["status"] == "active"
    got = requests.get(glance.url + "/v1/images/" + image["id"])
    assert got.status_code == 200 and got.content == b""


def test_empty_chunked_body_with_size_zero_is_an_active_empty_image(glance):
    resp = _create(glance, b"", chunked=True, size=0)
    image = resp.json()["image"]
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(b"").hexdigest()


def test_download_of_a_queued_image_is_404(glance):
    image = _create(glance).json()["image"]
    resp = requests.get(glance.url + "/v1/images/" + image["id"])
    assert resp.status_code == 404
    assert "is not active" in resp.text


def test_download_with_missing_data_is_an_error_not_a_truncated_200(glance):
    image = _create(glance, b"data that will vanish").json()["image"]
    for name in _stored_files(glance):
        if image["id"] in name:
            os.unlink(os.path.join(glance.images_dir, name))
    resp = requests.get(glance.url + "/v1/images/" + image["id"])
    assert resp.status_code == 404


def test_update_metadata_merges_or_purges_properties(glance):
    image = _create(glance, property_a="1", property_b="2").json()["image"]
    url = glance.url + "/v1/images/" + image["id"]
    merged = requests.put(url, headers={"x-glance-registry-purge-props": "false",
                                        "x-image-meta-name": "renamed",
                                        "x-image-meta-property-c": "3"})
    assert merged.status_code == 200, merged.text
    assert merged.json()["image"]["properties"] == {"a": "1", "b": "2", "c": "3"}
    assert merged.json()["image"]["name"] == "renamed"
    purged = requests.put(url, headers={"x-glance-registry-purge-props": "true",
                                        "x-image-meta-property-b": "20"})
    assert purged.json()["image"]["properties"] == {"b": "20"}
    # Absent means purge (Glance's default).
    absent = requests.put(url, headers={"x-image-meta-property-d": "4"})
    assert absent.json()["image"]["properties"] == {"d": "4"}


def test_upload_to_a_queued_image_with_put(glance):
    image = _create(glance, size=5).json()["image"]
    url = glance.url + "/v1/images/" + image["id"]
    wrong = requests.put(url, data=iter([b"123456"]), headers={
        "Content-Type": "application/octet-stream",
        "x-glance-registry-purge-props": "false"})
    assert wrong.status_code == 400  # the reserved size is enforced
    image = _create(glance, size=5).json()["image"]
    url = glance.url + "/v1/images/" + image["id"]
    ok = requests.put(url, data=iter([b"12345"]), headers={
        "Content-Type": "application/octet-stream",
        "x-glance-registry-purge-props": "false"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["image"]["status"] == "active"
    again = requests.put(url, data=iter([b"12345"]), headers={
        "Content-Type": "application/octet-stream"})
    assert again.status_code == 409


def test_status_and_active_size_cannot_be_changed(glance):
    image = _create(glance, b"abc").json()["image"]
    url = glance.url + "/v1/images/" + image["id"]
    assert requests.put(url, headers={"x-image-meta-status": "queued"}).status_code == 403
    same = requests.put(url, headers={"x-image-meta-status": "active",
                                      "x-glance-registry-purge-props": "false"})
    assert same.status_code == 200


def test_delete_removes_bytes_and_protected_images_refuse(glance):
    image = _create(glance, b"to be deleted", protected="True").json()["image"]
    url = glance.url + "/v1/images/" + image["id"]
    assert any(image["id"] in f for f in _stored_files(glance))
    refused = requests.delete(url)
    assert refused.status_code == 403
    assert "protected" in refused.text
    requests.put(url, headers={"x-image-meta-protected": "False",
                               "x-glance-registry-purge-props": "false"})
    deleted = requests.delete(url)
    assert deleted.status_code == 200 and deleted.content == b""
    assert not any(image["id"] in f for f in _stored_files(glance))
    head = requests.head(url)  # admins still see deleted images
    assert head.headers["x-image-meta-status"] == "deleted"
    assert head.headers["x-image-meta-deleted"] == "True"
    assert requests.delete(url).status_code == 404
    assert requests.get(url).status_code == 404


def test_list_filters_sorting_and_paging(glance):
    tag = uuid.uuid4().hex[:8]
    ids = []
    for i in range(7):
        resp = _create(glance, b"z" * (i + 1), name="%s-%d" % (tag, i),
                       property_batch=tag, property_parity=str(i % 2))
        ids.append(resp.json()["image"]["id"])
    detail = glance.url + "/v1/images/detail"
    by_prop = requests.get(detail, params={"property-batch": tag, "property-parity": "1"})
    assert sorted(i["id"] for i in by_prop.json()["images"]) == sorted(ids[1::2])
    sized = requests.get(detail, params={"property-batch": tag, "size_min": 3, "size_max": 5})
    assert sorted(i["size"] for i in sized.json()["images"]) == [3, 4, 5]
    named = requests.get(detail, params={"name": "%s-2" % tag}).json()["images"]
    assert [i["id"] for i in named] == [ids[2]]

    seen, marker = [], None
    while True:
        params = {"property-batch": tag, "limit": 3, "sort_key": "name", "sort_dir": "asc"}
        if marker:
            params["marker"] = marker
        page = requests.get(detail, params=params).json()["images"]
        seen += [i["id"] for i in page]
        if len(page) < 3:
            break
        marker = page[-1]["id"]
    assert seen == ids
    brief = requests.get(glance.url + "/v1/images", params={"property-batch": tag})
    assert set(brief.json()["images"][0]) == {"id", "name", "disk_format",
                                              "container_format", "size", "checksum"}
    bad = requests.get(detail, params={"sort_key": "owner_password"})
    assert bad.status_code == 400


def test_killed_images_are_listed_only_with_changes_since(glance):
    tag = uuid.uuid4().hex[:8]
    image_id = str(uuid.uuid4())
    _create(glance, b"x", chunked=True, id=image_id, checksum="0" * 32, name=tag)
    listed = requests.get(glance.url + "/v1/images/detail", params={"name": tag}).json()
    assert listed["images"] == []
    since = requests.get(glance.url + "/v1/images/detail",
                         params={"name": tag, "changes-since": "2000-01-01T00:00:00"})
    assert [i["id"] for i in since.json()["images"]] == [image_id]


def test_members_add_list_share_and_remove(glance):
    image = _create(glance, b"shared bytes").json()["image"]
    members = glance.url + "/v1/images/%s/members" % image["id"]
    tenant = "tenant-%s" % uuid.uuid4().hex[:6]
    added = requests.put(members + "/" + tenant, json={"member": {"can_share": True}})
    assert added.status_code == 204, added.text
    listed = requests.get(members).json()["members"]
    assert listed == [{"member_id": tenant, "can_share": True}]
    shared = requests.get(glance.url + "/v1/shared-images/" + tenant).json()
    assert shared == {"shared_images": [{"image_id": image["id"], "can_share": True}]}
    assert requests.put(members + "/" + tenant, data="{not json",
                        headers={"Content-Type": "application/json"}).status_code == 400
    assert requests.delete(members + "/" + tenant).status_code == 204
    assert requests.delete(members + "/" + tenant).status_code == 404
    assert requests.get(members).json()["members"] == []


def test_replace_members(glance):
    image = _create(glance).json()["image"]
    members = glance.url + "/v1/images/%s/members" % image["id"]
    requests.put(members + "/t1", json={"member": {"can_share": True}})
    resp = requests.put(members, json={"memberships": [{"member_id": "t2"},
                                                       {"member_id": "t3", "can_share": True}]})
    assert resp.status_code == 204, resp.text
    got = {m["member_id"]: m["can_share"] for m in requests.get(members).json()["members"]}
    assert got == {"t2": False, "t3": True}


def test_request_id_is_kept_when_well_formed_and_logged_by_both_daemons(glance):
    rid = "req-%s" % uuid.uuid4()
    resp = requests.get(glance.url + "/v1/images/detail",
                        headers={"x-openstack-request-id": rid})
    assert resp.headers["x-openstack-request-id"] == rid
    bogus = requests.get(glance.url + "/v1/images/detail",
                         headers={"x-openstack-request-id": "not-a-request-id"})
    assert bogus.headers["x-openstack-request-id"] != "not-a-request-id"
    assert glance.wait_for_log("api", rid)
    assert glance.wait_for_log("registry", rid)


def test_unsupported_method_is_405_with_allow(glance):
    resp = requests.patch(glance.url + "/v1/images")
    assert resp.status_code == 405
    assert "POST" in resp.headers["Allow"]
    # A delete without an id is of an image that does not exist, as Glance said.
    assert requests.delete(glance.url + "/v1/images/").status_code == 404


def test_keep_alive_connection_survives_a_client_pause(glance):
    import http.client
    import time
    host, port = glance.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", "/versions")
    assert conn.getresponse().read()
    time.sleep(1.5)  # longer than the classic client's retry pause
    conn.request("GET", "/versions")
    second = conn.getresponse()
    assert second.status == 200 and second.read()
    conn.close()


def test_a_content_length_upload_leaves_the_connection_usable(glance):
    import http.client
    host, port = glance.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    data = os.urandom(2 * 1024 * 1024 + 3)
    conn.request("POST", "/v1/images", body=data, headers={
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
        "Content-Type": "application/octet-stream", "Content-Length": str(len(data))})
    created = conn.getresponse()
    image = json.loads(created.read())["image"]
    assert created.status == 201 and image["checksum"] == hashlib.md5(data).hexdigest()
    # The body was read exactly: the next request on the connection is understood.
    conn.request("GET", "/v1/images/" + image["id"])
    got = conn.getresponse()
    assert got.status == 200 and got.read() == data
    conn.close()


def test_a_chunked_upload_leaves_the_connection_usable(glance):
    import http.client
    host, port = glance.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    pieces = [os.urandom(n) for n in (1, 65536, 3 * 1024 * 1024 + 7, 10)]
    conn.request("POST", "/v1/images", body=iter(pieces), encode_chunked=True, headers={
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
        "Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"})
    created = conn.getresponse()
    image = json.loads(created.read())["image"]
    data = b"".join(pieces)
    assert created.status == 201 and image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["size"] == len(data)
    conn.request("GET", "/v1/images/" + image["id"])
    got = conn.getresponse()
    assert got.status == 200 and got.read() == data
    conn.close()
