"""Properties of the v1 x-image-meta-* headers (glance_api.v1.headers).

Any header a client can send is read or refused with a 400, never a crash;
any image the registry holds (v2 lets names and keys hold anything) renders
as headers gunicorn will send; a v1 image comes back from its own headers.
"""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from glance_api.exceptions import BadRequest
from glance_api.v1 import headers

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True)
# What gunicorn lets through, in and out (RFC 9110 token; field value).
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-zA-Z]+")
FIELD_VALUE = re.compile(r"[ \t\x21-\x7e\x80-\xff]*")
LATIN1_VALUE = st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n\x00"))
NAMES = st.one_of(
    st.sampled_from([headers.META_PREFIX + f for f in headers.FIELDS + ("location", "store", "")]),
    st.builds(lambda rest: headers.META_PREFIX + rest, st.text(string.ascii_letters + "-_%")),
    st.builds(lambda rest: headers.PROPERTY_PREFIX + rest, st.text(string.printable)),
    st.sampled_from([headers.COPY_FROM_HEADER, headers.PURGE_HEADER, "Content-Type"]),
    st.text(min_size=1))


@EXAMPLES
@given(st.dictionaries(NAMES, LATIN1_VALUE, max_size=8))
def test_any_request_headers_are_read_or_refused_with_a_400(sent):
    try:
        meta = headers.parse(sent)
    except BadRequest:
        return
    assert set(meta.fields) <= set(headers.FIELDS)
    for field in headers.INT_FIELDS & set(meta.fields):
        assert meta.fields[field] is None or meta.fields[field] >= 0
    for field in headers.BOOL_FIELDS & set(meta.fields):
        assert meta.fields[field] in (True, False, None)
    assert all(key for key in meta.properties)


def _record(**fields) -> dict:
    record = {"id": "7d8b6a0e-3f0c-4c8e-9f7e-2b1a6c1d0e9f", "status": "active",
              "created_at": "2026-01-01T00:00:00.000000",
              "updated_at": "2026-01-01T00:00:00.000000", "deleted": False}
    record.update(fields)
    return record


ANY_TEXT = st.text(max_size=40)
STORED_IMAGES = st.builds(
    _record,
    name=st.none() | ANY_TEXT,
    owner=st.none() | ANY_TEXT,
    checksum=st.none() | ANY_TEXT,
    size=st.none() | st.integers(min_value=0),
    is_public=st.booleans(),
    protected=st.booleans(),
    properties=st.dictionaries(ANY_TEXT, st.none() | ANY_TEXT, max_size=6))


@EXAMPLES
@given(STORED_IMAGES)
def test_every_stored_image_renders_as_headers_a_server_can_send(image):
    rendered = headers.to_headers(image)
    for name, value in rendered.items():
        assert TOKEN.fullmatch(name), name
        assert FIELD_VALUE.fullmatch(value), (name, value)
        value.encode("latin-1")  # what the WSGI server writes
    live = {k for k, v in image["properties"].items() if v is not None}
    assert len([n for n in rendered if n.startswith(headers.PROPERTY_PREFIX)]) == len(
        {k.lower() for k in live})


# What the classic client shows and sends back: printable ASCII without
# percent signs (the client percent-encodes what it sends), keys as v1 makes
# them (lower case, "_" rather than "-"), values without outer blanks.
PLAIN = st.text(alphabet=string.ascii_letters + string.digits + " .,:/()+=@_", min_size=1,
                max_size=30).map(str.strip).filter(bool)
KEYS = st.text(alphabet=string.ascii_lowercase + string.digits + "_.: ()", min_size=1,
               max_size=20)
V1_IMAGES = st.builds(
    _record,
    name=PLAIN, owner=PLAIN,
    disk_format=st.sampled_from(["raw", "qcow2", "iso", "vmdk"]),
    container_format=st.sampled_from(["bare", "ovf"]),
    checksum=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    size=st.integers(min_value=0, max_value=2 ** 63 - 1),
    min_disk=st.integers(min_value=0, max_value=2 ** 31), min_ram=st.integers(min_value=0),
    is_public=st.booleans(), protected=st.booleans(),
    properties=st.dictionaries(KEYS, PLAIN, max_size=6))


@EXAMPLES
@given(V1_IMAGES)
def test_a_v1_image_comes_back_from_its_own_headers(image):
    meta = headers.parse(headers.to_headers(image))
    assert meta.properties == image["properties"]
    for field in ("id", "name", "owner", "disk_format", "container_format", "checksum",
                  "size", "min_disk", "min_ram", "is_public", "protected", "status"):
        assert meta.fields[field] == image[field], field


def test_a_line_break_in_a_v2_name_reaches_v1_percent_encoded():
    rendered = headers.to_headers(_record(name="two\r\nlines", properties={"a b\n": "x\ny"}))
    assert rendered["x-image-meta-name"] == "two%0D%0Alines"
    assert rendered["x-image-meta-property-a%20b%0A"] == "x%0Ay"
    assert headers.parse(rendered).properties == {"a b\n": "x\ny"}
