"""Image lists: query parameters, filters, ordering and keyset pagination.

One parser and one query builder serve both APIs. A v1 list is what the
Images API v1 shows; passing ``member_status`` asks for a v2 list instead
(spec v2 4.3: member status, visibility filter, hidden images, no deleted
or killed images). The other filters mean the same in both.
"""

from __future__ import annotations

import dataclasses
import datetime
import operator
from typing import Any
from typing import Callable
from typing import Hashable
from typing import Mapping

import peewee

from glance_common.context import RequestContext
from glance_common.timestamps import parse_iso
from glance_registry import templates
from glance_registry import visibility
from glance_registry.db import database
from glance_registry.errors import BadRequest
from glance_registry.models import Image
from glance_registry.models import ImageProperty
from glance_registry.models import ImageTag
from glance_registry.rows import ImageRow
from glance_registry.rows import select_images
from glance_registry.validation import is_uuid_like
from glance_registry.validation import normalize_id
from glance_registry.visibility import Viewer

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at")
SORT_DIRS = ("asc", "desc")
TIE_BREAKERS = ("created_at", "id")
# Exact filters, each repeatable (several values: any of them).
_EXACT = ("id", "name", "status", "container_format", "disk_format", "owner",
          "checksum", "os_hash_value")
_INTS = ("min_ram", "min_disk")
_TIME_COLUMNS = ("created_at", "updated_at")
_TIME_OPS: dict[str, Callable] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
    "eq": operator.eq, "neq": operator.ne}
_TRUE = ("true", "1")
_FALSE = ("false", "0")
_IS_PUBLIC_SCOPES = {"true": visibility.AS_USER, "1": visibility.AS_USER,
                     "false": visibility.NON_PUBLIC, "0": visibility.NON_PUBLIC,
                     "none": visibility.ALL}
_V1_ONLY = ("is_public", "deleted", "changes-since")
PROPERTY_PREFIX = "property-"  # v1: key compared case-insensitively
EXTRA_PROPERTY_PREFIX = "prop-"  # v2: key compared exactly
PROPERTY_PREFIX_INDEXED = 200  # characters of a value the lookup index holds


# How each ListQuery field shapes the SQL text: a function of the field's
# value whose result goes into the template key, or PER_CALL for a field
# that only fills slots. Every field must say which (see _shape).
PER_CALL = None


def _itself(value: Hashable) -> Hashable:
    return value


def _given(value: Any) -> bool:
    return value is not None


def _long_values(pairs: tuple[tuple[str, str], ...]) -> tuple[bool, ...]:
    """One entry per property filter: whether its value is compared in full."""
    return tuple(len(value) >= PROPERTY_PREFIX_INDEXED for _, value in pairs)


def _columns_and_counts(exact: tuple[tuple[str, tuple], ...]) -> tuple:
    return tuple((column, len(values)) for column, values in exact)


def _time_operators(times: tuple[tuple[str, str, datetime.datetime], ...]) -> tuple:
    return tuple((column, op) for column, op, _ in times)


def _member_status_shape(value: str | None) -> bool | None:
    """v1 (None), a v2 list for one member status (False), or for any (True)."""
    return None if value is None else value == "all"


def _field(default: Any, shape: Callable | None) -> Any:
    return dataclasses.field(default=default, metadata={"shape": shape})


@dataclasses.dataclass(frozen=True)
class ListQuery:
    """A parsed, validated list request."""

    limit: int = dataclasses.field(metadata={"shape": PER_CALL})
    marker: str | None = _field(None, _given)
    # (key, direction) pairs in order; tie-breakers are added when building.
    sort: tuple[tuple[str, str], ...] = _field((("created_at", "desc"),), _itself)
    # (column, (value, ...)): the column equals one of the values.
    exact: tuple[tuple[str, tuple[Any, ...]], ...] = _field((), _columns_and_counts)
    size_min: int | None = _field(None, _given)
    size_max: int | None = _field(None, _given)
    protected: bool | None = _field(None, _given)
    os_hidden: bool | None = _field(None, _given)
    changes_since: datetime.datetime | None = _field(None, _given)
    updated_before: datetime.datetime | None = _field(None, _given)
    # (column, operator name, time): created_at/updated_at comparisons.
    times: tuple[tuple[str, str, datetime.datetime], ...] = _field((), _time_operators)
    properties: tuple[tuple[str, str], ...] = _field((), _long_values)  # v1
    extra_properties: tuple[tuple[str, str], ...] = _field((), _long_values)  # v2
    tags: tuple[str, ...] = _field((), len)
    admin_scope: str = _field(visibility.AS_USER, _itself)  # v1
    deleted: bool = _field(False, _itself)  # v1
    visibility: str | None = _field(None, _itself)  # v2
    member_status: str | None = _field(None, _member_status_shape)  # None: v1

    @property
    def v2(self) -> bool:
        """Whether this is a v2 list (the caller passed member_status)."""
        return self.member_status is not None


