"""Properties of the download range (glance_api.v2.image_data._byte_range).

For any Range (or legacy Content-Range) header and any image size, the
answer is the whole image (None), one range inside the image, or a 400 or
416: never a range past the data, never a crash. (v1 has no range support:
its GET sends the whole image whatever the headers say.)
"""

from __future__ import annotations

import flask
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from glance_api.exceptions import ApiError
from glance_api.v2.image_data import _byte_range

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True)
APP = flask.Flask(__name__)
SIZES = st.integers(min_value=1, max_value=2 ** 63)
# What an HTTP server hands on as a header value (no line breaks or NULs).
FIELD_TEXT = st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n\x00"),
                     max_size=30)
NUMBERS = st.integers(min_value=0, max_value=2 ** 64).map(str) | st.just("")
RANGES = st.one_of(
    FIELD_TEXT,
    st.builds("bytes={}-{}".format, NUMBERS, NUMBERS),
    st.builds("bytes={}-{},{}-{}".format, NUMBERS, NUMBERS, NUMBERS, NUMBERS),
    st.builds(" bytes = {} - {} ".format, NUMBERS, NUMBERS),
    st.builds("items={}-{}".format, NUMBERS, NUMBERS))
CONTENT_RANGES = st.one_of(
    FIELD_TEXT,
    st.builds("bytes {}-{}/{}".format, NUMBERS, NUMBERS, NUMBERS | st.just("*")))


def _asked(size: int, headers: dict):
    with APP.test_request_context(headers=headers):
        return _byte_range(size)


def _check(size: int, headers: dict) -> None:
    try:
        wanted = _asked(size, headers)
    except ApiError as exc:
        assert exc.code in (400, 416), exc.code
        return
    if wanted is not None:
        offset, length = wanted
        assert 0 <= offset < size
        assert 1 <= length and offset + length <= size


@EXAMPLES
@given(SIZES, RANGES)
def test_any_range_header_is_inside_the_image_or_a_400_or_416(size, header):
    _check(size, {"Range": header})


@EXAMPLES
@given(SIZES, CONTENT_RANGES)
def test_any_legacy_content_range_is_inside_the_image_or_a_400_or_416(size, header):
    _check(size, {"Content-Range": header})


@EXAMPLES
@given(SIZES, st.integers(min_value=0), st.integers(min_value=0))
def test_a_well_formed_range_is_served_clamped_to_the_image(size, start, end):
    try:
        wanted = _asked(size, {"Range": "bytes=%d-%d" % (start, end)})
    except ApiError as exc:
        assert exc.code == 416 and (start >= size or end < start)
        return
    assert start < size and start <= end
    assert wanted == (start, min(end, size - 1) - start + 1)


@EXAMPLES
@given(SIZES, st.integers(min_value=1))
def test_a_suffix_range_is_the_last_bytes_of_the_image(size, suffix):
    wanted = _asked(size, {"Range": "bytes=-%d" % suffix})
    assert wanted == (max(size - suffix, 0), min(suffix, size))


def test_without_a_range_the_whole_image_is_sent():
    assert _asked(10, {}) is None
    assert _asked(10, {"Content-Range": "not a range"}) is None
