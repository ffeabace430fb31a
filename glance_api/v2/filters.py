"""v2 list queries -> the registry's list parameters (spec v2 section 4.3).

Pure: the handler passes the request's query as (key, value) pairs and the
paging limits; every 400 of section 4.3 is raised here, before the registry
is asked.
"""

from __future__ import annotations

import urllib.parse
from typing import Iterable

from glance_api.exceptions import BadRequest
from glance_api.v2 import schemas
from glance_common import timestamps

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at")
SORT_DIRS = ("asc", "desc")
IN_FILTERS = ("name", "id", "status", "disk_format", "container_format")
EXACT_FILTERS = ("owner", "checksum", "os_hash_value", "min_ram", "min_disk")
TIME_FILTERS = ("created_at", "updated_at")
TIME_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")
BOOLEAN_FILTERS = ("os_hidden", "protected")
PAGING = ("limit", "marker", "sort", "sort_key", "sort_dir")
VISIBILITIES = schemas.VISIBILITIES + ("all",)
MEMBER_STATUSES = schemas.MEMBER_STATUSES + ("all",)


def registry_params(query: Iterable[tuple[str, str]], *, limit_default: int,
                    limit_max: int) -> dict:
    """The registry list parameters for a v2 query; 400 on anything malformed."""
    pairs = list(query)
    single = {}
    for key, value in pairs:
        single[key] = value
    params: dict = {"member_status": "accepted", "os_hidden": "false",
                    "limit": _limit(single.get("limit"), limit_default, limit_max)}
    if "marker" in single:
        params["marker"] = single["marker"]
    params["sort"] = _sort(pairs)
    for key, value in pairs:
        if key not in PAGING and key != "tag":
            _add_filter(params, key, value)
    tags = [value for key, value in pairs if key == "tag"]
    if tags:
        params["tag"] = tags
    return params


def _add_filter(params: dict, key: str, value: str) -> None:
    """Put one query filter into ``params`` as the registry names it."""
    if key == "changes-since":
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    if key == "visibility":
        if value not in VISIBILITIES:
            raise BadRequest("Invalid visibility value: %s" % value)
        params["visibility"] = value
    elif key == "member_status":
        if value not in MEMBER_STATUSES:
            raise BadRequest("Invalid status: %s" % value)
        params["member_status"] = value
    elif key in BOOLEAN_FILTERS:
        params[key] = _boolean(key, value)
    elif key in IN_FILTERS:
        params[key] = _in_values(value)
    elif key in ("size_min", "size_max"):
        params[key] = _number(value)
    elif key in TIME_FILTERS:
        op, moment = _time_filter(key, value)
        params["%s_%s" % (key, op)] = moment
    elif key in EXACT_FILTERS:
        params[key] = value
    else:
        params["prop-" + key] = value


def links(query: Iterable[tuple[str, str]], page: list[dict], limit: int) -> tuple[str, str | None]:
    """The ``first`` and ``next`` links of a page (``next`` when the page is full).

    Every value of a repeated parameter is kept (Glance keeps only the last:
    a bug, spec 4.3).
    """
    kept = [(k, v) for k, v in query if k != "marker"]
    first = "/v2/images" + ("?" + urllib.parse.urlencode(kept) if kept else "")
    if not page or len(page) < limit:
        return first, None
    return first, "/v2/images?" + urllib.parse.urlencode(kept + [("marker", page[-1]["id"])])


def _limit(value: str | None, default: int, most: int) -> int:
    if value is None:
        return min(default, most)
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, most)


def _sort(pairs: list[tuple[str, str]]) -> list[str]:
    """``key:dir`` items from either sorting syntax, checked."""
    keys = [v for k, v in pairs if k == "sort_key"]
    dirs = [v for k, v in pairs if k == "sort_dir"]
    new = [v for k, v in pairs if k == "sort"]
    if new and (keys or dirs):
        raise BadRequest("Old and new sorting syntax cannot be combined")
    items = []
    if new:
        for part in ",".join(new).split(","):
            key, _, direction = part.strip().partition(":")
            items.append((key.strip(), direction.strip() or "desc"))
    else:
        keys = keys or ["created_at"]
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise BadRequest("Number of sort dirs does not match the number of sort keys")
        directions = dirs if len(dirs) == len(keys) else [dirs[0] if dirs else "desc"] * len(keys)
        items = list(zip(keys, directions, strict=True))
    for key, direction in items:
        if key not in SORT_KEYS:
            raise BadRequest("Invalid sort key: %s. It must be one of the following: %s."
                             % (key, ", ".join(SORT_KEYS)))
        if direction not in SORT_DIRS:
            raise BadRequest("Invalid sort direction: %s" % direction)
    return ["%s:%s" % item for item in items]


def _boolean(key: str, value: str) -> str:
    word = value.strip().lower()
    if word not in ("true", "false"):
        raise BadRequest("Invalid value '%s' for '%s' filter. Valid values are 'true' "
                         "or 'false'." % (value, key))
    return word


def _number(value: str) -> str:
    try:
        int(value)
    except ValueError:
        raise BadRequest("Unable to filter on a range with a non-numeric value.") from None
    return value


def _in_values(value: str) -> list[str]:
    """``in:a,"b,c"`` -> ["a", "b,c"]; ``eq:x`` and a bare value -> [x]."""
    if _is_time(value):
        return [value]
    op, sep, rest = value.partition(":")
    if not sep:
        return [value]
    if op == "eq":
        return [rest]
    if op != "in":
        raise BadRequest("Unable to filter by unknown operator '%s'." % op)
    items, current, quoted = [], "", False
    for char in rest:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return items


def _time_filter(key: str, value: str) -> tuple[str, str]:
    op, moment = "eq", value
    if not _is_time(value):
        op, _, moment = value.partition(":")
        if op not in TIME_OPS:
            raise BadRequest("Unable to filter on a unknown operator.")
    if not _is_time(moment):
        raise BadRequest('Bad "%s" query filter format. Use ISO 8601 DateTime notation.'
                         % key)
    return op, moment


def _is_time(text: str) -> bool:
    # The registry's own reading, so what passes here passes there.
    try:
        timestamps.parse_iso(text)
    except ValueError:
        return False
    return True