def parse_list_query(ctx: RequestContext, args: Mapping[str, str],
                     limit_default: int, limit_max: int) -> ListQuery:
    """Validate list query parameters; unknown ones are ignored.

    ``args`` may be a werkzeug MultiDict, whose repeated keys are read whole.
    """
    member_status = _optional(args, "member_status", _member_status)
    v2 = member_status is not None
    if v2:
        for key in _V1_ONLY:
            if key in args:
                raise BadRequest("Filter %s is not available in a v2 list "
                                 "(with member_status)." % key)
    elif "visibility" in args:
        raise BadRequest("Filter visibility needs member_status (v2 lists).")
    os_hidden = _optional(args, "os_hidden", _boolean)
    return ListQuery(
        limit=_limit(args.get("limit"), limit_default, limit_max),
        marker=_marker(args.get("marker")),
        sort=_sort(args),
        exact=_exact(args),
        size_min=_optional(args, "size_min", _non_negative),
        size_max=_optional(args, "size_max", _non_negative),
        protected=_optional(args, "protected", _boolean),
        os_hidden=False if v2 and os_hidden is None else os_hidden,
        changes_since=_optional(args, "changes-since", _time),
        updated_before=_optional(args, "updated_before", _time),
        times=_times(args),
        properties=_properties(args, PROPERTY_PREFIX),
        extra_properties=_properties(args, EXTRA_PROPERTY_PREFIX),
        tags=tuple(_values_of(args, "tag")),
        admin_scope=_admin_scope(ctx, args.get("is_public")),
        deleted=ctx.is_admin and args.get("deleted", "").lower() in _TRUE,
        visibility=_optional(args, "visibility", _visibility),
        member_status=member_status,
    )


def list_images(ctx: RequestContext, query: ListQuery) -> list[ImageRow]:
    """One page of the images ``ctx`` may list, in a total order.

    The SQL depends only on the query's shape (see ``shape``), so it is
    built once per shape and only the values change per call (templates).
    """
    viewer = Viewer.of(ctx)
    values = _values(ctx, query)
    if query.marker is not None:
        values.update(_marker_keys(ctx, viewer, query))
    sql, params = templates.bind(shape(viewer, query),
                                 lambda: build(viewer, query), values)
    return select_images(sql, params)


def shape(viewer: Viewer, query: ListQuery) -> tuple:
    """Everything the text of the list query depends on, from every ListQuery field.

    Each field's metadata names how it shapes the text (or PER_CALL when it
    only fills slots); a field without that metadata is a KeyError here, so
    a new field cannot be forgotten.
    """
    key: list[Hashable] = ["list", viewer.shape]
    for field in dataclasses.fields(ListQuery):
        to_shape = field.metadata["shape"]
        if to_shape is not PER_CALL:
            key.append((field.name, to_shape(getattr(query, field.name))))
    return tuple(key)


def build(viewer: Viewer, query: ListQuery) -> peewee.ModelSelect:
    """The list query with a slot wherever a per-call value goes."""
    select = Image.select().where(_who(viewer, query))
    select = _filter(select, query)
    keys, directions = _sort_expressions(query.sort)
    if query.marker is not None:
        marks = [_param("marker%d" % i) for i in range(len(keys))]
        select = select.where(_after(keys, directions, marks))
    ordering = [key.asc() if direction == "asc" else key.desc()
                for key, direction in zip(keys, directions, strict=True)]
    return select.order_by(*ordering).limit(_param("limit"))


