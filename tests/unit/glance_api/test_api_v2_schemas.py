"""The v2 schema documents and the create-body check (spec 2.3, 2.4, 3, 4.1)."""

from __future__ import annotations

import pytest

from glance_api.exceptions import BadRequest
from glance_api.exceptions import Forbidden
from glance_api.exceptions import TooLarge
from glance_api.v2 import schemas

IMAGE_ID = "0b6e7c7a-3f5e-4d2a-9a51-0a6b1f6f2c11"
SERVER_OWNED = {"status", "checksum", "os_hash_algo", "os_hash_value", "size",
                "virtual_size", "created_at", "updated_at", "direct_url", "self",
                "file", "schema", "stores"}


def create(body, property_quota=128, tag_quota=128):
    return schemas.check_create(body, property_quota=property_quota, tag_quota=tag_quota)


def test_exactly_the_server_owned_image_properties_are_read_only():
    properties = schemas.image_schema()["properties"]
    marked = {k for k, v in properties.items() if v.get("readOnly")}
    assert marked == SERVER_OWNED


def test_every_core_field_is_a_schema_property():
    assert set(schemas.image_schema()["properties"]) == set(schemas.CORE_FIELDS)


def test_what_glanceclient_builds_options_from_is_in_the_image_schema():
    schema = schemas.image_schema()
    assert schema["name"] == "image"
    assert schema["additionalProperties"] == {"type": "string"}
    assert schema["links"] == [{"href": "{self}", "rel": "self"},
                               {"href": "{file}", "rel": "enclosure"},
                               {"href": "{schema}", "rel": "describedby"}]
    writable = {k for k, v in schema["properties"].items() if not v.get("readOnly")}
    assert writable == {"id", "name", "visibility", "protected", "os_hidden", "owner",
                        "min_ram", "min_disk", "container_format", "disk_format",
                        "tags", "locations"}


