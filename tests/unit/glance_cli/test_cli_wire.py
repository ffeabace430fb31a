"""What the ``glance`` command sends on the wire (spec v1 sections 1, 3, 10, 11).

A ``responses`` mock stands in for the image service and records each
request; the command runs in-process through ``shell.main``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import uuid
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import pytest
import responses

from glance_cli import shell
from glance_cli import transfer

URL = "http://glance.test:9292"
IMAGE_ID = str(uuid.uuid4())


def image_record(**fields) -> dict:
    record = {"id": IMAGE_ID, "name": "n", "disk_format": "raw", "container_format": "bare",
              "size": 0, "checksum": None, "status": "queued", "is_public": False,
              "protected": False, "min_disk": 0, "min_ram": 0, "owner": None,
              "properties": {}}
    record.update(fields)
    return record


class Terminal(io.StringIO):
    """A stdin that is a terminal: the command must not read it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def api(monkeypatch):
    """The mocked image service; ``api.uploads`` holds each streamed body's chunks."""
    monkeypatch.setattr(sys, "stdin", Terminal())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.uploads = []

        def created(request):
            chunks = list(request.body) if request.body is not None else None
            mock.uploads.append(chunks)
            return 201, {}, json.dumps({"image": image_record()})

        mock.add_callback(responses.POST, URL + "/v1/images", callback=created)
        yield mock


def glance(*args: str) -> int:
    return shell.main(["--os-image-url", URL + "/v1", "--os-auth-token", "admin:admin:admin",
                       *args])


def test_every_request_carries_the_encoded_token_and_asks_for_json(api):
    assert glance("image-create", "--name", "x") == 0
    headers = api.calls[0].request.headers
    assert headers["X-Auth-Token"] == "admin%3Aadmin%3Aadmin"
    assert headers["Accept"] == "application/json"
    # The /v1 suffix of the image URL is the version, not part of the path.
    assert api.calls[0].request.url == URL + "/v1/images"


def test_reserve_sends_metadata_headers_and_no_body(api):
    assert glance("image-create", "--id", IMAGE_ID, "--name", "seed one", "--owner", "t 1",
                  "--disk-format", "raw", "--container-format", "bare", "--size", "10",
                  "--min-disk", "2", "--min-ram", "512", "--checksum", "c" * 32,
                  "--is-public", "yes", "--is-protected", "false",
                  "--property", "Hw-Arch=x86_64", "--property", "k=a=b") == 0
    headers = api.calls[0].request.headers
    expected = {"x-image-meta-id": IMAGE_ID, "x-image-meta-name": "seed%20one",
                "x-image-meta-owner": "t%201", "x-image-meta-disk_format": "raw",
                "x-image-meta-container_format": "bare", "x-image-meta-size": "10",
                "x-image-meta-min_disk": "2", "x-image-meta-min_ram": "512",
                "x-image-meta-checksum": "c" * 32, "x-image-meta-is_public": "True",
                "x-image-meta-protected": "False",
                "x-image-meta-property-Hw-Arch": "x86_64",
                "x-image-meta-property-k": "a%3Db"}
    assert {k: headers.get(k) for k in expected} == expected
    assert headers["Content-Length"] == "0"
    assert "x-image-meta-location" not in headers and "x-glance-api-copy-from" not in headers
    assert api.uploads == [None]


def test_upload_streams_bounded_chunks_with_the_file_size(api, tmp_path):
    data = bytes(range(256)) * (4096 * 3 + 1)  # a little over 3 MiB
    source = tmp_path / "disk.img"
    source.write_bytes(data)
    assert glance("image-create", "--disk-format", "raw", "--container-format", "bare",
                  "--file", str(source)) == 0
    request = api.calls[0].request
    assert request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in request.headers
    assert request.headers["Content-Type"] == "application/octet-stream"
    assert request.headers["x-image-meta-size"] == str(len(data))
    chunks = api.uploads[0]
    assert max(len(c) for c in chunks) == transfer.CHUNK_SIZE
    assert b"".join(chunks) == data


