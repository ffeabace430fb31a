"""What the ``glance`` command sends on the wire when it speaks v2, and how it
chooses the version (spec v2 sections 1.1, 4-8 and 15.1/17.2).

A small fake image service on 127.0.0.1 (fake_glance.py) answers what each
test queues and records every request; the command runs in-process through
``shell.main``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import uuid

import pytest

from glance_cli import shell
from glance_cli import transfer
from tests.unit.glance_cli import fake_glance

IMAGE_ID = str(uuid.uuid4())
IMAGE = "/v2/images/" + IMAGE_ID


def v2_image(**fields) -> dict:
    record = {"id": IMAGE_ID, "name": "n", "status": "queued", "visibility": "shared",
              "protected": False, "os_hidden": False, "checksum": None,
              "os_hash_algo": None, "os_hash_value": None, "size": None,
              "virtual_size": None, "min_ram": 0, "min_disk": 0, "disk_format": "raw",
              "container_format": "bare", "owner": "p1", "tags": [],
              "created_at": "2026-12-03T10:00:00Z", "updated_at": "2026-12-03T10:00:00Z",
              "self": IMAGE, "file": IMAGE + "/file", "schema": "/v2/schemas/image"}
    record.update(fields)
    return record


class Terminal(io.StringIO):
    """A stdin that is a terminal: the command must not read it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal())
    for name in ("OS_IMAGE_API_VERSION", "OS_IMAGE_URL", "OS_AUTH_TOKEN", "OS_AUTH_URL",
                 "OS_INTERFACE", "OS_ENDPOINT_TYPE", "OS_CERT", "OS_KEY", "OS_CACERT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake():
    """A fake service whose /versions lists v2 (and v1), as ours does."""
    server = fake_glance.start()
    server.versions("v2.9", "v2.0", "v1.1", "v1.0")
    yield server
    server.shutdown()
    server.server_close()


def glance(fake, *args: str) -> int:
    return shell.main(["--os-image-url", fake.url, "--os-auth-token", "tok:en", *args])


def table(output: str) -> dict[str, str]:
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and cells[0] != "Property":
            rows[cells[0]] = cells[1]
    return rows


def rows(output: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in output.splitlines() if line.startswith("|")]


def api_calls(fake) -> list[tuple[str, str]]:
    """(method, path) of every request but the version discovery."""
    return [(r.method, r.path) for r in fake.requests if r.path != "/versions"]


# -- which version --------------------------------------------------------------

def test_a_server_listing_v2_is_spoken_to_in_v2(fake, capsys):
    fake.reply("GET", "/v2/images", json_body={"images": [v2_image()]})
    assert glance(fake, "image-list") == 0
    discovery, listing = fake.requests
    assert (discovery.method, discovery.path) == ("GET", "/versions")
    assert listing.path == "/v2/images"
    assert listing.query == [("limit", "200"), ("sort_key", "name"), ("sort_dir", "asc")]
    assert listing.headers["X-Auth-Token"] == "tok%3Aen"
    assert rows(capsys.readouterr().out) == [["ID", "Name"], [IMAGE_ID, "n"]]


@pytest.mark.parametrize("versions", [("v1.1", "v1.0"), None], ids=["v1-only", "no-versions"])
def test_a_server_without_v2_is_spoken_to_in_v1(versions, capsys):
    server = fake_glance.start()
    try:
        if versions:
            server.versions(*versions)
        server.reply("GET", "/v1/images/detail", json_body={"images": [
            {"id": IMAGE_ID, "name": "classic", "disk_format": "raw",
             "container_format": "bare", "size": 5, "status": "active"}]})
        assert glance(server, "image-list") == 0
        assert [(r.method, r.path) for r in server.requests] == [
            ("GET", "/versions"), ("GET", "/v1/images/detail")]
        out = rows(capsys.readouterr().out)
        assert out[0][:2] == ["ID", "Name"] and out[1][:2] == [IMAGE_ID, "classic"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("how", ["flag", "env", "url"])
def test_an_asked_for_version_skips_discovery(fake, monkeypatch, how):
    fake.reply("GET", "/v1/images/detail", json_body={"images": []})
    if how == "flag":
        assert glance(fake, "--os-image-api-version", "1", "image-list") == 0
    elif how == "env":
        monkeypatch.setenv("OS_IMAGE_API_VERSION", "1")
        assert glance(fake, "image-list") == 0
    else:
        assert shell.main(["--os-image-url", fake.url + "/v1", "--os-auth-token", "t",
                           "image-list"]) == 0
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/images/detail")]


def test_a_v1_option_given_to_a_v2_command_is_a_one_line_usage_error(fake, capsys):
    assert glance(fake, "image-create", "--is-public", "True") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: glance image-create: unrecognized arguments: --is-public")
    assert "[Images API v2]" in err and len(err.strip().splitlines()) == 1
    assert api_calls(fake) == []


# -- images -------------------------------------------------------------------

def test_create_with_a_file_posts_json_then_streams_the_data(fake, tmp_path, capsys):
    data = bytes(range(256)) * (4096 * 2 + 3)  # a little over 2 MiB
    source = tmp_path / "disk.img"
    source.write_bytes(data)
    digest = hashlib.sha512(data).hexdigest()
    fake.reply("GET", "/v2/info/stores", json_body={"stores": [{"id": "fast"}]})
    fake.reply("POST", "/v2/images", 201, json_body=v2_image())
    fake.reply("PUT", IMAGE + "/file", 204)
    fake.reply("GET", IMAGE, json_body=v2_image(status="active", size=len(data),
                                                os_hash_algo="sha512", os_hash_value=digest,
                                                tags=["t1", "t2"], k="v"))
    assert glance(fake, "image-create", "--name", "N", "--disk-format", "raw",
                  "--container-format", "bare", "--visibility", "private",
                  "--protected", "yes", "--hidden", "false", "--min-ram", "512",
                  "--tags", "t1", "t2", "--property", "k=v", "--os-distro", "cirros",
                  "--file", str(source), "--store", "fast") == 0
    assert api_calls(fake) == [("GET", "/v2/info/stores"), ("POST", "/v2/images"),
                               ("PUT", IMAGE + "/file"), ("GET", IMAGE)]
    post = fake.sent("POST")[0]
    assert post.headers["Content-Type"] == "application/json"
    assert post.json() == {"name": "N", "disk_format": "raw", "container_format": "bare",
                           "visibility": "private", "protected": True, "os_hidden": False,
                           "min_ram": 512, "tags": ["t1", "t2"], "k": "v",
                           "os_distro": "cirros"}
    put = fake.sent("PUT")[0]
    assert put.headers["Content-Type"] == "application/octet-stream"
    assert put.headers["Transfer-Encoding"] == "chunked"
    assert put.headers["x-openstack-image-size"] == str(len(data))
    assert put.headers["X-Image-Meta-Store"] == "fast"
    assert put.body == data and max(put.chunks) == transfer.CHUNK_SIZE
    shown = table(capsys.readouterr().out)
    assert shown["status"] == "active" and shown["k"] == "v"
    assert json.loads(shown["tags"]) == ["t1", "t2"]
    assert shown["virtual_size"] == "Not available"
    assert not {"self", "file", "schema"} & set(shown)


def test_create_refuses_data_without_formats_before_any_request(fake, tmp_path, capsys):
    source = tmp_path / "disk.img"
    source.write_bytes(b"x")
    assert glance(fake, "image-create", "--name", "N", "--file", str(source)) == 2
    assert "--container-format, --disk-format" in capsys.readouterr().err
    assert api_calls(fake) == []


def test_create_with_an_unknown_store_creates_nothing(fake, tmp_path, capsys):
    source = tmp_path / "disk.img"
    source.write_bytes(b"x")
    fake.reply("GET", "/v2/info/stores", json_body={"stores": [{"id": "local"}]})
    assert glance(fake, "image-create", "--disk-format", "raw", "--container-format",
                  "bare", "--file", str(source), "--store", "nosuch") == 1
    assert capsys.readouterr().err.startswith("Store 'nosuch' is not valid for this cloud.")
    assert api_calls(fake) == [("GET", "/v2/info/stores")]


def test_a_failed_upload_names_the_queued_image(fake, tmp_path, capsys):
    source = tmp_path / "disk.img"
    source.write_bytes(b"not a qcow2")
    fake.reply("POST", "/v2/images", 201, json_body=v2_image(disk_format="qcow2"))
    fake.reply("PUT", IMAGE + "/file", 415, headers={"Content-Type": "text/html"},
               body=b"<html><body><h1>415 Unsupported Media Type</h1>Image disk_format "
                    b"qcow2 does not match stream data raw<br /><br /></body></html>")
    assert glance(fake, "image-create", "--disk-format", "qcow2", "--container-format",
                  "bare", "--file", str(source)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("Image %s was created, but uploading its data failed (it is left "
                   "queued: retry with image-upload or delete it): HTTP 415 Unsupported "
                   "Media Type: Image disk_format qcow2 does not match stream data raw\n"
                   % IMAGE_ID)


def test_update_patches_only_what_was_asked(fake, capsys):
    fake.reply("GET", IMAGE, json_body=v2_image(old="x", keep="y"))
    fake.reply("PATCH", IMAGE, json_body=v2_image(name="new", a="b", keep="y"))
    assert glance(fake, "image-update", IMAGE_ID, "--name", "new", "--min-disk", "1",
                  "--protected", "False", "--property", "a=b", "--property", "x/y=z",
                  "--remove-property", "old", "--remove-property", "missing") == 0
    patch = fake.sent("PATCH")[0]
    assert patch.headers["Content-Type"] == "application/openstack-images-v2.1-json-patch"
    assert patch.json() == [
        {"op": "remove", "path": "/old"},
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "replace", "path": "/protected", "value": False},
        {"op": "replace", "path": "/min_disk", "value": 1},
        {"op": "add", "path": "/a", "value": "b"},
        {"op": "add", "path": "/x~1y", "value": "z"}]
    assert table(capsys.readouterr().out)["name"] == "new"


def test_list_follows_next_and_maps_every_filter(fake, capsys):
    first = [v2_image(id=str(uuid.uuid4()), name=n) for n in ("a", "b")]
    fake.reply("GET", "/v2/images", json_body={"images": first, "next": "/v2/images?x"})
    fake.reply("GET", "/v2/images", json_body={"images": [v2_image(name="c")]})
    assert glance(fake, "image-list", "--page-size", "2", "--visibility", "shared",
                  "--member-status", "all", "--owner", "p1", "--checksum", "c" * 32,
                  "--hash", "h", "--tag", "a", "--tag", "b", "--property-filter", "k=v",
                  "--hidden", "--sort-key", "size", "--sort-key", "name",
                  "--sort-dir", "desc") == 0
    one, two = fake.sent("GET", "/v2/images")
    assert one.query == [("limit", "2"), ("visibility", "shared"), ("member_status", "all"),
                         ("owner", "p1"), ("checksum", "c" * 32), ("os_hash_value", "h"),
                         ("tag", "a"), ("tag", "b"), ("k", "v"), ("os_hidden", "true"),
                         ("sort_key", "size"), ("sort_key", "name"), ("sort_dir", "desc")]
    assert two.query == one.query + [("marker", first[-1]["id"])]
    assert [r[1] for r in rows(capsys.readouterr().out)] == ["Name", "a", "b", "c"]


def test_list_limit_asks_for_no_more_than_it_shows(fake, capsys):
    page = [v2_image(id=str(uuid.uuid4()), name=n) for n in ("a", "b")]
    fake.reply("GET", "/v2/images", json_body={"images": page, "next": "/v2/images?x"})
    fake.reply("GET", "/v2/images", json_body={"images": page[:1], "next": "/v2/images?y"})
    assert glance(fake, "--verbose", "image-list", "--limit", "3", "--page-size", "2",
                  "--sort", "name:desc,size") == 0
    one, two = fake.sent("GET", "/v2/images")
    assert one.query == [("limit", "2"), ("sort", "name:desc,size")]
    assert two.query == [("limit", "1"), ("sort", "name:desc,size"),
                         ("marker", page[-1]["id"])]
    listed = rows(capsys.readouterr().out)
    assert listed[0] == ["ID", "Name", "Disk_format", "Container_format", "Size", "Status",
                         "Owner"]
    assert len(listed) == 4


def test_list_refuses_both_sort_syntaxes(fake, capsys):
    assert glance(fake, "image-list", "--sort", "name", "--sort-key", "size") == 2
    assert "--sort cannot be combined" in capsys.readouterr().err
    assert api_calls(fake) == []


def test_show_finds_a_name_and_wraps_at_the_column_width(fake, capsys):
    fake.reply("GET", "/v2/images", json_body={"images": [v2_image(
        name="my: image", os_hash_value="f" * 128, size=3 * 1024 ** 3)]})
    assert glance(fake, "image-show", "my: image", "--max-column-width", "40",
                  "--human-readable") == 0
    lookup = fake.sent("GET", "/v2/images")[0]
    assert lookup.query == [("name", "eq:my: image"), ("visibility", "all"),
                            ("member_status", "all")]
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) < 70
    assert table(out)["size"] == "3GB"


def test_show_of_an_unknown_name_is_one_line(fake, capsys):
    fake.reply("GET", "/v2/images", json_body={"images": []})
    assert glance(fake, "image-show", "nothing") == 1
    assert capsys.readouterr().err == "No image with a name or ID of 'nothing' exists.\n"


def test_download_checks_the_sha512_and_removes_a_corrupt_file(fake, tmp_path, capsys):
    good = b"expected bytes"
    fake.reply("GET", IMAGE, json_body=v2_image(
        status="active", checksum=hashlib.md5(b"tampered").hexdigest(),
        os_hash_algo="sha512", os_hash_value=hashlib.sha512(good).hexdigest()))
    fake.reply("GET", IMAGE + "/file", body=b"tampered")
    out = tmp_path / "out"
    assert glance(fake, "image-download", IMAGE_ID, "--file", str(out)) == 1
    assert capsys.readouterr().err.startswith("Corrupt image download: expected checksum "
                                              + hashlib.sha512(good).hexdigest())
    assert not out.exists()


def test_download_falls_back_to_content_md5(fake, tmp_path):
    fake.reply("GET", IMAGE, json_body=v2_image(status="active"))
    fake.reply("GET", IMAGE + "/file", body=b"data",
               headers={"Content-MD5": hashlib.md5(b"data").hexdigest()})
    out = tmp_path / "out"
    assert glance(fake, "image-download", IMAGE_ID, "--file", str(out), "--progress") == 0
    assert out.read_bytes() == b"data"


def test_download_of_an_image_without_data_writes_nothing(fake, tmp_path, capsys):
    fake.reply("GET", IMAGE, json_body=v2_image())
    fake.reply("GET", IMAGE + "/file", 204)
    out = tmp_path / "out"
    assert glance(fake, "image-download", IMAGE_ID, "--file", str(out)) == 1
    assert capsys.readouterr().err == "Image %s has no data.\n" % IMAGE_ID
    assert not out.exists()


def test_upload_streams_a_file_with_its_size(fake, tmp_path):
    source = tmp_path / "disk.img"
    source.write_bytes(b"abc")
    fake.reply("PUT", IMAGE + "/file", 204)
    assert glance(fake, "image-upload", IMAGE_ID, "--file", str(source)) == 0
    put = fake.sent("PUT")[0]
    assert (put.body, put.headers["x-openstack-image-size"]) == (b"abc", "3")
    assert "X-Image-Meta-Store" not in put.headers


def test_delete_reports_each_failure_and_goes_on(fake, capsys):
    other, gone = str(uuid.uuid4()), str(uuid.uuid4())
    fake.reply("DELETE", IMAGE, 403, json_body={
        "message": "Image %s is protected and cannot be deleted.<br /><br />\n\n\n"
                   % IMAGE_ID, "code": "403 Forbidden", "title": "Forbidden"})
    fake.reply("DELETE", "/v2/images/" + other, 204)
    assert glance(fake, "image-delete", IMAGE_ID, gone, other) == 1
    assert api_calls(fake) == [("DELETE", IMAGE), ("DELETE", "/v2/images/" + gone),
                               ("DELETE", "/v2/images/" + other)]
    assert capsys.readouterr().err.splitlines() == [
        "Unable to delete image '%s': HTTP 403 Forbidden: Image %s is protected and "
        "cannot be deleted." % (IMAGE_ID, IMAGE_ID),
        "No image with an ID of '%s' exists." % gone]


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
def test_deactivate_and_reactivate_post_an_empty_action(fake, action):
    fake.reply("POST", IMAGE + "/actions/" + action, 204)
    assert glance(fake, "image-" + action, IMAGE_ID) == 0
    post = fake.sent("POST")[0]
    assert (post.path, post.body, post.headers["Content-Length"]) == (
        IMAGE + "/actions/" + action, b"", "0")


def test_tags_are_path_segments(fake, capsys):
    fake.reply("PUT", IMAGE + "/tags/with space/and slash", 204)
    fake.reply("GET", IMAGE, json_body=v2_image(tags=["with space/and slash"]))
    fake.reply("DELETE", IMAGE + "/tags/gone", 404, json_body={
        "message": "The resource could not be found.", "title": "Not Found"})
    assert glance(fake, "image-tag-update", IMAGE_ID, "with space/and slash") == 0
    assert fake.sent("PUT")[0].raw_path == IMAGE + "/tags/with%20space%2Fand%20slash"
    assert rows(capsys.readouterr().out) == [["ID", "Tags"],
                                             [IMAGE_ID, '["with space/and slash"]']]
    assert glance(fake, "image-tag-delete", IMAGE_ID, "gone") == 1
    assert capsys.readouterr().err == "HTTP 404 Not Found: The resource could not be found.\n"


# -- members ------------------------------------------------------------------

def member(status: str = "pending") -> dict:
    return {"image_id": IMAGE_ID, "member_id": "p2", "status": status,
            "created_at": "2026-12-03T10:00:00Z", "updated_at": "2026-12-03T10:00:00Z",
            "schema": "/v2/schemas/member"}


def test_member_commands(fake, capsys):
    fake.reply("POST", IMAGE + "/members", json_body=member())
    fake.reply("PUT", IMAGE + "/members/p2", json_body=member("accepted"))
    fake.reply("GET", IMAGE + "/members", json_body={"members": [member("accepted")]})
    fake.reply("DELETE", IMAGE + "/members/p2", 204)
    assert glance(fake, "member-create", IMAGE_ID, "p2") == 0
    assert fake.sent("POST")[0].json() == {"member": "p2"}
    assert rows(capsys.readouterr().out) == [["Image ID", "Member ID", "Status"],
                                             [IMAGE_ID, "p2", "pending"]]
    assert glance(fake, "member-update", IMAGE_ID, "p2", "accepted") == 0
    assert fake.sent("PUT")[0].json() == {"status": "accepted"}
    assert rows(capsys.readouterr().out)[1] == [IMAGE_ID, "p2", "accepted"]
    assert glance(fake, "member-list", "--image-id", IMAGE_ID) == 0
    assert rows(capsys.readouterr().out)[1] == [IMAGE_ID, "p2", "accepted"]
    assert glance(fake, "member-delete", IMAGE_ID, "p2") == 0
    assert api_calls(fake)[-1] == ("DELETE", IMAGE + "/members/p2")


def test_member_update_refuses_an_unknown_status(fake, capsys):
    assert glance(fake, "member-update", IMAGE_ID, "p2", "maybe") == 2
    assert "invalid choice: 'maybe'" in capsys.readouterr().err
    assert api_calls(fake) == []


# -- import, stores, tasks ----------------------------------------------------

IMPORT_INFO = {"import-methods": {"description": "Import methods available.",
                                  "type": "array",
                                  "value": ["glance-direct", "web-download", "copy-image"]}}
STORES = {"stores": [{"id": "local", "description": "Local", "default": "true"},
                     {"id": "fast", "description": "Fast"}]}


def test_create_via_import_stages_then_imports(fake, tmp_path, capsys):
    source = tmp_path / "disk.img"
    source.write_bytes(b"staged bytes")
    fake.reply("GET", "/v2/info/import", json_body=IMPORT_INFO)
    fake.reply("GET", "/v2/info/stores", json_body=STORES)
    fake.reply("POST", "/v2/images", 201, json_body=v2_image())
    fake.reply("PUT", IMAGE + "/stage", 204)
    fake.reply("POST", IMAGE + "/import", 202)
    fake.reply("GET", IMAGE, json_body=v2_image(status="importing"))
    assert glance(fake, "image-create-via-import", "--name", "N", "--disk-format", "raw",
                  "--container-format", "bare", "--file", str(source),
                  "--stores", "local,fast", "--allow-failure", "False") == 0
    assert api_calls(fake) == [
        ("GET", "/v2/info/stores"), ("GET", "/v2/info/stores"), ("GET", "/v2/info/import"),
        ("POST", "/v2/images"), ("PUT", IMAGE + "/stage"), ("POST", IMAGE + "/import"),
        ("GET", IMAGE)]
    assert fake.sent("POST", "/v2/images")[0].json() == {
        "name": "N", "disk_format": "raw", "container_format": "bare"}
    stage = fake.sent("PUT")[0]
    assert (stage.body, stage.headers["x-openstack-image-size"]) == (b"staged bytes", "12")
    assert stage.headers["Transfer-Encoding"] == "chunked"
    assert fake.sent("POST", IMAGE + "/import")[0].json() == {
        "method": {"name": "glance-direct"}, "stores": ["local", "fast"],
        "all_stores_must_succeed": True}
    assert table(capsys.readouterr().out)["status"] == "importing"


def test_create_via_import_from_a_url_stages_nothing(fake):
    fake.reply("GET", "/v2/info/import", json_body=IMPORT_INFO)
    fake.reply("POST", "/v2/images", 201, json_body=v2_image())
    fake.reply("POST", IMAGE + "/import", 202)
    fake.reply("GET", IMAGE, json_body=v2_image(status="importing"))
    fake.reply("GET", "/v2/info/stores", json_body={"stores": [{"id": "local"}]})
    fake.reply("GET", "/v2/info/stores", json_body=STORES)
    assert glance(fake, "image-create-via-import", "--disk-format", "raw",
                  "--container-format", "bare", "--uri", "http://example.test/i.img",
                  "--store", "fast") == 1
    # An unknown --store is refused before anything is created.
    assert ("POST", "/v2/images") not in api_calls(fake)
    assert glance(fake, "image-create-via-import", "--disk-format", "raw",
                  "--container-format", "bare", "--uri", "http://example.test/i.img",
                  "--store", "fast") == 0
    start = fake.sent("POST", IMAGE + "/import")[0]
    assert start.json() == {"method": {"name": "web-download",
                                       "uri": "http://example.test/i.img"}}
    assert start.headers["X-Image-Meta-Store"] == "fast"
    assert fake.sent("PUT") == []


def test_create_via_import_refuses_a_method_the_server_lacks(fake, tmp_path, capsys):
    source = tmp_path / "disk.img"
    source.write_bytes(b"x")
    fake.reply("GET", "/v2/info/import", json_body={"import-methods": {"value": []}})
    assert glance(fake, "image-create-via-import", "--disk-format", "raw",
                  "--container-format", "bare", "--file", str(source)) == 1
    assert capsys.readouterr().err.startswith(
        "Import method 'glance-direct' is not valid for this cloud.")
    assert api_calls(fake) == [("GET", "/v2/info/import")]


def test_image_stage_puts_the_data_aside(fake, tmp_path):
    source = tmp_path / "disk.img"
    source.write_bytes(b"12345")
    fake.reply("PUT", IMAGE + "/stage", 204)
    assert glance(fake, "image-stage", IMAGE_ID, "--file", str(source), "--progress") == 0
    stage = fake.sent("PUT")[0]
    assert stage.path == IMAGE + "/stage" and stage.body == b"12345"
    assert stage.headers["Content-Type"] == "application/octet-stream"


def test_image_import_checks_the_status_first(fake, capsys):
    fake.reply("GET", "/v2/info/import", json_body=IMPORT_INFO)
    fake.reply("GET", IMAGE, json_body=v2_image(status="queued"))
    assert glance(fake, "image-import", IMAGE_ID) == 1
    assert capsys.readouterr().err == ("The 'glance-direct' import method can only be "
                                       "applied to an image in status 'uploading'\n")
    assert fake.sent("POST") == []


def test_image_import_copies_to_more_stores(fake, capsys):
    fake.reply("GET", "/v2/info/import", json_body=IMPORT_INFO)
    fake.reply("GET", "/v2/info/stores", json_body=STORES)
    fake.reply("GET", IMAGE, json_body=v2_image(status="active"))
    fake.reply("POST", IMAGE + "/import", 202)
    assert glance(fake, "image-import", IMAGE_ID, "--import-method", "copy-image") == 2
    assert "--stores or --all-stores" in capsys.readouterr().err
    assert glance(fake, "image-import", IMAGE_ID, "--import-method", "copy-image",
                  "--stores", "fast") == 0
    assert fake.sent("POST")[0].json() == {"method": {"name": "copy-image"},
                                           "stores": ["fast"],
                                           "all_stores_must_succeed": False}
    assert glance(fake, "image-import", IMAGE_ID, "--import-method", "copy-image",
                  "--all-stores", "true", "--stores", "fast") == 2


def test_stores_info_and_its_absence(fake, capsys):
    fake.reply("GET", "/v2/info/stores", json_body=STORES)
    assert glance(fake, "stores-info") == 0
    assert rows(capsys.readouterr().out) == [["ID", "Description", "Default"],
                                             ["local", "Local", "true"],
                                             ["fast", "Fast", ""]]
    assert glance(fake, "stores-info", "--detail") == 1
    assert capsys.readouterr().err == "Multi Backend support is not enabled\n"


def test_stores_delete(fake, capsys):
    fake.reply("DELETE", "/v2/stores/fast/" + IMAGE_ID, 204)
    fake.reply("DELETE", "/v2/stores/local/" + IMAGE_ID, 403, json_body={
        "message": "Cannot delete image data from the only store containing it.",
        "title": "Forbidden"})
    assert glance(fake, "stores-delete", IMAGE_ID, "--store", "fast") == 0
    assert glance(fake, "stores-delete", IMAGE_ID, "--store", "local") == 1
    assert capsys.readouterr().err == (
        "Unable to delete image '%s' from store 'local'. (HTTP 403 Forbidden: Cannot "
        "delete image data from the only store containing it.)\n" % IMAGE_ID)


def test_image_tasks(fake, capsys):
    fake.reply("GET", IMAGE, json_body=v2_image())
    task = {"id": "t1", "image_id": IMAGE_ID, "status": "success", "message": "Copied 1 MiB",
            "updated_at": "2026-12-03T10:00:00.123456", "type": "api_image_import"}
    fake.reply("GET", IMAGE + "/tasks", json_body={"tasks": [task]})
    assert glance(fake, "image-tasks", IMAGE_ID) == 0
    assert rows(capsys.readouterr().out) == [
        ["Message", "Status", "Updated at"],
        ["Copied 1 MiB", "success", "2026-12-03T10:00:00.123456"]]
    assert glance(fake, "--verbose", "image-tasks", IMAGE_ID) == 0
    assert rows(capsys.readouterr().out)[1][:2] == [IMAGE_ID, "t1"]


def test_image_tasks_on_a_server_without_them(fake, capsys):
    fake.reply("GET", IMAGE, json_body=v2_image())
    assert glance(fake, "image-tasks", IMAGE_ID) == 1
    assert capsys.readouterr().err == "Server does not support image tasks API (v2.12)\n"
