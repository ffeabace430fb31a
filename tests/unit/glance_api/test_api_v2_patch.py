"""Glance's JSON-Patch dialect turns into registry changes (spec 4.4)."""

from __future__ import annotations

import json

import pytest

from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import TooLarge
from glance_api.exceptions import UnsupportedMediaType
from glance_api.v2 import patch
from glance_api.v2 import views

IMAGE_ID = "0b6e7c7a-3f5e-4d2a-9a51-0a6b1f6f2c11"
V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"


def image(**properties) -> dict:
    """The v2 document of an image with ``properties`` and tags a, b."""
    return views.image({
        "id": IMAGE_ID, "name": "cirros", "status": "active", "visibility": "shared",
        "protected": False, "os_hidden": False, "min_ram": 0, "min_disk": 0,
        "disk_format": "qcow2", "container_format": "bare", "owner": "tenant-a",
        "size": 10, "created_at": "2026-11-27T15:00:00.000001",
        "updated_at": "2026-11-27T15:00:00.000001", "properties": properties,
        "tags": ["a", "b"], "locations": []})


def changes(operations, document=None, property_quota=128, tag_quota=128):
    """The registry changes a v2.1 body (a list of dicts) makes to ``document``."""
    parsed = patch.parse(json.dumps(operations).encode(), "v2.1")
    return patch.apply(image() if document is None else document, parsed,
                       property_quota=property_quota, tag_quota=tag_quota)


def refused(error, operations, document=None, **quotas):
    """The message of the ``error`` applying ``operations`` raises."""
    with pytest.raises(error) as caught:
        changes(operations, document, **quotas)
    return caught.value.message


# Media types


def test_both_json_patch_media_types_name_their_dialect():
    assert patch.check_media_type(V21) == "v2.1"
    assert patch.check_media_type(V20) == "v2.0"
    assert patch.check_media_type(V21 + "; charset=UTF-8") == "v2.1"
    assert patch.check_media_type(V21.upper()) == "v2.1"


@pytest.mark.parametrize("content_type", [
    None, "", "application/json", "application/json-patch+json", "text/plain"])
def test_any_other_content_type_is_415_listing_the_accepted_ones(content_type):
    with pytest.raises(UnsupportedMediaType) as caught:
        patch.check_media_type(content_type)
    assert caught.value.message == ("Image PATCH expects Content-Type one of: %s, %s"
                                    % (V20, V21))
    assert caught.value.headers["Accept-Patch"] == "%s, %s" % (V20, V21)


# Parsing


def test_a_v21_body_parses_into_operations():
    raw = json.dumps([{"op": "replace", "path": "/name", "value": "x"},
                      {"op": "remove", "path": "/foo"}]).encode()
    assert patch.parse(raw, "v2.1") == [patch.Operation("replace", ("name",), "x"),
                                       patch.Operation("remove", ("foo",))]


def test_a_v20_body_names_the_operation_by_its_key():
    raw = json.dumps([{"replace": "/name", "value": "x"}, {"add": "/foo", "value": "y"},
                      {"remove": "/bar"}]).encode()
    assert patch.parse(raw, "v2.0") == [patch.Operation("replace", ("name",), "x"),
                                       patch.Operation("add", ("foo",), "y"),
                                       patch.Operation("remove", ("bar",))]


def test_an_empty_array_is_a_no_op():
    assert patch.parse(b"[]", "v2.1") == []
    assert changes([]) == {}


def parse_error(body, dialect="v2.1") -> str:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(BadRequest) as caught:
        patch.parse(raw, dialect)
    return caught.value.message


def test_malformed_json_is_400():
    assert parse_error(b"[{") == "Malformed JSON in request body."
    assert parse_error(b"") == "Malformed JSON in request body."
    assert parse_error(b"\xff\xfe\xfa") == "Malformed JSON in request body."


@pytest.mark.parametrize("body", [{"op": "add"}, "x", 1, None])
def test_a_body_that_is_not_an_array_is_400(body):
    assert parse_error(body) == "Request body must be a JSON array of operation objects."


def test_an_operation_that_is_not_an_object_is_400():
    assert parse_error(["/name"]) == "Operations must be JSON objects."