def test_piped_stdin_is_uploaded_without_a_size(api, monkeypatch):
    class Pipe(io.BytesIO):
        def fileno(self):
            raise io.UnsupportedOperation("a pipe has no size here")

    pipe = Pipe(b"piped bytes")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(pipe))
    monkeypatch.setattr(transfer, "_regular_size", lambda stream: None)
    assert glance("image-create", "--disk-format", "raw", "--container-format", "bare") == 0
    assert "x-image-meta-size" not in api.calls[0].request.headers
    assert b"".join(api.uploads[0]) == b"piped bytes"


@pytest.mark.parametrize("option, header, value", [
    ("--copy-from", "x-glance-api-copy-from", "http://h:8080/a%20b.img"),
    # Only letters, digits, "_.-~" and "/:" go unescaped, as the classic client.
    ("--location", "x-image-meta-location", "swift%2Bhttps://u:p%40h/c/o")])
def test_sources_pass_only_what_was_asked(api, option, header, value):
    given = value.replace("%20", " ").replace("%2B", "+").replace("%40", "@")
    assert glance("image-create", "--disk-format", "raw", "--container-format", "bare",
                  option, given, "--store", "swift") == 0
    headers = api.calls[0].request.headers
    assert headers[header] == value
    assert headers["x-image-meta-store"] == "swift"
    assert "x-image-meta-size" not in headers
    assert headers["Content-Length"] == "0"


@pytest.mark.parametrize("options, purge", [([], "false"), (["--purge-props"], "true")])
def test_update_resolves_by_head_and_sends_the_purge_flag(api, options, purge):
    api.add(responses.HEAD, URL + "/v1/images/" + IMAGE_ID,
            headers={"x-image-meta-id": IMAGE_ID, "x-image-meta-status": "active"})
    api.add(responses.PUT, URL + "/v1/images/" + IMAGE_ID,
            json={"image": image_record(name="new")})
    assert glance("image-update", IMAGE_ID, "--name", "new", *options) == 0
    head, put = api.calls
    assert head.request.method == "HEAD"
    assert put.request.headers["x-glance-registry-purge-props"] == purge
    assert put.request.headers["x-image-meta-name"] == "new"


def _query(call) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query)


def test_list_pages_with_markers_until_a_short_page(api, capsys):
    pages = [[image_record(id="a" * 8 + str(uuid.uuid4())[8:], name=n) for n in names]
             for names in (["a", "b"], ["c", "d"], ["e"])]
    for page in pages:
        api.add(responses.GET, URL + "/v1/images/detail", json={"images": page})
    assert glance("image-list", "--page-size", "2", "--name", "n", "--status", "active",
                  "--container-format", "bare", "--disk-format", "raw", "--size-min", "1",
                  "--size-max", "9", "--property-filter", "k=v", "--all-tenants") == 0
    first, second, third = api.calls
    assert _query(first) == [("limit", "2"), ("sort_key", "name"), ("sort_dir", "asc"),
                             ("name", "n"), ("status", "active"),
                             ("container_format", "bare"), ("disk_format", "raw"),
                             ("size_min", "1"), ("size_max", "9"), ("is_public", "None"),
                             ("property-k", "v")]
    assert _query(second)[-1] == ("marker", pages[0][-1]["id"])
    assert _query(third)[-1] == ("marker", pages[1][-1]["id"])
    out = capsys.readouterr().out
    assert all(image["id"] in out for page in pages for image in page)


def test_list_defaults_sort_by_name_ascending_in_pages_of_20(api):
    api.add(responses.GET, URL + "/v1/images/detail", json={"images": []})
    assert glance("image-list", "--sort-key", "size", "--sort-dir", "desc") == 0
    assert _query(api.calls[0]) == [("limit", "20"), ("sort_key", "size"),
                                    ("sort_dir", "desc")]
    assert glance("image-list", "--is-public", "False", "--owner", "t") == 0
    assert _query(api.calls[1])[3:] == [("is_public", "False")]


def test_a_name_is_looked_up_in_the_detailed_list(api, capsys):
    api.add(responses.GET, URL + "/v1/images/detail", json={"images": [image_record()]})
    api.add(responses.HEAD, URL + "/v1/images/" + IMAGE_ID,
            headers={"x-image-meta-id": IMAGE_ID, "x-image-meta-name": "my image"})
    assert glance("image-show", "my image") == 0
    lookup, head = api.calls
    assert _query(lookup) == [("name", "my image"), ("is_public", "None")]
    assert head.request.method == "HEAD"
    assert "my image" in capsys.readouterr().out