def _param(name: str) -> peewee.Value:
    """A per-call value: a slot, passed through without conversion
    (``_values`` converts the real value as the column would)."""
    return peewee.Value(templates.Slot(name), converter=False)


def _who(viewer: Viewer, query: ListQuery) -> peewee.Expression:
    if not query.v2:
        return visibility.visible(viewer, listing=True, admin_scope=query.admin_scope)
    status = None if query.member_status == "all" else _param("member_status")
    return visibility.listed_v2(viewer, query.visibility, status)


def _filter(select: peewee.ModelSelect, query: ListQuery) -> peewee.ModelSelect:
    for i, (column, values) in enumerate(query.exact):
        field = getattr(Image, column)
        slots = [_param("exact%d_%d" % (i, j)) for j in range(len(values))]
        select = select.where(field == slots[0] if len(slots) == 1
                              else field.in_(slots))
    if query.size_min is not None:
        select = select.where(Image.size >= _param("size_min"))
    if query.size_max is not None:
        select = select.where(Image.size <= _param("size_max"))
    if query.protected is not None:
        select = select.where(Image.protected == _param("protected"))
    if query.os_hidden is not None:
        select = select.where(Image.os_hidden == _param("os_hidden"))
    for i, (column, op, _) in enumerate(query.times):
        select = select.where(_TIME_OPS[op](getattr(Image, column),
                                            _param("time%d" % i)))
    if query.updated_before is not None:
        select = select.where(Image.updated_at < _param("updated_before"))
    if query.changes_since is not None:
        select = select.where(Image.updated_at > _param("changes_since"))
    if query.v2 or (query.changes_since is None and not query.deleted):
        select = select.where(Image.deleted == False,  # noqa: E712
                              Image.status != "killed")
    elif query.changes_since is None:
        select = select.where(Image.deleted == True)  # noqa: E712
    for i, (_, value) in enumerate(query.properties):
        select = select.where(Image.id.in_(_property_match("p", i, value, False)))
    for i, (_, value) in enumerate(query.extra_properties):
        select = select.where(Image.id.in_(_property_match("x", i, value, True)))
    for i in range(len(query.tags)):
        select = select.where(Image.id.in_(
            ImageTag.select(ImageTag.image).where(
                ImageTag.value == _param("tag%d" % i),
                ImageTag.deleted == False)))  # noqa: E712
    return select


def _property_match(prefix: str, i: int, value: str,
                    exact_name: bool) -> peewee.ModelSelect:
    """The ids of images with the ``i``-th property filter's name and value.

    Uncorrelated, so the database finds the few matching rows through the
    lookup index (migration 0003) instead of probing every image; literals,
    because the index is only used for the same expression. The index holds
    lower(name): a case-sensitive (v2) filter also compares the name exactly.
    """
    slot = "%s%%s%d" % (prefix, i)
    head = peewee.fn.SUBSTR(ImageProperty.value, peewee.SQL("1"),
                            peewee.SQL(str(PROPERTY_PREFIX_INDEXED)))
    condition = ((peewee.fn.LOWER(ImageProperty.name) == _param(slot % "name"))
                 & (head == _param(slot % "prefix"))
                 & (ImageProperty.deleted == False))  # noqa: E712
    if exact_name:
        # Spelt so that no index serves it: "name = ?" made SQLite pick the
        # plain name index (every image's row of that name) over the lookup
        # index on name and value.
        exact = ImageProperty.name.concat(peewee.SQL("''"))
        condition &= exact == _param(slot % "exactname")
    if len(value) >= PROPERTY_PREFIX_INDEXED:
        # A shorter value matching the prefix is the whole value; only a
        # long one needs comparing in full. (Saying "value = ?" always
        # let SQLite substitute it into the prefix expression, which
        # then no longer matched the index.)
        condition &= ImageProperty.value == _param(slot % "value")
    return ImageProperty.select(ImageProperty.image).where(condition)


