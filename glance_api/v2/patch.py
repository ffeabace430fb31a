"""Glance's JSON-Patch dialect for PATCH /v2/images/{id} -> registry changes (spec 4.4).

Hand-written rather than built on an RFC 6902 library: Glance's operations
are not document edits. ``add`` overwrites, ``replace``/``remove`` of a missing
extra property is 409 and of a core one 403, read-only and reserved names are
403, ``/tags`` only takes a whole list, and the result must be the registry's
change set (core columns, a properties merge with None for removals, the new
tag list), not a patched document.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any

from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import UnsupportedMediaType
from glance_api.v2 import schemas

# Media type -> dialect. v2.0 is the draft-4 era form: {"replace": "/name", ...}.
MEDIA_TYPES = {
    "application/openstack-images-v2.1-json-patch": "v2.1",
    "application/openstack-images-v2.0-json-patch": "v2.0",
}
OPERATIONS = ("add", "remove", "replace")
_BAD_ESCAPE = re.compile(r"~(?![01])")


@dataclasses.dataclass(frozen=True)
class Operation:
    """One parsed patch operation; ``path`` holds the decoded pointer parts."""

    op: str
    path: tuple[str, ...]
    value: Any = None

    @property
    def name(self) -> str:
        """The attribute the operation is about."""
        return self.path[0]


def check_media_type(content_type: str | None) -> str:
    """The dialect ("v2.1" or "v2.0") a PATCH Content-Type names; 415 otherwise."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        accepted = ", ".join(sorted(MEDIA_TYPES))
        raise UnsupportedMediaType("Image PATCH expects Content-Type one of: %s" % accepted,
                                   headers={"Accept-Patch": accepted})
    return MEDIA_TYPES[media_type]


def parse(raw: bytes, dialect: str) -> list[Operation]:
    """The operations of a PATCH body in ``dialect``; 400 for anything malformed."""
    if dialect not in MEDIA_TYPES.values():
        raise ValueError("unknown JSON-Patch dialect %r" % dialect)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # nesting deeper than Python's stack
        raise BadRequest("Malformed JSON in request body.") from None
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    return [_operation(change, dialect) for change in body]


def _operation(change: Any, dialect: str) -> Operation:
    if not isinstance(change, dict):
        raise BadRequest("Operations must be JSON objects.")
    if dialect == "v2.1":
        op, pointer = _op_v21(change)
    else:
        op, pointer = _op_v20(change)
    path = decode_pointer(pointer)
    if op == "remove":
        return Operation(op, path)
    if "value" not in change:
        raise BadRequest('Operation "%s" requires a member named "value".' % op)
    return Operation(op, path, change["value"])


def _op_v21(change: dict) -> tuple[str, Any]:
    if "op" not in change:
        raise BadRequest("Unable to find `op` in JSON Schema change. It must be one "
                         "of the following: %s." % ", ".join(OPERATIONS))
    op = change["op"]
    if op not in OPERATIONS:
        raise BadRequest("Invalid operation: `%s`. It must be one of the following: "
                         "%s." % (op, ", ".join(OPERATIONS)))
    if "path" not in change:
        raise BadRequest("Unable to find `path` in JSON Schema change.")
    return op, change["path"]


def _op_v20(change: dict) -> tuple[str, Any]:
    found = [op for op in OPERATIONS if op in change]
    if len(found) != 1:
        raise BadRequest('Operation objects must contain exactly one member named '
                         '"add", "remove", or "replace".')
    return found[0], change[found[0]]


def decode_pointer(pointer: Any) -> tuple[str, ...]:
    """The unescaped parts of a JSON pointer this resource accepts; 400 otherwise."""
    if not isinstance(pointer, str):
        raise BadRequest("Invalid JSON pointer for this resource: '%s'" % (pointer,))
    if not pointer.startswith("/"):
        raise BadRequest('Pointer `%s` does not start with "/".' % pointer)
    if "//" in pointer:
        raise BadRequest('Pointer `%s` contains adjacent "/".' % pointer)
    if pointer.endswith("/"):
        raise BadRequest('Pointer `%s` ends with "/".' % pointer)
    if _BAD_ESCAPE.search(pointer):
        raise BadRequest('Pointer `%s` contains "~" not part of a recognized '
                         'escape sequence.' % pointer)
    # ~1 before ~0, so "~01" decodes to "~1" and not to "/" (RFC 6901 4).
    parts = tuple(part.replace("~1", "/").replace("~0", "~")
                  for part in pointer[1:].split("/"))
    # /locations/- and /locations/N are the only two-level paths Glance knows.
    if len(parts) > 1 and not (parts[0] == "locations" and len(parts) == 2):
        raise BadRequest("Invalid JSON pointer for this resource: '%s'" % pointer)
    return parts


