"""Properties of Glance's JSON-Patch dialect (glance_api.v2.patch).

Whatever body a client sends, PATCH answers 400, 403, 409, 413 or 415 for
what it refuses (never another exception: a 500), and what it accepts
becomes a registry change set of core columns, string properties and tags.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from glance_api.exceptions import ApiError
from glance_api.exceptions import BadRequest
from glance_api.v2 import patch
from glance_api.v2 import schemas
from glance_api.v2 import views
from tests.unit.glance_api.api_support import image_record

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True)
REFUSALS = (400, 403, 409, 413)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
NAMES = st.sampled_from(schemas.CORE_FIELDS + ("os_distro", "os_glance_x", "deleted", "~", ""))
POINTERS = st.one_of(
    NAMES.map(lambda name: "/" + name),
    st.sampled_from(["/locations/-", "/locations/0", "/locations/9", "/tags/-", "/a/b",
                     "nosl", "/a~2b", "/a~1b", "//", "/x/"]),
    st.text(max_size=12))
OPERATIONS_V21 = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "test", "move"]) | JSON,
     "path": POINTERS | JSON},
    optional={"value": JSON | st.lists(st.text(max_size=8), max_size=3) | st.text()})
OPERATIONS_V20 = st.dictionaries(st.sampled_from(["add", "remove", "replace", "value", "op"]),
                                 POINTERS | JSON, max_size=3)
BODIES = st.one_of(st.lists(OPERATIONS_V21, max_size=4), st.lists(OPERATIONS_V20, max_size=4),
                   JSON)


def _document(with_locations: bool) -> dict:
    record = image_record(status="active", properties={"os_distro": "cirros", "Upper": "x"},
                          tags=["a"], size=5, checksum="0" * 32,
                          locations=[{"url": "file:///tmp/a", "metadata": {"store": "file"}}])
    return views.image(record, show_locations=with_locations)


@EXAMPLES
@given(st.binary(max_size=200), st.sampled_from(sorted(patch.MEDIA_TYPES.values())))
def test_any_bytes_parse_or_are_a_400(raw, dialect):
    try:
        operations = patch.parse(raw, dialect)
    except BadRequest:
        return
    assert all(op.op in patch.OPERATIONS for op in operations)


@EXAMPLES
@given(BODIES, st.sampled_from(sorted(patch.MEDIA_TYPES.values())), st.booleans())
def test_any_json_document_is_applied_or_refused_with_a_4xx(body, dialect, with_locations):
    document = _document(with_locations)
    try:
        operations = patch.parse(json.dumps(body).encode(), dialect)
        changes = patch.apply(document, operations, property_quota=4, tag_quota=3)
    except ApiError as exc:
        assert exc.code in REFUSALS, (exc.code, exc.message)
        return
    assert set(changes) <= set(schemas.CORE_FIELDS) | {"properties"}
    for key, value in changes.get("properties", {}).items():
        assert key not in schemas.CORE_FIELDS
        assert value is None or isinstance(value, str)
    if "tags" in changes:
        assert all(isinstance(tag, str) for tag in changes["tags"])
        assert len(changes["tags"]) <= 3
    assert not set(changes) & set(schemas.READ_ONLY)


@EXAMPLES
@given(st.sampled_from(["[", "{", '{"a":']), st.integers(min_value=1, max_value=200_000))
def test_nesting_of_any_depth_is_a_400(opener, depth):
    for dialect in patch.MEDIA_TYPES.values():
        try:
            patch.parse((opener * depth).encode(), dialect)
        except BadRequest:
            continue
        raise AssertionError("unclosed JSON was accepted")


def test_json_nested_deeper_than_the_stack_is_a_400_not_a_crash():
    deep = b"[" * 100_000 + b"]" * 100_000
    try:
        patch.parse(deep, "v2.1")
    except BadRequest as exc:
        assert exc.message == "Malformed JSON in request body."
    else:
        raise AssertionError("a 100,000-deep array was accepted as a patch")


@EXAMPLES
@given(st.text(max_size=40) | st.none())
def test_any_content_type_is_a_dialect_or_a_415(content_type):
    try:
        dialect = patch.check_media_type(content_type)
    except ApiError as exc:
        assert exc.code == 415 and exc.headers["Accept-Patch"]
        return
    assert dialect in patch.MEDIA_TYPES.values()