def test_an_operation_without_op_is_400():
    assert parse_error([{"path": "/name", "value": "x"}]) == (
        "Unable to find `op` in JSON Schema change. It must be one of the following: "
        "add, remove, replace.")


@pytest.mark.parametrize("op", ["test", "move", "copy", "ADD"])
def test_an_unknown_op_is_400(op):
    assert parse_error([{"op": op, "path": "/name", "from": "/x", "value": "x"}]) == (
        "Invalid operation: `%s`. It must be one of the following: add, remove, "
        "replace." % op)


def test_an_operation_without_path_is_400():
    assert "`path`" in parse_error([{"op": "add", "value": "x"}])


@pytest.mark.parametrize("op", ["add", "replace"])
def test_add_and_replace_need_a_value(op):
    assert parse_error([{"op": op, "path": "/name"}]) == (
        'Operation "%s" requires a member named "value".' % op)


def test_a_v20_operation_must_name_exactly_one_op():
    for body in ([{"path": "/name", "value": "x"}],
                 [{"add": "/a", "replace": "/b", "value": "x"}]):
        assert "exactly one member" in parse_error(body, "v2.0")


@pytest.mark.parametrize("pointer, message", [
    ("nosl", 'Pointer `nosl` does not start with "/".'),
    ("/a/b", "Invalid JSON pointer for this resource: '/a/b'"),
    ("/tags/-", "Invalid JSON pointer for this resource: '/tags/-'"),
    ("/locations/0/url", "Invalid JSON pointer for this resource: '/locations/0/url'"),
    ("/a//b", 'Pointer `/a//b` contains adjacent "/".'),
    ("/a/", 'Pointer `/a/` ends with "/".'),
    ("/", 'Pointer `/` ends with "/".'),
    ("/a~2", 'Pointer `/a~2` contains "~" not part of a recognized escape sequence.'),
    ("/a~", 'Pointer `/a~` contains "~" not part of a recognized escape sequence.'),
    (5, "Invalid JSON pointer for this resource: '5'"),
])
def test_a_bad_pointer_is_400(pointer, message):
    assert parse_error([{"op": "add", "path": pointer, "value": "x"}]) == message


def test_pointer_escapes_are_decoded_tilde_one_first():
    assert patch.decode_pointer("/a~1b") == ("a/b",)
    assert patch.decode_pointer("/a~0b") == ("a~b",)
    assert patch.decode_pointer("/~01") == ("~1",)
    assert patch.decode_pointer("/locations/-") == ("locations", "-")


def test_an_escaped_slash_makes_a_property_key():
    assert changes([{"op": "add", "path": "/a~1b", "value": "v"}]) == {
        "properties": {"a/b": "v"}}


# Core attributes


def test_add_and_replace_on_a_core_attribute_both_set_it():
    assert changes([{"op": "add", "path": "/name", "value": "new"}]) == {"name": "new"}
    assert changes([{"op": "replace", "path": "/min_ram", "value": 512}]) == {
        "min_ram": 512}


def test_replace_may_set_name_to_null():
    assert changes([{"op": "replace", "path": "/name", "value": None}]) == {"name": None}


def test_only_what_changed_is_returned():
    assert changes([{"op": "replace", "path": "/name", "value": "cirros"},
                    {"op": "replace", "path": "/visibility", "value": "shared"}]) == {}


def test_owner_and_visibility_are_returned_like_any_core_field():
    assert changes([{"op": "replace", "path": "/owner", "value": "tenant-b"},
                    {"op": "replace", "path": "/visibility", "value": "public"}]) == {
        "owner": "tenant-b", "visibility": "public"}


def test_container_format_accepts_compressed():
    assert changes([{"op": "replace", "path": "/container_format",
                     "value": "compressed"}]) == {"container_format": "compressed"}


@pytest.mark.parametrize("name", ["name", "min_ram", "disk_format", "tags", "owner",
                                  "visibility", "protected", "os_hidden"])
def test_removing_a_core_attribute_is_403(name):
    assert refused(Forbidden, [{"op": "remove", "path": "/" + name}]) == (
        "Property %s may not be removed." % name)


