"""The image rules both API versions share, called without HTTP."""

from __future__ import annotations

import pytest

from glance_api import image_rules
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Forbidden
from glance_api.exceptions import NotFound
from glance_api.exceptions import TooLarge
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc
from tests.unit.glance_api.api_support import FakeRegistry
from tests.unit.glance_api.api_support import file_stores

ALICE = RequestContext.build("alice", "tenant-a", ["member"])
BOB = RequestContext.build("bob", "tenant-b", ["member"])


def test_an_image_another_project_cannot_see_is_404():
    registry = FakeRegistry()
    image = registry.add(owner="tenant-a", visibility="private")
    assert image_rules.get_visible(registry, ALICE, image["id"])["id"] == image["id"]
    with pytest.raises(NotFound):
        image_rules.get_visible(registry, BOB, image["id"])


@pytest.mark.parametrize("fields, paired", [
    ({"disk_format": "ami"}, {"disk_format": "ami", "container_format": "ami"}),
    ({"container_format": "aki"}, {"disk_format": "aki", "container_format": "aki"}),
    ({"disk_format": "qcow2", "container_format": "bare"},
     {"disk_format": "qcow2", "container_format": "bare"}),
])
def test_formats_are_checked_and_an_amazon_format_brings_its_pair(fields, paired):
    image_rules.check_formats(fields)
    assert fields == paired


@pytest.mark.parametrize("fields, says", [
    ({"disk_format": "floppy"}, "Invalid disk format 'floppy'"),
    ({"container_format": "zip"}, "Invalid container format 'zip'"),
    ({"disk_format": "ami", "container_format": "bare"}, "must match"),
])
def test_bad_formats_are_400_saying_what_is_wrong(fields, says):
    with pytest.raises(BadRequest, match=says):
        image_rules.check_formats(fields)


def test_data_needs_both_formats():
    image_rules.require_formats({"disk_format": "raw", "container_format": "bare"})
    with pytest.raises(BadRequest, match="Container format"):
        image_rules.require_formats({"disk_format": "raw"})


def test_a_named_store_must_exist(tmp_path):
    stores = file_stores(tmp_path)
    image_rules.check_store(stores, None)
    image_rules.check_store(stores, "file")
    with pytest.raises(BadRequest, match="nowhere is invalid"):
        image_rules.check_store(stores, "nowhere")


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "swift://x/y", "ftp://a/b"])
def test_only_http_urls_may_be_given(tmp_path, url):
    with pytest.raises(BadRequest):
        image_rules.check_external_url(file_stores(tmp_path), url)


def test_a_url_to_a_forbidden_address_is_refused_before_any_packet(tmp_path):
    # The default filter refuses loopback; nothing is sent to find that out.
    with pytest.raises(store_exc.URLNotAllowed):
        image_rules.check_external_url(file_stores(tmp_path), "http://127.0.0.1/x")


def test_quotas_count_and_a_negative_limit_is_unlimited():
    image_rules.check_property_quota(2, 2)
    image_rules.check_property_quota(-1, 10 ** 6)
    with pytest.raises(TooLarge):
        image_rules.check_property_quota(2, 3)
    with pytest.raises(TooLarge, match="at most 0 members"):
        image_rules.check_member_quota(0, 1)


@pytest.mark.parametrize("status, error", [
    ("queued", NotFound), ("saving", NotFound), ("killed", NotFound),
    ("deactivated", Forbidden)])
def test_only_active_images_are_downloadable(status, error):
    image_rules.check_downloadable({"id": "i", "status": "active"})
    with pytest.raises(error):
        image_rules.check_downloadable({"id": "i", "status": status})


def test_the_first_active_location_is_read_and_data_without_one_is_404():
    image = {"id": "i", "size": 5, "locations": [
        {"url": "file:///a", "status": "pending_delete"}, {"url": "file:///b"}]}
    assert image_rules.active_location(image) == "file:///b"
    assert image_rules.active_location({"id": "i", "size": 0, "locations": []}) is None
    with pytest.raises(NotFound):
        image_rules.active_location({"id": "i", "size": 5, "locations": []})


def test_only_locations_the_service_wrote_are_its_to_delete():
    assert image_rules.owns_bytes({"url": "file:///a", "metadata": {"store": "file"}})
    assert not image_rules.owns_bytes({"url": "http://x/y", "metadata": {}})
