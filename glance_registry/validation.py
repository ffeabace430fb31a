"""Checks on the image bodies callers send; each failure says what was wrong."""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

from glance_common import formats
from glance_registry.errors import BadRequest
from glance_registry.status import STATUSES

DISK_FORMATS = formats.DISK_FORMATS
# v2 also accepts "compressed" (Glance added it after v1); glance-api's v1
# refuses it before calling, through the shared list, which stays v1's.
CONTAINER_FORMATS = tuple(dict.fromkeys(formats.CONTAINER_FORMATS + ("compressed",)))
VISIBILITIES = ("public", "private", "shared", "community")
LOCATION_STATUSES = ("active", "pending_delete", "deleted")

_UUID_LIKE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                        r"[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")

# Field -> (kind, limit). kind: str / int / bool; limit: max length or None.
_SCALARS = {
    "name": ("str", 255),
    "disk_format": ("str", 20),
    "container_format": ("str", 20),
    "size": ("int", None),
    "virtual_size": ("int", None),
    "min_disk": ("int", None),
    "min_ram": ("int", None),
    "checksum": ("str", 32),
    "os_hash_algo": ("str", 64),
    "os_hash_value": ("str", 128),
    "status": ("str", 30),
    "visibility": ("str", 20),
    "protected": ("bool", None),
    "os_hidden": ("bool", None),
    "owner": ("str", 255),
}
_NOT_NULL = ("min_disk", "min_ram", "status", "visibility", "protected",
             "os_hidden")
_EXTRAS = ("id", "is_public", "properties", "tags", "locations")


@dataclasses.dataclass(frozen=True)
class ImageChanges:
    """A validated image body: column values plus the child collections."""

    columns: dict[str, Any]
    is_public: bool | None = None
    properties: dict[str, str | None] | None = None
    tags: list[str] | None = None
    locations: list[dict[str, Any]] | None = None


def is_uuid_like(value: Any) -> bool:
    """True for strings that read as a UUID (dashes optional, any case)."""
    return isinstance(value, str) and bool(_UUID_LIKE.match(value))


def normalize_id(value: str) -> str:
    """The canonical (lower-case, dashed) form of a UUID-like id."""
    return str(uuid.UUID(value))


def parse_image(body: Any, creating: bool) -> ImageChanges:
    """Validate an ``image`` object from a POST (creating) or PUT body."""
    if not isinstance(body, dict):
        raise BadRequest("The image must be a JSON object.")
    unknown = sorted(set(body) - set(_SCALARS) - set(_EXTRAS))
    if unknown:
        raise BadRequest("Unknown image attribute(s): %s" % ", ".join(unknown))
    columns = {}
    for key, value in body.items():
        if key in _SCALARS:
            columns[key] = _scalar(key, value)
    if "id" in body:
        if not creating:
            raise BadRequest("The image id cannot be changed.")
        if not is_uuid_like(body["id"]):
            raise BadRequest("Invalid image id format")
        columns["id"] = normalize_id(body["id"])
    _check_choice(columns, "disk_format", DISK_FORMATS,
                  "Invalid disk format '%s' for image.")
    _check_choice(columns, "container_format", CONTAINER_FORMATS,
                  "Invalid container format '%s' for image.")
    _check_choice(columns, "status", STATUSES, "Invalid status '%s' for image.")
    _check_choice(columns, "visibility", VISIBILITIES,
                  "Invalid visibility '%s' for image.")
    return ImageChanges(
        columns=columns,
        is_public=_bool_or_none("is_public", body.get("is_public")),
        properties=_properties(body["properties"]) if "properties" in body else None,
        tags=parse_tags(body["tags"]) if "tags" in body else None,
        locations=_locations(body["locations"]) if "locations" in body else None,
    )


def check_formats(disk_format: str | None, container_format: str | None
                  ) -> tuple[str | None, str | None]:
    """Apply the Amazon rule (``formats.pair_amazon``); BadRequest on a mismatch."""
    try:
        return formats.pair_amazon(disk_format, container_format)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def _scalar(key: str, value: Any) -> Any:
    kind, limit = _SCALARS[key]
    if value is None:
        if key in _NOT_NULL:
            raise BadRequest("Attribute '%s' cannot be null." % key)
        return None
    if kind == "str":
        if not isinstance(value, str):
            raise BadRequest("Attribute '%s' must be a string." % key)
        if limit is not None and len(value) > limit:
            raise BadRequest("Attribute '%s' is longer than %d characters."
                             % (key, limit))
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest("Attribute '%s' must be an integer." % key)
        if value < 0:
            raise BadRequest("Attribute '%s' must be 0 or more." % key)
        if value >= 2 ** 63:
            raise BadRequest("Attribute '%s' is too large." % key)
        return value
    return _bool_or_none(key, value)


def _bool_or_none(key: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise BadRequest("Attribute '%s' must be true or false." % key)


def _check_choice(columns: dict, key: str, allowed: tuple, message: str) -> None:
    value = columns.get(key)
    if value is not None and value not in allowed:
        raise BadRequest(message % value)


def _properties(value: Any) -> dict[str, str | None]:
    if not isinstance(value, dict):
        raise BadRequest("Attribute 'properties' must be an object.")
    for key, item in value.items():
        if not key or len(key) > 255:
            raise BadRequest("Property names must be 1 to 255 characters.")
        if item is not None and not isinstance(item, str):
            raise BadRequest("Property '%s' must have a string value." % key)
        if item is not None and len(item) > 65535:
            raise BadRequest("Property '%s' is longer than 65535 characters."
                             % key)
    return dict(value)


def parse_tags(value: Any, name: str = "tags") -> list[str]:
    """A list of tags from a body (``name`` is its key), duplicates dropped."""
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise BadRequest("Attribute '%s' must be a list of strings." % name)
    for tag in value:
        if not tag or len(tag) > 255:
            raise BadRequest("Tags must be 1 to 255 characters.")
    return list(dict.fromkeys(value))


def _locations(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BadRequest("Attribute 'locations' must be a list.")
    clean = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) \
                or not item["url"]:
            raise BadRequest("Each location must be an object with a 'url'.")
        unknown = set(item) - {"url", "metadata", "status", "id"}
        if unknown:
            raise BadRequest("Unknown location attribute(s): %s"
                             % ", ".join(sorted(unknown)))
        metadata = item.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise BadRequest("Location 'metadata' must be an object.")
        status = item.get("status") or "active"
        if status not in LOCATION_STATUSES:
            raise BadRequest("Invalid location status '%s'." % status)
        clean.append({"url": item["url"], "metadata": metadata,
                      "status": status})
    return clean