@pytest.mark.parametrize("name", ["status", "size", "virtual_size", "checksum",
                                  "created_at", "updated_at", "self", "file", "schema",
                                  "direct_url", "stores", "id", "os_hash_algo",
                                  "os_hash_value"])
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_a_read_only_attribute_is_403_whatever_the_op(name, op):
    operation = {"op": op, "path": "/" + name, "value": "x"}
    assert refused(Forbidden, [operation]) == "Attribute '%s' is read-only." % name


@pytest.mark.parametrize("name", ["os_glance_foo", "os_glance_import_task", "deleted",
                                  "deleted_at", "location"])
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_a_reserved_attribute_is_403(name, op):
    operation = {"op": op, "path": "/" + name, "value": "x"}
    assert refused(Forbidden, [operation]) == "Attribute '%s' is reserved." % name


@pytest.mark.parametrize("name, value", [
    ("visibility", "everyone"), ("min_ram", "abc"), ("min_disk", 1.5),
    ("protected", "yes"), ("os_hidden", None), ("name", "n" * 256),
    ("disk_format", "floppy"), ("container_format", "zip"), ("tags", "a,b"),
    ("tags", ["t" * 256]), ("owner", 5),
])
def test_a_core_value_the_schema_refuses_is_400(name, value):
    message = refused(BadRequest, [{"op": "replace", "path": "/" + name, "value": value}])
    assert message.startswith("Provided object does not match schema 'image': ")


def test_a_negative_minimum_is_400():
    assert refused(BadRequest, [{"op": "replace", "path": "/min_disk", "value": -1}]) == (
        "Invalid value '-1' for parameter 'min_disk': Cannot be a negative value")


# Extra properties


def test_add_creates_an_extra_property():
    assert changes([{"op": "add", "path": "/os_distro", "value": "ubuntu"}]) == {
        "properties": {"os_distro": "ubuntu"}}


def test_add_overwrites_an_existing_extra_property():
    assert changes([{"op": "add", "path": "/foo", "value": "new"}],
                   image(foo="old")) == {"properties": {"foo": "new"}}


def test_replace_changes_an_existing_extra_property():
    assert changes([{"op": "replace", "path": "/foo", "value": "new"}],
                   image(foo="old")) == {"properties": {"foo": "new"}}


def test_replacing_a_missing_extra_property_is_409():
    assert refused(Conflict, [{"op": "replace", "path": "/nosuch", "value": "x"}]) == (
        "Property nosuch does not exist.")


def test_remove_of_an_extra_property_returns_none_for_it():
    assert changes([{"op": "remove", "path": "/foo"}], image(foo="old", bar="b")) == {
        "properties": {"foo": None}}


def test_removing_a_missing_extra_property_is_409():
    assert refused(Conflict, [{"op": "remove", "path": "/nosuch"}]) == (
        "Property nosuch does not exist.")


def test_extra_property_keys_keep_their_case():
    assert changes([{"op": "add", "path": "/Upper", "value": "x"}],
                   image(upper="y")) == {"properties": {"Upper": "x"}}


@pytest.mark.parametrize("value", [1, None, True, {"a": "b"}, ["a"]])
def test_an_extra_property_value_must_be_a_string(value):
    message = refused(BadRequest, [{"op": "add", "path": "/foo", "value": value}])
    assert message.startswith("Provided object does not match schema 'image': ")


def test_an_extra_key_longer_than_255_is_400():
    assert refused(BadRequest, [{"op": "add", "path": "/" + "k" * 256, "value": "v"}]) == (
        "Custom property should not be greater than 255 characters.")


def test_a_long_string_value_is_accepted():
    assert changes([{"op": "add", "path": "/big", "value": "v" * 65536}]) == {
        "properties": {"big": "v" * 65536}}


# Tags


def test_tags_take_the_whole_list_deduplicated():
    assert changes([{"op": "replace", "path": "/tags", "value": ["c", "a", "c"]}]) == {
        "tags": ["c", "a"]}
    assert changes([{"op": "add", "path": "/tags", "value": []}]) == {"tags": []}


def test_the_same_tags_in_another_order_are_no_change():
    assert changes([{"op": "replace", "path": "/tags", "value": ["b", "a"]}]) == {}