def test_an_unknown_id_falls_back_to_a_name_lookup(api, capsys):
    api.add(responses.HEAD, URL + "/v1/images/" + IMAGE_ID, status=404)
    api.add(responses.GET, URL + "/v1/images/detail", json={"images": []})
    assert glance("image-show", IMAGE_ID) == 1
    assert [c.request.method for c in api.calls] == ["HEAD", "GET"]
    assert capsys.readouterr().err == "No image with a name or ID of '%s' exists.\n" % IMAGE_ID


def test_member_create_sends_can_share_as_json(api):
    api.add(responses.HEAD, URL + "/v1/images/" + IMAGE_ID, headers={"x-image-meta-id": IMAGE_ID})
    api.add(responses.PUT, URL + "/v1/images/%s/members/t%%201" % IMAGE_ID, status=204)
    assert glance("member-create", IMAGE_ID, "t 1", "--can-share") == 0
    put = api.calls[1].request
    assert put.headers["Content-Type"] == "application/json"
    assert json.loads(put.body) == {"member": {"can_share": True}}


@pytest.mark.parametrize("body, content_type, line", [
    ('{"message": "Image is protected", "code": 403, "title": "Forbidden"}',
     "application/json", "HTTP 403 Forbidden: Image is protected"),
    ("403 Forbidden\n\nImage is protected\n", "text/plain",
     "HTTP 403 Forbidden: Image is protected"),
    ("<html><body><h1>403 Forbidden</h1>Image is protected<br /></body></html>",
     "text/html", "HTTP 403 Forbidden: Image is protected"),
    ("", "text/plain", "HTTP 403 Forbidden")])
def test_error_bodies_become_one_line(api, capsys, body, content_type, line):
    api.add(responses.HEAD, URL + "/v1/images/" + IMAGE_ID, headers={"x-image-meta-id": IMAGE_ID})
    api.add(responses.DELETE, URL + "/v1/images/" + IMAGE_ID, body=body, status=403,
            content_type=content_type)
    assert glance("image-delete", IMAGE_ID) == 1
    assert capsys.readouterr().err == "Unable to delete image '%s': %s\n" % (IMAGE_ID, line)


def test_download_without_a_checksum_header_still_writes_the_file(api, tmp_path):
    api.add(responses.HEAD, URL + "/v1/images/" + IMAGE_ID, headers={"x-image-meta-id": IMAGE_ID})
    api.add(responses.GET, URL + "/v1/images/" + IMAGE_ID, body=b"remote bytes")
    out = tmp_path / "out"
    assert glance("image-download", IMAGE_ID, "--file", str(out)) == 0
    assert out.read_bytes() == b"remote bytes"


def test_download_checks_the_md5_against_the_header(api, tmp_path, capsys):
    good = hashlib.md5(b"expected").hexdigest()
    api.add(responses.HEAD, URL + "/v1/images/" + IMAGE_ID, headers={"x-image-meta-id": IMAGE_ID})
    api.add(responses.GET, URL + "/v1/images/" + IMAGE_ID, body=b"tampered",
            headers={"x-image-meta-checksum": good})
    out = tmp_path / "out"
    assert glance("image-download", IMAGE_ID, "--file", str(out)) == 1
    assert capsys.readouterr().err.startswith("Corrupt image download: expected checksum "
                                              + good)
    assert not out.exists()


def test_list_changes_since_is_passed_through(api):
    api.add(responses.GET, URL + "/v1/images/detail", json={"images": []})
    assert glance("image-list", "--changes-since", "2026-12-01T00:00:00") == 0
    assert ("changes-since", "2026-12-01T00:00:00") in _query(api.calls[0])


def test_show_wraps_values_at_the_max_column_width(api, capsys):
    api.add(responses.HEAD, URL + "/v1/images/" + IMAGE_ID, headers={
        "x-image-meta-id": IMAGE_ID, "x-image-meta-property-note": "word " * 30})
    assert glance("image-show", IMAGE_ID) == 0
    default = capsys.readouterr().out
    assert max(len(line) for line in default.splitlines()) < 110
    assert glance("image-show", IMAGE_ID, "--max-column-width", "30") == 0
    narrow = capsys.readouterr().out
    assert max(len(line) for line in narrow.splitlines()) < 70
    assert "Property 'note'" in narrow