def _values(ctx: RequestContext, query: ListQuery) -> dict[str, Any]:
    """The slots' values, converted as each column converts its values."""
    values: dict[str, Any] = {"project": ctx.project_id, "limit": query.limit,
                              "member_status": query.member_status}
    for i, (column, column_values) in enumerate(query.exact):
        field = getattr(Image, column)
        for j, value in enumerate(column_values):
            values["exact%d_%d" % (i, j)] = field.db_value(value)
    for name, field in (("size_min", Image.size), ("size_max", Image.size),
                        ("protected", Image.protected),
                        ("os_hidden", Image.os_hidden),
                        ("updated_before", Image.updated_at),
                        ("changes_since", Image.updated_at)):
        value = getattr(query, name)
        if value is not None:
            values[name] = field.db_value(value)
    for i, (column, _, value) in enumerate(query.times):
        values["time%d" % i] = getattr(Image, column).db_value(value)
    for prefix, pairs in (("p", query.properties), ("x", query.extra_properties)):
        for i, (name, value) in enumerate(pairs):
            values["%sname%d" % (prefix, i)] = name.lower()
            values["%sexactname%d" % (prefix, i)] = name
            values["%sprefix%d" % (prefix, i)] = value[:PROPERTY_PREFIX_INDEXED]
            values["%svalue%d" % (prefix, i)] = value
    for i, tag in enumerate(query.tags):
        values["tag%d" % i] = tag
    return values


def _sort_expressions(sort: tuple[tuple[str, str], ...]
                      ) -> tuple[list[peewee.Node], list[str]]:
    """The sort keys, then created_at and id (those not given) in the first
    key's direction; nullable keys coalesced so every database agrees."""
    names = [key for key, _ in sort]
    directions = [direction for _, direction in sort]
    for tie_breaker in TIE_BREAKERS:
        if tie_breaker not in names:
            names.append(tie_breaker)
            directions.append(directions[0])
    return [_sort_expression(name) for name in names], directions


def _sort_expression(name: str) -> peewee.Node:
    column = getattr(Image, name)
    # Literals, not bound values: an index on the same expression (migration
    # 0003) is only used when the query spells it identically.
    if name in ("name", "container_format", "disk_format"):
        return peewee.fn.COALESCE(column, peewee.SQL("''"))
    if name == "size":
        return peewee.fn.COALESCE(column, peewee.SQL("-1"))
    return column


def _after(keys: list[peewee.Node], directions: list[str],
           marks: list[peewee.Node]) -> peewee.Expression:
    """Rows after the marker's keys in the sort order.

    Keys sorted the same way compare as one row value (which an index on
    them serves); where the direction changes, the later keys only decide
    between rows equal on the earlier ones.
    """
    runs: list[tuple[list, list, str]] = []
    for key, direction, mark in zip(keys, directions, marks, strict=True):
        if runs and runs[-1][2] == direction:
            runs[-1][0].append(key)
            runs[-1][1].append(mark)
        else:
            runs.append(([key], [mark], direction))
    condition = None
    for run_keys, run_marks, direction in reversed(runs):
        mine, theirs = peewee.Tuple(*run_keys), peewee.Tuple(*run_marks)
        beyond = mine > theirs if direction == "asc" else mine < theirs
        condition = beyond if condition is None else (
            beyond | ((mine == theirs) & condition))
    return condition


def _marker_keys(ctx: RequestContext, viewer: Viewer,
                 query: ListQuery) -> dict[str, Any]:
    """The marker image's sort keys, as stored: the page starts after them.

    v1: the marker must be listable; v2: any live image the caller sees.
    """
    def build_marker() -> peewee.ModelSelect:
        keys, _ = _sort_expressions(query.sort)
        select = Image.select(*keys).where(Image.id == templates.Slot("id"))
        if query.v2:
            return select.where(visibility.visible(viewer),
                                Image.deleted == False)  # noqa: E712
        return select.where(visibility.visible(viewer, listing=True,
                                               admin_scope=query.admin_scope))

    sql, params = templates.bind(("list-marker",) + shape(viewer, query), build_marker,
                                 {"id": query.marker, "project": ctx.project_id})
    row = database.execute_sql(sql, params).fetchone()
    if row is None:
        raise BadRequest("Invalid marker. Image could not be found.")
    return {"marker%d" % i: value for i, value in enumerate(row)}


def _values_of(args: Mapping[str, str], key: str) -> list[str]:
    """Every value of ``key`` (a MultiDict keeps repeated keys)."""
    if hasattr(args, "getlist"):
        return args.getlist(key)
    return [args[key]] if key in args else []