def test_tags_beyond_the_quota_are_413():
    tags = ["t%d" % i for i in range(129)]
    assert refused(TooLarge, [{"op": "replace", "path": "/tags", "value": tags}]) == (
        "The limit has been exceeded on the number of allowed image tags. "
        "Attempted: 129, Maximum: 128")
    assert changes([{"op": "replace", "path": "/tags", "value": tags}],
                   tag_quota=-1) == {"tags": tags}


# Locations


@pytest.mark.parametrize("operation, message", [
    ({"op": "add", "path": "/locations/-", "value": {"url": "http://x", "metadata": {}}},
     "It's not allowed to add locations if locations are invisible."),
    ({"op": "replace", "path": "/locations", "value": []},
     "Cannot set locations to empty list."),
    ({"op": "replace", "path": "/locations", "value": [{"url": "u", "metadata": {}}]},
     "It's not allowed to update locations if locations are invisible."),
    ({"op": "remove", "path": "/locations/0"},
     "It's not allowed to remove locations if locations are invisible."),
])
def test_location_patches_are_refused(operation, message):
    assert refused(Forbidden, [operation]) == message


# Quotas on extra properties


def full_image(count: int) -> dict:
    return image(**{"p%d" % i: "v" for i in range(count)})


def test_the_property_beyond_the_quota_is_413():
    assert refused(TooLarge, [{"op": "add", "path": "/new", "value": "v"}],
                   full_image(128)) == (
        "The limit has been exceeded on the number of allowed image properties. "
        "Attempted: 129, Maximum: 128")


def test_a_full_image_may_still_change_or_swap_its_properties():
    document = full_image(128)
    assert changes([{"op": "replace", "path": "/p0", "value": "w"}], document) == {
        "properties": {"p0": "w"}}
    assert changes([{"op": "remove", "path": "/p0"},
                    {"op": "add", "path": "/new", "value": "v"}], document) == {
        "properties": {"p0": None, "new": "v"}}


def test_a_negative_property_quota_means_unlimited():
    assert changes([{"op": "add", "path": "/new", "value": "v"}], full_image(200),
                   property_quota=-1) == {"properties": {"new": "v"}}


# Ordering and atomicity


def test_a_later_operation_sees_what_an_earlier_one_did():
    assert changes([{"op": "add", "path": "/foo", "value": "x"},
                    {"op": "replace", "path": "/foo", "value": "y"}]) == {
        "properties": {"foo": "y"}}
    assert refused(Conflict, [{"op": "remove", "path": "/foo"},
                              {"op": "replace", "path": "/foo", "value": "y"}],
                   image(foo="x")) == "Property foo does not exist."


def test_a_property_added_and_removed_again_is_no_change():
    assert changes([{"op": "add", "path": "/foo", "value": "x"},
                    {"op": "remove", "path": "/foo"}]) == {}


def test_the_last_value_of_a_core_field_wins():
    assert changes([{"op": "replace", "path": "/name", "value": "a"},
                    {"op": "replace", "path": "/name", "value": "b"}]) == {"name": "b"}


def test_a_failing_operation_after_good_ones_returns_nothing_and_changes_nothing():
    document = image(foo="x")
    before = json.dumps(document, sort_keys=True)
    with pytest.raises(Conflict):
        changes([{"op": "replace", "path": "/name", "value": "new"},
                 {"op": "remove", "path": "/foo"},
                 {"op": "remove", "path": "/nosuch"}], document)
    assert json.dumps(document, sort_keys=True) == before


def test_the_v20_dialect_applies_with_the_same_rules():
    parsed = patch.parse(json.dumps([{"add": "/foo", "value": "x"},
                                     {"replace": "/name", "value": "n"}]).encode(), "v2.0")
    assert patch.apply(image(), parsed, property_quota=128, tag_quota=128) == {
        "name": "n", "properties": {"foo": "x"}}
    parsed = patch.parse(json.dumps([{"remove": "/name"}]).encode(), "v2.0")
    with pytest.raises(Forbidden):
        patch.apply(image(), parsed, property_quota=128, tag_quota=128)
