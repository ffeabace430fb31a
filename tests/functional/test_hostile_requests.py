"""Hostile requests against the real daemons on each database (noauth: admin).

Ids that look like registry routes or paths reach every image endpoint of
v1 and v2 and get a clean 4xx that changes nothing; refused uploads far
larger than what the api drains before answering still deliver their status
to a client that sends its whole body before it reads.

Requests go through ``http.client``: ``requests`` (urllib3) removes dot
segments from a URL and reads an early answer after a broken pipe, which
would hide both holes.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid

import pytest

from tests.pairs import SIZE_CAP

MiB = 1024 * 1024
# More than glance_api.data.body.DRAIN_LIMIT (64 MiB) past the 8 MiB size cap.
OVERSIZE = 96 * MiB
REPEATS = 3

# Path segments as sent (already percent-encoded where they need it).
HOSTILE_IDS = [
    "detail", "members", "stale-fetches", "reservation", "..", "%2e%2e", ".",
    "%2F", "a%2Fb", "..%2F..%2Fimages", "%00", "x" * 3000, "%C3%A9t%C3%A9",
    "%E2%80%AE", "%F0%9F%92%A9", str(uuid.uuid4()) + "%0A", "%20" + str(uuid.uuid4()),
    str(uuid.uuid4()) + "%2Fmembers",
]
# ("detail" or "é" are project ids like any other: a member may be named so.)
HOSTILE_MEMBERS = ["..", ".", "%2e%2e", "%2F", "a%2Fstatus", "%00", "x" * 300]


def _exchange(glance, method: str, path: str, body=None,
              headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One request with ``path`` sent exactly as given, its whole body before
    the answer is read: (status, lower-cased headers, body)."""
    url = urllib.parse.urlsplit(glance.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return (answer.status, {k.lower(): v for k, v in answer.getheaders()},
                answer.read())
    finally:
        conn.close()


def _send(glance, method: str, path: str, body=None,
          headers: dict | None = None) -> tuple[int, bytes]:
    status, _, text = _exchange(glance, method, path, body, headers)
    return status, text


def _json(glance, method: str, path: str, document) -> tuple[int, bytes]:
    return _send(glance, method, path, json.dumps(document).encode(),
                 {"Content-Type": "application/json"})


def _state(glance) -> str:
    """Everything an api caller can see, to compare before and after."""
    seen = []
    for path in ("/v1/images/detail?is_public=None", "/v2/images?member_status=all"):
        status, body = _send(glance, "GET", path)
        assert status == 200, body
        seen.append(json.loads(body))
    for image in seen[1]["images"]:
        for suffix in ("", "/members"):
            status, body = _send(glance, "GET", "/v2/images/%s%s" % (image["id"], suffix))
            seen.append((status, json.loads(body) if status == 200 else None))
    return json.dumps(seen, sort_keys=True)


@pytest.fixture
def shared_image(glance):
    """A shared v2 image with a member and a tag: what a hostile call must not touch."""
    status, body = _json(glance, "POST", "/v2/images", {
        "name": "bystander", "disk_format": "raw", "container_format": "bare",
        "visibility": "shared", "tags": ["keep"]})
    assert status == 201, body
    image = json.loads(body)
    status, body = _json(glance, "POST", "/v2/images/%s/members" % image["id"],
                         {"member": "project-b"})
    assert status == 200, body
    return image


def _image_calls(image_id: str) -> list[tuple[str, str, object]]:
    """(method, path, JSON body or None) of every endpoint that takes an image id."""
    return [
        ("GET", "/v1/images/%s" % image_id, None),
        ("HEAD", "/v1/images/%s" % image_id, None),
        ("PUT", "/v1/images/%s" % image_id, None),
        ("DELETE", "/v1/images/%s" % image_id, None),
        ("GET", "/v1/images/%s/members" % image_id, None),
        ("PUT", "/v1/images/%s/members" % image_id, {"memberships": []}),
        ("PUT", "/v1/images/%s/members/project-c" % image_id, None),
        ("DELETE", "/v1/images/%s/members/project-b" % image_id, None),
        ("GET", "/v2/images/%s" % image_id, None),
        ("PATCH", "/v2/images/%s" % image_id, []),
        ("DELETE", "/v2/images/%s" % image_id, None),
        ("GET", "/v2/images/%s/file" % image_id, None),
        ("PUT", "/v2/images/%s/file" % image_id, b"data"),
        ("GET", "/v2/images/%s/members" % image_id, None),
        ("POST", "/v2/images/%s/members" % image_id, {"member": "project-c"}),
        ("GET", "/v2/images/%s/members/project-b" % image_id, None),
        ("PUT", "/v2/images/%s/members/project-b" % image_id, {"status": "accepted"}),
        ("DELETE", "/v2/images/%s/members/project-b" % image_id, None),
        ("PUT", "/v2/images/%s/tags/new" % image_id, None),
        ("DELETE", "/v2/images/%s/tags/keep" % image_id, None),
        ("POST", "/v2/images/%s/actions/deactivate" % image_id, None),
        ("POST", "/v2/images/%s/actions/reactivate" % image_id, None),
    ]


def _call(glance, method: str, path: str, body) -> tuple[int, bytes]:
    if isinstance(body, bytes):
        return _send(glance, method, path, body, {"Content-Type": "application/octet-stream"})
    if path.startswith("/v2/") and method == "PATCH":
        return _send(glance, method, path, json.dumps(body).encode(), {
            "Content-Type": "application/openstack-images-v2.1-json-patch"})
    if body is not None:
        return _json(glance, method, path, body)
    return _send(glance, method, path)


def _refused(status: int, path: str) -> bool:
    """A clean 4xx (a path with an empty segment included: no redirect)."""
    return 400 <= status < 500


def _check_refused(glance, method: str, path: str, body) -> None:
    status, text = _call(glance, method, path, body)
    assert _refused(status, path), (method, path[:80], status, text[:200])
    if method in ("GET", "HEAD"):
        # A lookup of something that cannot exist: not found (405 when a
        # decoded "/" made the path another route's).
        assert status in (404, 405), (method, path[:80], status, text[:200])


@pytest.mark.parametrize("image_id", HOSTILE_IDS, ids=lambda i: i[:24])
def test_ids_that_look_like_routes_are_refused_and_change_nothing(glance, shared_image,
                                                                   image_id):
    before = _state(glance)
    for method, path, body in _image_calls(image_id):
        if method in ("GET", "HEAD") and path == "/v1/images/detail":
            continue  # v1's detailed list itself
        _check_refused(glance, method, path, body)
    assert _state(glance) == before


def test_an_empty_id_is_refused(glance, shared_image):
    before = _state(glance)
    for method, path, body in _image_calls(""):
        if method in ("GET", "HEAD") and path in ("/v1/images/", "/v2/images/"):
            continue  # the lists themselves
        status, text = _call(glance, method, path, body)
        assert _refused(status, path), (method, path, status, text[:200])
    assert _state(glance) == before


@pytest.mark.parametrize("member", HOSTILE_MEMBERS, ids=lambda m: m[:24])
def test_member_ids_that_look_like_paths_are_refused_and_change_nothing(
        glance, shared_image, member):
    image_id = shared_image["id"]
    before = _state(glance)
    for method, path, body in [
            ("PUT", "/v1/images/%s/members/%s" % (image_id, member), None),
            ("DELETE", "/v1/images/%s/members/%s" % (image_id, member), None),
            ("GET", "/v1/shared-images/%s" % member, None),
            ("GET", "/v2/images/%s/members/%s" % (image_id, member), None),
            ("PUT", "/v2/images/%s/members/%s" % (image_id, member), {"status": "accepted"}),
            ("DELETE", "/v2/images/%s/members/%s" % (image_id, member), None)]:
        status, text = _call(glance, method, path, body)
        if method == "GET" and path.startswith("/v1/shared-images/") and status == 200:
            assert json.loads(text) == {"shared_images": []}
            continue
        assert _refused(status, path), (method, path[:80], status, text[:200])
    assert _state(glance) == before


def test_an_id_the_registry_cannot_parse_is_refused_on_create(glance):
    status, text = _json(glance, "POST", "/v2/images", {
        "id": str(uuid.uuid4()) + "\n", "disk_format": "raw", "container_format": "bare"})
    assert status == 400, text


# Refused uploads far past what is drained before the answer


def _chunks(total: int):
    block = b"x" * MiB
    for _ in range(total // MiB):
        yield block


V1_HEADERS = {"x-image-meta-name": "too big", "x-image-meta-disk_format": "raw",
              "x-image-meta-container_format": "bare",
              "Content-Type": "application/octet-stream"}


def _refused_uploads(glance):
    """(what, status expected, send) for each way an oversize upload is refused."""
    def v1_chunked_past_cap():
        return _exchange(glance, "POST", "/v1/images", _chunks(OVERSIZE), V1_HEADERS)

    def v1_declared_small():
        headers = dict(V1_HEADERS, **{"x-image-meta-size": "10"})
        return _exchange(glance, "POST", "/v1/images", b"x" * OVERSIZE, headers)

    def v1_declared_over_cap():
        return _exchange(glance, "POST", "/v1/images", b"x" * OVERSIZE, V1_HEADERS)

    def v2_file_over_cap():
        status, body = _json(glance, "POST", "/v2/images",
                             {"disk_format": "raw", "container_format": "bare"})
        assert status == 201, body
        path = "/v2/images/%s/file" % json.loads(body)["id"]
        return _exchange(glance, "PUT", path, b"x" * OVERSIZE,
                         {"Content-Type": "application/octet-stream"})

    return [("v1 chunked past the size cap", 413, v1_chunked_past_cap),
            ("v1 declared 10 bytes", 400, v1_declared_small),
            ("v1 declared over the size cap", 400, v1_declared_over_cap),
            ("v2 PUT /file over the size cap", 413, v2_file_over_cap)]


def test_a_refused_upload_far_past_the_drain_limit_reads_its_status(glance):
    assert OVERSIZE > 64 * MiB + SIZE_CAP
    for what, expected, send in _refused_uploads(glance):
        for attempt in range(REPEATS):
            try:
                status, headers, body = send()
            except OSError as exc:
                pytest.fail("%s, attempt %d: the client lost the answer: %r"
                            % (what, attempt + 1, exc))
            assert status == expected, (what, attempt + 1, status, body[:200])
            assert headers.get("connection") == "close", (what, headers)