def test_the_enums_are_glances_v2_lists():
    properties = schemas.image_schema()["properties"]
    assert properties["disk_format"]["enum"] == [
        None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
        "iso", "ploop"]
    assert properties["container_format"]["enum"] == [
        None, "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]
    assert set(properties["visibility"]["enum"]) == {"public", "private", "shared",
                                                     "community"}
    assert "deactivated" in properties["status"]["enum"]
    assert schemas.member_schema()["properties"]["status"]["enum"] == [
        "pending", "accepted", "rejected"]


def test_nullable_fields_are_typed_as_glance_types_them():
    properties = schemas.image_schema()["properties"]
    for key in ("name", "checksum", "owner", "container_format", "disk_format",
                "os_hash_algo", "os_hash_value"):
        assert properties[key]["type"] == ["null", "string"]
    assert properties["size"]["type"] == ["null", "integer"]
    assert properties["min_ram"]["type"] == "integer"
    assert properties["id"]["pattern"] == schemas.UUID_PATTERN


def test_the_list_and_member_schemas_are_shaped_like_glances():
    images = schemas.images_schema()
    assert images["name"] == "images"
    assert images["properties"]["images"]["items"] == schemas.image_schema()
    assert {link["rel"] for link in images["links"]} == {"first", "next", "describedby"}
    member = schemas.member_schema()
    assert member["properties"]["image_id"]["pattern"] == schemas.UUID_PATTERN
    assert member["properties"]["schema"]["readOnly"] is True
    members = schemas.members_schema()
    assert members["properties"]["members"]["items"] == member
    assert members["links"] == [{"href": "{schema}", "rel": "describedby"}]


def test_callers_get_copies_they_may_change():
    schemas.image_schema()["properties"]["name"]["maxLength"] = 1
    schemas.members_schema()["properties"]["members"]["items"]["name"] = "x"
    assert schemas.image_schema()["properties"]["name"]["maxLength"] == 255
    assert schemas.member_schema()["name"] == "member"


def test_an_empty_create_is_shared_with_no_properties_or_tags():
    assert create({}) == {"visibility": "shared", "tags": [], "properties": {}}


def test_create_returns_core_fields_and_splits_off_extra_properties():
    body = {"id": IMAGE_ID, "name": "cirros", "visibility": "private",
            "protected": True, "os_hidden": True, "min_ram": 512, "min_disk": 1,
            "disk_format": "qcow2", "container_format": "compressed",
            "owner": "tenant-b", "tags": ["b", "a", "b"], "os_distro": "cirros"}
    assert create(body) == {
        "id": IMAGE_ID, "name": "cirros", "visibility": "private", "protected": True,
        "os_hidden": True, "min_ram": 512, "min_disk": 1, "disk_format": "qcow2",
        "container_format": "compressed", "owner": "tenant-b", "tags": ["b", "a"],
        "properties": {"os_distro": "cirros"}}


def test_hashes_sent_on_create_are_silently_dropped():
    record = create({"os_hash_algo": "sha512", "os_hash_value": "ab"})
    assert "os_hash_algo" not in record and "os_hash_value" not in record
    assert "os_hash_algo" not in record["properties"]


@pytest.mark.parametrize("body", [[], "x", 5, None])
def test_a_create_body_that_is_not_an_object_is_400(body):
    with pytest.raises(BadRequest):
        create(body)


@pytest.mark.parametrize("body", [
    {"visibility": "everyone"}, {"min_ram": "abc"}, {"min_disk": 1.5},
    {"protected": "yes"}, {"os_hidden": 1}, {"name": "n" * 256},
    {"tags": ["t" * 256]}, {"tags": "a,b"}, {"os_distro": 7},
    {"os_distro": None}, {"os_distro": {"a": "b"}}, {"id": "not-a-uuid"},
    {"disk_format": "floppy"}, {"container_format": "zip"}, {"owner": 5},
])
def test_a_value_the_schema_refuses_is_400_with_glances_prefix(body):
    with pytest.raises(BadRequest) as caught:
        create(body)
    assert caught.value.message.startswith(
        "Provided object does not match schema 'image': ")


def test_the_schema_message_says_what_was_wrong():
    with pytest.raises(BadRequest) as caught:
        create({"min_ram": "abc"})
    assert caught.value.message == ("Provided object does not match schema 'image': "
                                    "'abc' is not of type 'integer'")


@pytest.mark.parametrize("key", ["min_ram", "min_disk"])
def test_a_negative_minimum_is_400_in_glances_words(key):
    with pytest.raises(BadRequest) as caught:
        create({key: -1})
    assert caught.value.message == ("Invalid value '-1' for parameter '%s': Cannot be "
                                    "a negative value" % key)


def test_an_extra_key_longer_than_255_is_400():
    assert create({"k" * 255: "v"})["properties"] == {"k" * 255: "v"}
    with pytest.raises(BadRequest) as caught:
        create({"k" * 256: "v"})
    assert caught.value.message == ("Custom property should not be greater than "
                                    "255 characters.")


@pytest.mark.parametrize("key", sorted(schemas.READ_ONLY))
def test_a_read_only_attribute_on_create_is_403(key):
    with pytest.raises(Forbidden) as caught:
        create({key: "x"})
    assert caught.value.message == "Attribute '%s' is read-only." % key


@pytest.mark.parametrize("key", ["locations", "location", "deleted", "deleted_at",
                                 "os_glance_foo", "os_glance_import_task"])
def test_a_reserved_attribute_on_create_is_403(key):
    with pytest.raises(Forbidden) as caught:
        create({key: "x"})
    assert caught.value.message == "Attribute '%s' is reserved." % key


def test_read_only_is_reported_before_a_schema_error():
    with pytest.raises(Forbidden):
        create({"status": "active", "min_ram": "abc"})


def test_property_quota_counts_extra_properties_only():
    body = {"p%d" % i: "v" for i in range(128)}
    body.update(name="n", tags=["a"])
    assert len(create(body)["properties"]) == 128
    body["p128"] = "v"
    with pytest.raises(TooLarge) as caught:
        create(body)
    assert caught.value.message == (
        "The limit has been exceeded on the number of allowed image properties. "
        "Attempted: 129, Maximum: 128")


def test_tag_quota_counts_distinct_tags():
    tags = ["t%d" % i for i in range(128)]
    assert len(create({"tags": tags + tags})["tags"]) == 128
    with pytest.raises(TooLarge) as caught:
        create({"tags": tags + ["one more"]})
    assert caught.value.message == (
        "The limit has been exceeded on the number of allowed image tags. "
        "Attempted: 129, Maximum: 128")


def test_a_negative_quota_means_unlimited():
    body = {"p%d" % i: "v" for i in range(300)}
    body["tags"] = ["t%d" % i for i in range(300)]
    record = create(body, property_quota=-1, tag_quota=-1)
    assert len(record["properties"]) == 300 and len(record["tags"]) == 300


def test_a_zero_quota_allows_none():
    assert create({}, property_quota=0, tag_quota=0)["tags"] == []
    with pytest.raises(TooLarge):
        create({"k": "v"}, property_quota=0)


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected"])
def test_known_member_statuses_are_returned(status):
    assert schemas.validate_member_status(status) == status


@pytest.mark.parametrize("status", ["Accepted", "", None, 1, ["pending"]])
def test_an_unknown_member_status_is_400(status):
    with pytest.raises(BadRequest) as caught:
        schemas.validate_member_status(status)
    assert caught.value.message == ('Incorrect request: Status must be "pending", '
                                    '"accepted" or "rejected".')
