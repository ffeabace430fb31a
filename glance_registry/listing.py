"""Image lists: query parameters, filters, ordering and keyset pagination."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Mapping

import peewee

from glance_common.context import RequestContext
from glance_registry import visibility
from glance_registry.errors import BadRequest
from glance_registry.models import Image, ImageProperty
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


def list_images(ctx: RequestContext, query: ListQuery) -> list[Image]:
    """One page of the images ``ctx`` may list, in a total order."""
    select = Image.select().where(
        visibility.visible(ctx, listing=True, admin_scope=query.admin_scope))
    select = _filter(select, query)
    keys = _sort_expressions(query.sort_key)
    if query.marker is not None:
        select = select.where(_after_marker(ctx, query, keys))
    ordering = [k.asc() if query.sort_dir == "asc" else k.desc() for k in keys]
    return list(select.order_by(*ordering).limit(query.limit))


def _filter(select: peewee.ModelSelect, query: ListQuery) -> peewee.ModelSelect:
    for column, value in query.exact:
        select = select.where(getattr(Image, column) == value)
    if query.size_min is not None:
        select = select.where(Image.size >= query.size_min)
    if query.size_max is not None:
        select = select.where(Image.size <= query.size_max)
    if query.protected is not None:
        select = select.where(Image.protected == query.protected)
    if query.updated_before is not None:
        select = select.where(Image.updated_at < query.updated_before)
    if query.changes_since is not None:
        select = select.where(Image.updated_at > query.changes_since)
    elif query.deleted:
        select = select.where(Image.deleted == True)  # noqa: E712
    else:
        select = select.where(Image.deleted == False,  # noqa: E712
                              Image.status != "killed")
    for name, value in query.properties:
        # Uncorrelated, so the database finds the few matching rows through
        # the lookup index (migration 0003) instead of probing every image;
        # literals, because the index is only used for the same expression.
        prefix = peewee.fn.SUBSTR(ImageProperty.value, peewee.SQL("1"),
                                  peewee.SQL(str(PROPERTY_PREFIX_INDEXED)))
        condition = ((peewee.fn.LOWER(ImageProperty.name) == name.lower())
                     & (prefix == value[:PROPERTY_PREFIX_INDEXED])
                     & (ImageProperty.deleted == False))  # noqa: E712
        if len(value) >= PROPERTY_PREFIX_INDEXED:
            # A shorter value matching the prefix is the whole value; only a
            # long one needs comparing in full. (Saying "value = ?" always
            # let SQLite substitute it into the prefix expression, which
            # then no longer matched the index.)
            condition &= ImageProperty.value == value
        select = select.where(Image.id.in_(
            ImageProperty.select(ImageProperty.image).where(condition)))
    return select


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


def _after_marker(ctx: RequestContext, query: ListQuery,
                  keys: list[peewee.Node]) -> peewee.Expression:
    """Rows strictly after the marker image in the list's order."""
    row = (Image.select(*keys)
           .where(Image.id == query.marker,
                  visibility.visible(ctx, listing=True,
                                     admin_scope=query.admin_scope))
           .tuples().first())
    if row is None:
        raise BadRequest("Invalid marker. Image could not be found.")
    mine, theirs = peewee.Tuple(*keys), peewee.Tuple(*row)
    return mine > theirs if query.sort_dir == "asc" else mine < theirs


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
