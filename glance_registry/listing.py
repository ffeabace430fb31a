"""Image lists: query parameters, filters, ordering and keyset pagination."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Mapping

import peewee

from glance_common.context import RequestContext
from glance_registry import templates, visibility
from glance_registry.db import database
from glance_registry.errors import BadRequest
from glance_registry.models import Image, ImageProperty
from glance_registry.rows import ImageRow, select_images
from glance_registry.timestamps import parse_iso
from glance_registry.validation import is_uuid_like, normalize_id

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at")
_EXACT = ("name", "status", "container_format", "disk_format")
_INTS = {"min_ram": "min_ram", "min_disk": "min_disk"}
_TRUE = ("true", "1")
_FALSE = ("false", "0")
_IS_PUBLIC_SCOPES = {"true": visibility.AS_USER, "1": visibility.AS_USER,
                     "false": visibility.NON_PUBLIC, "0": visibility.NON_PUBLIC,
                     "none": visibility.ALL}
PROPERTY_PREFIX = "property-"
PROPERTY_PREFIX_INDEXED = 200  # characters of a value the lookup index holds


@dataclasses.dataclass(frozen=True)
class ListQuery:
    """A parsed, validated list request."""

    limit: int
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"
    exact: tuple[tuple[str, Any], ...] = ()
    size_min: int | None = None
    size_max: int | None = None
    protected: bool | None = None
    changes_since: datetime.datetime | None = None
    updated_before: datetime.datetime | None = None
    properties: tuple[tuple[str, str], ...] = ()
    admin_scope: str = visibility.AS_USER
    deleted: bool = False


def parse_list_query(ctx: RequestContext, args: Mapping[str, str],
                     limit_default: int, limit_max: int) -> ListQuery:
    """Validate list query parameters; unknown ones are ignored."""
    exact = [(key, args[key]) for key in _EXACT if key in args]
    exact += [(column, _non_negative(key, args[key]))
              for key, column in _INTS.items() if key in args]
    properties = tuple((key[len(PROPERTY_PREFIX):], value)
                       for key, value in args.items()
                       if key.startswith(PROPERTY_PREFIX))
    return ListQuery(
        limit=_limit(args.get("limit"), limit_default, limit_max),
        marker=_marker(args.get("marker")),
        sort_key=_choice("sort_key", args.get("sort_key", "created_at"), SORT_KEYS),
        sort_dir=_choice("sort_dir", args.get("sort_dir", "desc"), ("asc", "desc")),
        exact=tuple(exact),
        size_min=_optional(args, "size_min", _non_negative),
        size_max=_optional(args, "size_max", _non_negative),
        protected=_optional(args, "protected", _boolean),
        changes_since=_optional(args, "changes-since", _time),
        updated_before=_optional(args, "updated_before", _time),
        properties=properties,
        admin_scope=_admin_scope(ctx, args.get("is_public")),
        deleted=ctx.is_admin and args.get("deleted", "").lower() in _TRUE,
    )


def list_images(ctx: RequestContext, query: ListQuery) -> list[ImageRow]:
    """One page of the images ``ctx`` may list, in a total order.

    The SQL depends only on the query's shape (which filters, which sort,
    whether there is a marker, who asks), so it is built once per shape and
    only the values change per call (see templates).
    """
    values = _values(ctx, query)
    if query.marker is not None:
        values.update(_marker_keys(ctx, query))
    sql, params = templates.bind(_shape(ctx, query),
                                 lambda: _build(_lookup(ctx), query), values)
    return select_images(sql, params)


def _param(name: str) -> peewee.Value:
    """A per-call value: a slot, passed through without conversion
    (``_values`` converts the real value as the column would)."""
    return peewee.Value(templates.Slot(name), converter=False)


def _lookup(ctx: RequestContext) -> RequestContext:
    """``ctx`` with its project as a slot, for building a template."""
    project = templates.Slot("project") if ctx.project_id else None
    return RequestContext.build(None, project, ctx.roles)


def _shape(ctx: RequestContext, query: ListQuery) -> tuple:
    """Everything the text of the list query depends on."""
    return ("list", ctx.is_admin, bool(ctx.project_id), query.admin_scope,
            tuple(column for column, _ in query.exact),
            query.size_min is not None, query.size_max is not None,
            query.protected is not None, query.updated_before is not None,
            query.changes_since is not None, query.deleted,
            tuple(len(value) >= PROPERTY_PREFIX_INDEXED
                  for _, value in query.properties),
            query.sort_key, query.sort_dir, query.marker is not None)


def _build(lookup: RequestContext, query: ListQuery) -> peewee.ModelSelect:
    select = Image.select().where(
        visibility.visible(lookup, listing=True, admin_scope=query.admin_scope))
    select = _filter(select, query)
    keys = _sort_expressions(query.sort_key)
    if query.marker is not None:
        mine = peewee.Tuple(*keys)
        theirs = peewee.Tuple(*[_param("marker%d" % i) for i in range(len(keys))])
        select = select.where(mine > theirs if query.sort_dir == "asc"
                              else mine < theirs)
    ordering = [k.asc() if query.sort_dir == "asc" else k.desc() for k in keys]
    return select.order_by(*ordering).limit(_param("limit"))


def _filter(select: peewee.ModelSelect, query: ListQuery) -> peewee.ModelSelect:
    for i, (column, _) in enumerate(query.exact):
        select = select.where(getattr(Image, column) == _param("exact%d" % i))
    if query.size_min is not None:
        select = select.where(Image.size >= _param("size_min"))
    if query.size_max is not None:
        select = select.where(Image.size <= _param("size_max"))
    if query.protected is not None:
        select = select.where(Image.protected == _param("protected"))
    if query.updated_before is not None:
        select = select.where(Image.updated_at < _param("updated_before"))
    if query.changes_since is not None:
        select = select.where(Image.updated_at > _param("changes_since"))
    elif query.deleted:
        select = select.where(Image.deleted == True)  # noqa: E712
    else:
        select = select.where(Image.deleted == False,  # noqa: E712
                              Image.status != "killed")
    for i, (_, value) in enumerate(query.properties):
        # Uncorrelated, so the database finds the few matching rows through
        # the lookup index (migration 0003) instead of probing every image;
        # literals, because the index is only used for the same expression.
        prefix = peewee.fn.SUBSTR(ImageProperty.value, peewee.SQL("1"),
                                  peewee.SQL(str(PROPERTY_PREFIX_INDEXED)))
        condition = ((peewee.fn.LOWER(ImageProperty.name) == _param("pname%d" % i))
                     & (prefix == _param("pprefix%d" % i))
                     & (ImageProperty.deleted == False))  # noqa: E712
        if len(value) >= PROPERTY_PREFIX_INDEXED:
            # A shorter value matching the prefix is the whole value; only a
            # long one needs comparing in full. (Saying "value = ?" always
            # let SQLite substitute it into the prefix expression, which
            # then no longer matched the index.)
            condition &= ImageProperty.value == _param("pvalue%d" % i)
        select = select.where(Image.id.in_(
            ImageProperty.select(ImageProperty.image).where(condition)))
    return select


def _values(ctx: RequestContext, query: ListQuery) -> dict[str, Any]:
    """The slots' values, converted as each column converts its values."""
    values: dict[str, Any] = {"project": ctx.project_id, "limit": query.limit}
    for i, (column, value) in enumerate(query.exact):
        values["exact%d" % i] = getattr(Image, column).db_value(value)
    if query.size_min is not None:
        values["size_min"] = Image.size.db_value(query.size_min)
    if query.size_max is not None:
        values["size_max"] = Image.size.db_value(query.size_max)
    if query.protected is not None:
        values["protected"] = Image.protected.db_value(query.protected)
    if query.updated_before is not None:
        values["updated_before"] = Image.updated_at.db_value(query.updated_before)
    if query.changes_since is not None:
        values["changes_since"] = Image.updated_at.db_value(query.changes_since)
    for i, (name, value) in enumerate(query.properties):
        values["pname%d" % i] = name.lower()
        values["pprefix%d" % i] = value[:PROPERTY_PREFIX_INDEXED]
        values["pvalue%d" % i] = value
    return values