def apply(image: dict, operations: list[Operation], *, property_quota: int,
          tag_quota: int) -> dict:
    """Apply ``operations`` to the v2 image document; the registry changes they make."""
    patched = copy.deepcopy(image)
    for operation in operations:
        _apply_one(patched, operation, property_quota, tag_quota)
    return _changes(image, patched)


def _apply_one(document: dict, operation: Operation, property_quota: int,
               tag_quota: int) -> None:
    name = operation.name
    if name == "locations":
        _apply_locations(document, operation)
        return
    if name == "stores" and operation.op == "remove" and "stores" in document:
        # Multi-store documents show "stores", and openstacksdk sends its
        # removal back on every update (spec 15.3): accepted, changes nothing.
        return
    schemas.check_settable(name, creating=False)
    core = name in schemas.CORE_FIELDS
    if operation.op == "remove":
        if core:
            raise Forbidden("Property %s may not be removed." % name)
        _require_existing(document, name)
        del document[name]
        return
    if operation.op == "replace" and not core:
        _require_existing(document, name)
    value = operation.value
    if not core:
        schemas.check_extra_key(name)
    schemas.validate_image({name: value})
    schemas.check_non_negative(name, value)
    if name == "tags":
        value = schemas.unique_tags(value)
        schemas.check_tag_quota(tag_quota, len(value))
    elif not core and name not in document:
        schemas.check_property_quota(property_quota, len(_extra(document)) + 1)
    document[name] = value


def _refuse_locations(operation: Operation) -> None:
    # show_multiple_locations is off (the document has no locations): every
    # location patch gets the answer Glance gives with the option off.
    if operation.op == "replace" and operation.value == []:
        raise Forbidden("Cannot set locations to empty list.")
    verb = {"add": "add", "remove": "remove", "replace": "update"}[operation.op]
    raise Forbidden("It's not allowed to %s locations if locations are invisible." % verb)


# Glance's path depths for /locations: add and remove name one position
# (/locations/N or /locations/-), replace takes the whole list.
_LOCATION_DEPTHS = {"add": 2, "remove": 2, "replace": 1}
# Statuses in which Glance lets each operation change the locations.
_LOCATION_STATUSES = {"add": ("queued", "active"), "replace": ("queued", "active"),
                      "remove": ("active",)}


def _apply_locations(document: dict, operation: Operation) -> None:
    """Glance's old JSON-Patch of /locations (show_multiple_locations = true).

    Only the list changes here; glance_api.locations.legacy checks what it
    may point at, who may change it and which data it holds.
    """
    if "locations" not in document:
        _refuse_locations(operation)
    op, locations = operation.op, document["locations"]
    if len(operation.path) != _LOCATION_DEPTHS[op]:
        raise BadRequest("Invalid JSON pointer for this resource: '/%s'"
                         % "/".join(operation.path))
    if op == "replace" and operation.value == []:
        raise Forbidden("Cannot set locations to empty list.")
    status = document.get("status")
    if status not in _LOCATION_STATUSES[op]:
        raise Conflict("It's not allowed to %s locations if image status is %s."
                       % (op, status))
    if op == "replace":
        if not isinstance(operation.value, list):
            raise BadRequest("Provided object does not match schema 'image': "
                             "locations must be a list.")
        document["locations"] = [_location_value(v) for v in operation.value]
    elif op == "add":
        value = _location_value(operation.value)
        position = _location_position(operation.path[1], len(locations), adding=True)
        locations.insert(position, value)
    else:
        if len(locations) == 1:
            raise Forbidden("Cannot remove last location in the image.")
        del locations[_location_position(operation.path[1], len(locations), adding=False)]


def _location_value(value: Any) -> dict:
    schemas.validate_image({"locations": [value]})
    return copy.deepcopy(value)


def _location_position(part: str, count: int, *, adding: bool) -> int:
    """The index /locations/<part> names; "-" is the end (Glance's rules)."""
    if part == "-":
        position = count if adding else count - 1
    elif part.isascii() and part.isdigit():
        position = int(part)
    else:
        position = -1
    if position < 0 or (not adding and position >= count):
        raise BadRequest("Invalid position for %s a location."
                         % ("adding" if adding else "removing"))
    return min(position, count)


def _require_existing(document: dict, name: str) -> None:
    if name not in document:
        raise Conflict("Property %s does not exist." % name)


def _extra(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in schemas.CORE_FIELDS}


def _changes(before: dict, after: dict) -> dict:
    changes: dict[str, Any] = {}
    for key in schemas.CORE_FIELDS:
        if key == "tags":
            if set(after.get("tags") or []) != set(before.get("tags") or []):
                changes["tags"] = list(after["tags"])
        elif key in after and after[key] != before.get(key):
            changes[key] = after[key]
    old, new = _extra(before), _extra(after)
    properties = {k: new.get(k) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    if properties:
        changes["properties"] = properties
    return changes
