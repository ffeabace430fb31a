"""Registry records come out as the v2 documents clients read (spec 2.1, 2.2, 7)."""

from __future__ import annotations

from glance_api.v2 import views

IMAGE_ID = "0b6e7c7a-3f5e-4d2a-9a51-0a6b1f6f2c11"


def record(**overrides) -> dict:
    """A freshly created registry record (POST {} by tenant-a)."""
    base = {
        "id": IMAGE_ID, "name": None, "disk_format": None, "container_format": None,
        "size": None, "virtual_size": None, "checksum": None, "os_hash_algo": None,
        "os_hash_value": None, "status": "queued", "visibility": "shared",
        "is_public": False, "protected": False, "os_hidden": False, "min_disk": 0,
        "min_ram": 0, "owner": "tenant-a", "created_at": "2026-11-27T15:00:00.123456",
        "updated_at": "2026-11-27T15:00:01.999999", "deleted_at": None,
        "deleted": False, "properties": {}, "tags": [], "locations": [],
    }
    base.update(overrides)
    return base


def test_a_new_image_has_exactly_the_keys_glance_answers_post_with():
    assert views.image(record()) == {
        "name": None, "disk_format": None, "container_format": None,
        "visibility": "shared", "size": None, "virtual_size": None,
        "status": "queued", "checksum": None, "protected": False, "min_ram": 0,
        "min_disk": 0, "owner": "tenant-a", "os_hidden": False,
        "os_hash_algo": None, "os_hash_value": None, "id": IMAGE_ID,
        "created_at": "2026-11-27T15:00:00Z", "updated_at": "2026-11-27T15:00:01Z",
        "tags": [], "self": "/v2/images/%s" % IMAGE_ID,
        "file": "/v2/images/%s/file" % IMAGE_ID, "schema": "/v2/schemas/image",
    }


def test_core_fields_missing_from_a_record_are_present_as_null():
    document = views.image({"id": IMAGE_ID})
    for key in ("name", "size", "checksum", "owner", "created_at", "disk_format"):
        assert key in document and document[key] is None
    assert document["tags"] == []


def test_timestamps_drop_the_fraction_and_end_in_z():
    assert views.timestamp("2026-11-27T15:06:52.987654") == "2026-11-27T15:06:52Z"
    assert views.timestamp("2026-11-27T15:06:52") == "2026-11-27T15:06:52Z"
    assert views.timestamp(None) is None


def test_an_aware_timestamp_is_converted_to_utc():
    assert views.timestamp("2026-11-27T16:06:52+01:00") == "2026-11-27T15:06:52Z"


def test_extra_properties_are_top_level_keys_and_tags_a_list():
    document = views.image(record(properties={"os_distro": "ubuntu", "Upper": "x"},
                                  tags=["a", "b"]))
    assert document["os_distro"] == "ubuntu"
    assert document["Upper"] == "x"
    assert document["tags"] == ["a", "b"]
    assert "properties" not in document


def test_a_core_field_wins_over_a_property_of_the_same_name():
    document = views.image(record(properties={"status": "bogus"}))
    assert document["status"] == "queued"


def test_glance_internal_host_properties_are_never_shown():
    document = views.image(record(properties={"os_glance_stage_host": "h",
                                              "os_glance_hash_op_host": "h",
                                              "os_glance_failed_import": ""}))
    assert "os_glance_stage_host" not in document
    assert "os_glance_hash_op_host" not in document
    assert document["os_glance_failed_import"] == ""


def test_registry_only_keys_are_not_shown():
    document = views.image(record(deleted_at="2026-11-27T15:00:00", deleted=True))
    for key in ("deleted", "deleted_at", "is_public", "properties", "locations",
                "direct_url", "stores"):
        assert key not in document


LOCATIONS = [
    {"id": 1, "url": "file:///old", "metadata": {"store": "local"}, "status": "deleted"},
    {"id": 2, "url": "file:///a", "metadata": {"store": "local"}, "status": "active"},
    {"id": 3, "url": "file:///b", "metadata": {}, "status": "active"},
]


def test_locations_are_shown_only_when_asked_and_only_active_ones():
    assert "locations" not in views.image(record(locations=LOCATIONS))
    document = views.image(record(locations=LOCATIONS), show_locations=True)
    assert document["locations"] == [{"url": "file:///a", "metadata": {"store": "local"}},
                                     {"url": "file:///b", "metadata": {}}]
    assert views.image(record(), show_locations=True)["locations"] == []


def test_direct_url_is_the_first_active_location_and_only_when_there_is_one():
    assert "direct_url" not in views.image(record(locations=LOCATIONS))
    assert views.image(record(locations=LOCATIONS),
                       show_direct_url=True)["direct_url"] == "file:///a"
    assert "direct_url" not in views.image(record(), show_direct_url=True)


def test_a_list_page_has_first_and_schema_and_next_only_when_given():
    page = views.images([record()], "/v2/images", None)
    assert page == {"images": [views.image(record())], "first": "/v2/images",
                    "schema": "/v2/schemas/images"}
    page = views.images([record()], "/v2/images?limit=1",
                        "/v2/images?limit=1&marker=%s" % IMAGE_ID)
    assert page["next"] == "/v2/images?limit=1&marker=%s" % IMAGE_ID


def test_a_list_page_passes_the_location_options_to_each_image():
    page = views.images([record(locations=LOCATIONS)], "/v2/images", None,
                        show_direct_url=True)
    assert page["images"][0]["direct_url"] == "file:///a"


ROW = {"member_id": "tenant-b", "can_share": False, "status": "pending",
       "created_at": "2026-11-27T15:06:52.000123", "updated_at": "2026-11-27T15:07:00.5"}


def test_a_member_document_is_shaped_like_glances():
    assert views.member(IMAGE_ID, ROW) == {
        "member_id": "tenant-b", "image_id": IMAGE_ID, "status": "pending",
        "created_at": "2026-11-27T15:06:52Z", "updated_at": "2026-11-27T15:07:00Z",
        "schema": "/v2/schemas/member",
    }


def test_a_member_list_wraps_the_documents_with_its_schema():
    assert views.members(IMAGE_ID, [ROW]) == {
        "members": [views.member(IMAGE_ID, ROW)], "schema": "/v2/schemas/members"}
    assert views.members(IMAGE_ID, []) == {"members": [], "schema": "/v2/schemas/members"}


def test_multistore_documents_name_the_stores_of_the_active_locations():
    located = record(status="active", locations=[
        {"url": "file:///fast/i", "metadata": {"store": "fast"}, "status": "active"},
        {"url": "file:///old/i", "metadata": {"store": "old"}, "status": "deleted"},
        {"url": "swift+http://s/c/i", "metadata": {"store": "far"}, "status": "active"},
        {"url": "http://example.com/i", "metadata": {}, "status": "active"}])

    assert views.image(located, show_stores=True)["stores"] == "fast,far"
    assert "stores" not in views.image(located)  # single-store: never shown
    assert "stores" not in views.image(record(), show_stores=True)  # no data yet