def _sort_expressions(sort_key: str) -> list[peewee.Node]:
    """sort_key, created_at, id; nullable keys coalesced so every database agrees."""
    column = getattr(Image, sort_key)
    # Literals, not bound values: an index on the same expression (migration
    # 0003) is only used when the query spells it identically.
    if sort_key in ("name", "container_format", "disk_format"):
        column = peewee.fn.COALESCE(column, peewee.SQL("''"))
    elif sort_key == "size":
        column = peewee.fn.COALESCE(column, peewee.SQL("-1"))
    keys = [column]
    for tie_breaker in (Image.created_at, Image.id):
        if tie_breaker is not column:
            keys.append(tie_breaker)
    return keys


def _marker_keys(ctx: RequestContext, query: ListQuery) -> dict[str, Any]:
    """The marker image's sort keys, as stored: the page starts after them."""
    sql, params = templates.bind(
        ("list-marker", ctx.is_admin, bool(ctx.project_id), query.admin_scope,
         query.sort_key),
        lambda: Image.select(*_sort_expressions(query.sort_key)).where(
            Image.id == templates.Slot("id"),
            visibility.visible(_lookup(ctx), listing=True,
                               admin_scope=query.admin_scope)),
        {"id": query.marker, "project": ctx.project_id})
    row = database.execute_sql(sql, params).fetchone()
    if row is None:
        raise BadRequest("Invalid marker. Image could not be found.")
    return {"marker%d" % i: value for i, value in enumerate(row)}


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
