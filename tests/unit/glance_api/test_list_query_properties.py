"""Properties of list queries: v2 filters and sort expressions
(glance_api.v2.filters) and the v1 list parameters, which the api hands to
the registry's parser unchanged (glance_registry.listing.parse_list_query).

Any query is read or refused with a 400, never a crash; a v2 query the api
accepts is one the registry accepts too (a refusal there would come back as
a registry failure, not as the caller's 400); sorting and paging links say
what was asked.
"""

from __future__ import annotations

import urllib.parse

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from glance_api.exceptions import BadRequest
from glance_api.v2 import filters
from glance_common.context import RequestContext
from glance_registry import errors as registry_errors
from glance_registry.listing import parse_list_query

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True)
ADMIN = RequestContext.build("u", "p", ["admin"])
MEMBER = RequestContext.build("u", "p", ["member"])
TIMES = st.datetimes().map(lambda moment: moment.isoformat()) | st.sampled_from(
    ["2026-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
     "2026-13-01", "yesterday", "2026-01-01"])
VALUES = st.one_of(
    st.text(max_size=20),
    st.integers().map(str),
    TIMES,
    st.builds("{}:{}".format, st.sampled_from(filters.TIME_OPS + ("in", "eq", "zz")), TIMES),
    st.builds("in:{}".format, st.lists(st.text(max_size=5), max_size=3).map(",".join)),
    st.sampled_from(filters.SORT_KEYS + filters.SORT_DIRS + filters.VISIBILITIES
                    + filters.MEMBER_STATUSES + ("true", "False", "name:asc,size", "-1")))
V2_KEYS = st.sampled_from(
    filters.PAGING + filters.IN_FILTERS + filters.EXACT_FILTERS + filters.TIME_FILTERS
    + filters.BOOLEAN_FILTERS + ("visibility", "member_status", "tag", "size_min",
                                 "size_max", "changes-since", "os_distro")) | st.text(max_size=8)
V1_KEYS = st.sampled_from(
    ["name", "status", "container_format", "disk_format", "min_ram", "min_disk",
     "size_min", "size_max", "changes-since", "protected", "is_public", "deleted", "limit",
     "marker", "sort_key", "sort_dir", "property-os_distro", "property-"])
SORTS = st.lists(st.tuples(st.sampled_from(filters.SORT_KEYS),
                           st.sampled_from(filters.SORT_DIRS)), min_size=1, max_size=4)


def _as_registry_args(params: dict) -> MultiDict:
    """The registry's view of the api's params (requests repeats list values)."""
    pairs = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return MultiDict(pairs)


@EXAMPLES
@given(st.lists(st.tuples(V2_KEYS, VALUES), max_size=6), st.sampled_from([ADMIN, MEMBER]))
def test_any_v2_query_is_read_or_refused_with_a_400_by_api_and_registry_alike(query, ctx):
    try:
        params = filters.registry_params(query, limit_default=25, limit_max=1000)
    except BadRequest:
        return
    assert 0 <= params["limit"] <= 1000
    assert all(item.split(":")[0] in filters.SORT_KEYS for item in params["sort"])
    try:
        parse_list_query(ctx, _as_registry_args(params), 25, 1000)
    except registry_errors.BadRequest as exc:
        # The registry may still refuse what the api cannot know (a marker's
        # shape, a negative size); never what the api itself has checked.
        assert not str(exc).startswith(("Old and new", "Unsupported sort")), str(exc)


@EXAMPLES
@given(st.lists(st.tuples(V1_KEYS | st.text(max_size=8), VALUES), max_size=6),
       st.sampled_from([ADMIN, MEMBER]))
def test_any_v1_list_query_is_read_or_refused_with_a_400(query, ctx):
    try:
        parsed = parse_list_query(ctx, MultiDict(query), 25, 1000)
    except registry_errors.BadRequest:
        return
    assert 0 <= parsed.limit <= 1000
    assert parsed.member_status is None  # a v1 query never turns into a v2 one


@EXAMPLES
@given(SORTS, st.booleans())
def test_the_new_sort_syntax_sorts_by_what_was_asked(sorts, leave_out_desc):
    spelled = ",".join(key if leave_out_desc and direction == "desc" else "%s:%s" % (
        key, direction) for key, direction in sorts)
    params = filters.registry_params([("sort", spelled)], limit_default=25, limit_max=1000)
    assert params["sort"] == ["%s:%s" % pair for pair in sorts]


@EXAMPLES
@given(SORTS, st.booleans())
def test_the_old_sort_syntax_gives_each_key_its_direction(sorts, one_direction):
    query = [("sort_key", key) for key, _ in sorts]
    if one_direction:
        query.append(("sort_dir", sorts[0][1]))
        expected = ["%s:%s" % (key, sorts[0][1]) for key, _ in sorts]
    else:
        query += [("sort_dir", direction) for _, direction in sorts]
        expected = ["%s:%s" % pair for pair in sorts]
    params = filters.registry_params(query, limit_default=25, limit_max=1000)
    assert params["sort"] == expected


@EXAMPLES
@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=5),
       st.integers(min_value=1, max_value=5), st.integers(min_value=0, max_value=6))
def test_paging_links_repeat_the_query_without_its_marker(query, limit, found):
    page = [{"id": "id-%d" % i} for i in range(min(found, limit))]
    first, next_ = filters.links(query + [("marker", "old")], page, limit)
    kept = [(k, v) for k, v in query if k != "marker"]
    assert urllib.parse.parse_qsl(urllib.parse.urlsplit(first).query,
                                  keep_blank_values=True) == kept
    if len(page) < limit:
        assert next_ is None
    else:
        assert urllib.parse.parse_qsl(urllib.parse.urlsplit(next_).query,
                                      keep_blank_values=True) == kept + [("marker", page[-1]["id"])]


def test_a_time_out_of_range_in_utc_is_a_400_not_a_registry_failure():
    for value in ("0001-01-01T00:00:00+05:00", "gt:0001-01-01T00:00:00+05:00",
                  "9999-12-31T23:59:59-05:00"):
        try:
            filters.registry_params([("created_at", value)], limit_default=25, limit_max=1000)
        except BadRequest as exc:
            assert "ISO 8601" in exc.message or "operator" in exc.message
        else:
            raise AssertionError("%s was accepted" % value)
    try:
        parse_list_query(ADMIN, MultiDict([("changes-since", "0001-01-01T00:00:00+05:00")]),
                         25, 1000)
    except registry_errors.BadRequest:
        pass
    else:
        raise AssertionError("the registry accepted a time before year 1 in UTC")