def _items(args: Mapping[str, str]) -> list[tuple[str, str]]:
    if hasattr(args, "items") and hasattr(args, "getlist"):
        return list(args.items(multi=True))
    return list(args.items())


def _exact(args: Mapping[str, str]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    exact = []
    for key in _EXACT + _INTS:
        values = _values_of(args, key)
        if not values:
            continue
        if key in _INTS:
            values = [_non_negative(key, value) for value in values]
        elif key == "id":
            values = [normalize_id(v) if is_uuid_like(v) else v for v in values]
        exact.append((key, tuple(dict.fromkeys(values))))
    return tuple(exact)


def _times(args: Mapping[str, str]) -> tuple[tuple[str, str, datetime.datetime], ...]:
    times = []
    for column in _TIME_COLUMNS:
        for op in _TIME_OPS:
            key = "%s_%s" % (column, op)
            times += [(column, op, _time(key, value)) for value in _values_of(args, key)]
    return tuple(times)


def _properties(args: Mapping[str, str], prefix: str) -> tuple[tuple[str, str], ...]:
    pairs = tuple((key[len(prefix):], value) for key, value in _items(args)
                  if key.startswith(prefix))
    if any(not name for name, _ in pairs):
        raise BadRequest("A property filter needs a property name after %s" % prefix)
    return pairs


def _sort(args: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``sort=key:dir`` (repeatable or comma-separated; dir defaults to desc)
    or v1's single ``sort_key``/``sort_dir``; never both."""
    items = _values_of(args, "sort")
    if not items:
        return ((_choice("sort_key", args.get("sort_key", "created_at"), SORT_KEYS),
                 _choice("sort_dir", args.get("sort_dir", "desc"), SORT_DIRS)),)
    if "sort_key" in args or "sort_dir" in args:
        raise BadRequest("Old and new sorting syntax cannot be combined")
    sort: dict[str, str] = {}
    for part in ",".join(items).split(","):
        key, _, direction = part.strip().partition(":")
        key = _choice("sort key", key.strip(), SORT_KEYS)
        direction = _choice("sort direction", direction.strip() or "desc", SORT_DIRS)
        sort.setdefault(key, direction)  # a repeated key changes no order
    return tuple(sort.items())


def _admin_scope(ctx: RequestContext, value: str | None) -> str:
    if not ctx.is_admin:
        return visibility.AS_USER
    if value is None:
        # "Admin as user" shows what the admin's project sees; an admin with
        # no project (noauth, the embedded default) has none to stand in for,
        # and would otherwise see none of the images it made.
        return visibility.AS_USER if ctx.project_id else visibility.ALL
    try:
        return _IS_PUBLIC_SCOPES[value.strip().lower()]
    except KeyError:
        raise BadRequest("Bad value passed to filter is_public got %s"
                         % value) from None


def _limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return min(default, maximum)
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, maximum)


def _marker(value: str | None) -> str | None:
    if value is None:
        return None
    if not is_uuid_like(value):
        raise BadRequest("Invalid marker format")
    return normalize_id(value)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadRequest("Unsupported %s %s. Acceptable values: %s"
                         % (name, value, ", ".join(allowed)))
    return value


def _optional(args: Mapping[str, str], key: str, parse) -> Any:
    return parse(key, args[key]) if key in args else None


def _visibility(key: str, value: str) -> str:
    if value not in visibility.VISIBILITIES:
        raise BadRequest("Bad value passed to filter %s got %s" % (key, value))
    return value


def _member_status(key: str, value: str) -> str:
    if value not in visibility.MEMBER_STATUSES:
        raise BadRequest("Bad value passed to filter %s got %s" % (key, value))
    return value


def _non_negative(key: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0 or number >= 2 ** 63:
        raise BadRequest("Bad value passed to filter %s got %s" % (key, value))
    return number


def _boolean(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRequest("Bad value passed to filter %s got %s" % (key, value))


def _time(key: str, value: str) -> datetime.datetime:
    try:
        return parse_iso(value)
    except ValueError:
        raise BadRequest("Bad value passed to filter %s got %s"
                         % (key, value)) from None
