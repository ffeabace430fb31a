"""The v2 JSON schemas clients build their models from, and the create-body check.

The schema documents are shaped like Glance's (spec 3.1, 3.2) because clients
read them: glanceclient turns every property not marked ``readOnly`` into a
CLI option and validates bodies with them, Nova reads the disk format enum.
The same image schema validates what callers send (``check_create`` here,
``patch.apply`` for PATCH values), so the served document and the rules
cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from glance_api.exceptions import BadRequest
from glance_api.exceptions import Forbidden
from glance_api.exceptions import TooLarge
from glance_common import formats

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")

IMAGE_STATUSES = ("queued", "saving", "active", "killed", "deleted", "uploading",
                  "importing", "pending_delete", "deactivated")
DISK_FORMATS = formats.DISK_FORMATS
# v2 clients may also say "compressed" (Glance added it for v2 only); v1 never
# knew it, so the shared list in glance_common.formats stays as v1 has it.
CONTAINER_FORMATS = formats.CONTAINER_FORMATS + ("compressed",)
VISIBILITIES = ("community", "public", "private", "shared")
MEMBER_STATUSES = ("pending", "accepted", "rejected")

# Every property of the image schema: a key outside these is an extra property.
CORE_FIELDS = ("id", "name", "status", "visibility", "protected", "os_hidden",
               "checksum", "os_hash_algo", "os_hash_value", "owner", "size",
               "virtual_size", "min_ram", "min_disk", "container_format",
               "disk_format", "created_at", "updated_at", "tags", "direct_url",
               "self", "file", "schema", "stores", "locations")
# Server-owned: 403 "read-only" when sent on create or PATCH (spec 2.4).
READ_ONLY = ("status", "size", "virtual_size", "checksum", "created_at",
             "updated_at", "self", "file", "schema", "direct_url", "stores")
# Settable (id) or silently dropped (hashes) on create, read-only afterwards.
READ_ONLY_AFTER_CREATE = ("id", "os_hash_algo", "os_hash_value")
IGNORED_ON_CREATE = ("os_hash_algo", "os_hash_value")
# 403 "reserved" (spec 2.4); PATCH answers locations with its own messages.
RESERVED = ("locations", "location", "deleted", "deleted_at")
RESERVED_PREFIX = "os_glance"
NON_NEGATIVE = ("min_ram", "min_disk")
MAX_KEY_LENGTH = 255


def _string(description: str, **extra: Any) -> dict:
    return {"type": "string", "description": description, **extra}


def _read_only(schema: dict) -> dict:
    return {**schema, "readOnly": True}


_IMAGE_PROPERTIES = {
    "id": _string("An identifier for the image", pattern=UUID_PATTERN),
    "name": {"type": ["null", "string"], "maxLength": 255,
             "description": "Descriptive name for the image"},
    "status": _read_only(_string("Status of the image", enum=list(IMAGE_STATUSES))),
    "visibility": _string("Scope of image accessibility", enum=list(VISIBILITIES)),
    "protected": {"type": "boolean",
                  "description": "If true, the image cannot be deleted."},
    "os_hidden": {"type": "boolean",
                  "description": "If true, the image is left out of default lists."},
    "checksum": _read_only({"type": ["null", "string"], "maxLength": 32,
                            "description": "md5 of the image data"}),
    "os_hash_algo": _read_only({"type": ["null", "string"], "maxLength": 64,
                                "description": "Algorithm of os_hash_value"}),
    "os_hash_value": _read_only({"type": ["null", "string"], "maxLength": 128,
                                 "description": "Secure hash of the image data"}),
    "owner": {"type": ["null", "string"], "maxLength": 255,
              "description": "Project that owns the image"},
    "size": _read_only({"type": ["null", "integer"],
                        "description": "Size of the image data in bytes"}),
    "virtual_size": _read_only({"type": ["null", "integer"],
                                "description": "Virtual size of the image in bytes"}),
    "min_ram": {"type": "integer",
                "description": "RAM (MB) needed to boot the image"},
    "min_disk": {"type": "integer",
                 "description": "Disk space (GB) needed to boot the image"},
    "container_format": {"type": ["null", "string"],
                         "enum": [None, *CONTAINER_FORMATS],
                         "description": "Format of the image container"},
    "disk_format": {"type": ["null", "string"], "enum": [None, *DISK_FORMATS],
                    "description": "Format of the disk"},
    "created_at": _read_only(_string("Date and time of image registration")),
    "updated_at": _read_only(_string("Date and time of the last image change")),
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 255},
             "description": "List of strings related to the image"},
    "direct_url": _read_only(_string("URL to reach the image data in its store")),
    "self": _read_only(_string("An image self url")),
    "file": _read_only(_string("An image file url")),
    "schema": _read_only(_string("An image schema url")),
    "stores": _read_only(_string("Comma-separated stores holding the image data")),
    "locations": {
        "type": "array",
        "description": "Where the image data is stored",
        "items": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "maxLength": 255},
                "metadata": {"type": "object"},
                "validation_data": {
                    "type": "object",
                    "writeOnly": True,
                    "additionalProperties": False,
                    "properties": {
                        "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
                        "os_hash_algo": {"type": "string", "maxLength": 64},
                        "os_hash_value": {"type": "string", "maxLength": 128},
                    },
                    "required": ["os_hash_algo", "os_hash_value"],
                },
            },
            "required": ["url", "metadata"],
        },
    },
}

_IMAGE = {
    "name": "image",
    "properties": _IMAGE_PROPERTIES,
    "additionalProperties": {"type": "string"},
    "links": [{"href": "{self}", "rel": "self"},
              {"href": "{file}", "rel": "enclosure"},
              {"href": "{schema}", "rel": "describedby"}],
}

_IMAGES = {
    "name": "images",
    "properties": {
        "images": {"type": "array", "items": _IMAGE},
        "schema": {"type": "string"},
        "first": {"type": "string"},
        "next": {"type": "string"},
    },
    "links": [{"href": "{first}", "rel": "first"},
              {"href": "{next}", "rel": "next"},
              {"href": "{schema}", "rel": "describedby"}],
}

_MEMBER = {
    "name": "member",
    "properties": {
        "member_id": _string("Project the image is shared with"),
        "image_id": _string("The shared image", pattern=UUID_PATTERN),
        "status": _string("Whether the member accepted the image",
                          enum=list(MEMBER_STATUSES)),
        "created_at": _string("Date and time of the membership"),
        "updated_at": _string("Date and time of the last membership change"),
        "schema": _read_only(_string("A member schema url")),
    },
}

_MEMBERS = {
    "name": "members",
    "properties": {
        "members": {"type": "array", "items": _MEMBER},
        "schema": {"type": "string"},
    },
    "links": [{"href": "{schema}", "rel": "describedby"}],
}

TASK_TYPES = ("import", "api_image_import", "location_import")
TASK_STATUSES = ("pending", "processing", "success", "failure")
# Only GET /v2/tasks/{id} shows these; lists leave them out.
TASK_DETAILS = ("input", "result", "message")

_TASK_PROPERTIES = {
    "id": _string("An identifier for the task", pattern=UUID_PATTERN),
    "type": _string("The type of task represented by this content",
                    enum=list(TASK_TYPES)),
    "status": _string("The current status of this task", enum=list(TASK_STATUSES)),
    "input": {"type": ["null", "object"],
              "description": "The parameters required by task, JSON blob"},
    "result": {"type": ["null", "object"],
               "description": "The result of current task, JSON blob"},
    "owner": _string("An identifier for the owner of this task"),
    "message": _string("Human-readable informative message only included when "
                       "appropriate (usually on failure)"),
    "image_id": _string("Image associated with the task"),
    "request_id": _string("Human-readable informative request-id"),
    "user_id": _string("User associated with the task"),
    "expires_at": {"type": ["null", "string"],
                   "description": "Datetime when this resource would be subject "
                                  "to removal"},
    "created_at": _string("Datetime when this resource was created"),
    "updated_at": _string("Datetime when this resource was updated"),
    "self": _read_only({"type": "string"}),
    "schema": _read_only({"type": "string"}),
}

_TASK = {"name": "task", "properties": _TASK_PROPERTIES,
         "additionalProperties": False}

_TASKS = {
    "name": "tasks",
    "properties": {
        "tasks": {"type": "array", "items": {
            "name": "task", "additionalProperties": False,
            "properties": {k: v for k, v in _TASK_PROPERTIES.items()
                           if k not in TASK_DETAILS}}},
        "schema": {"type": "string"},
        "first": {"type": "string"},
        "next": {"type": "string"},
    },
    "links": [{"href": "{first}", "rel": "first"},
              {"href": "{next}", "rel": "next"},
              {"href": "{schema}", "rel": "describedby"}],
}

# Draft 4 as Glance's schemas are written: its "integer" refuses 1.0, so the
# registry never receives a float for min_ram. readOnly is not a validation
# keyword; the read-only rules are enforced by name below.
_IMAGE_VALIDATOR = jsonschema.Draft4Validator(_IMAGE)


def image_schema() -> dict:
    """The document served at /v2/schemas/image."""
    return copy.deepcopy(_IMAGE)


def images_schema() -> dict:
    """The document served at /v2/schemas/images."""
    return copy.deepcopy(_IMAGES)


def member_schema() -> dict:
    """The document served at /v2/schemas/member."""
    return copy.deepcopy(_MEMBER)


def members_schema() -> dict:
    """The document served at /v2/schemas/members."""
    return copy.deepcopy(_MEMBERS)


def task_schema() -> dict:
    """The document served at /v2/schemas/task."""
    return copy.deepcopy(_TASK)


def tasks_schema() -> dict:
    """The document served at /v2/schemas/tasks."""
    return copy.deepcopy(_TASKS)


def validate_image(document: dict) -> None:
    """400 unless ``document`` (all or part of an image) matches the image schema."""
    error = jsonschema.exceptions.best_match(_IMAGE_VALIDATOR.iter_errors(document))
    if error is not None:
        raise BadRequest("Provided object does not match schema 'image': %s"
                         % error.message)


def is_reserved(key: str) -> bool:
    """True for a key callers may never set (spec 2.4)."""
    return key in RESERVED or key.startswith(RESERVED_PREFIX)


def check_settable(key: str, *, creating: bool) -> None:
    """403 for a read-only or reserved attribute."""
    if key in READ_ONLY or (not creating and key in READ_ONLY_AFTER_CREATE):
        raise Forbidden("Attribute '%s' is read-only." % key)
    if is_reserved(key):
        raise Forbidden("Attribute '%s' is reserved." % key)


def check_non_negative(key: str, value: Any) -> None:
    """400 for a negative min_ram or min_disk, in Glance's words."""
    if key in NON_NEGATIVE and value < 0:
        raise BadRequest("Invalid value '%s' for parameter '%s': Cannot be a "
                         "negative value" % (value, key))


def check_extra_key(key: str) -> None:
    """400 for an extra property key longer than Glance allows."""
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest("Custom property should not be greater than 255 characters.")


def check_property_quota(quota: int, attempted: int) -> None:
    """413 beyond ``quota`` extra properties (a negative quota: unlimited)."""
    if 0 <= quota < attempted:
        raise TooLarge("The limit has been exceeded on the number of allowed image "
                       "properties. Attempted: %d, Maximum: %d" % (attempted, quota))


def check_tag_quota(quota: int, attempted: int) -> None:
    """413 beyond ``quota`` tags (a negative quota: unlimited)."""
    if 0 <= quota < attempted:
        raise TooLarge("The limit has been exceeded on the number of allowed image "
                       "tags. Attempted: %d, Maximum: %d" % (attempted, quota))


def unique_tags(tags: list[str]) -> list[str]:
    """The tags without duplicates, first occurrence first."""
    return list(dict.fromkeys(tags))


def check_create(body: Any, *, property_quota: int, tag_quota: int) -> dict:
    """Validate a POST /v2/images body; the registry record to create."""
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object.")
    for key in body:
        check_settable(key, creating=True)
    body = {k: v for k, v in body.items() if k not in IGNORED_ON_CREATE}
    validate_image(body)
    record: dict[str, Any] = {"visibility": "shared"}
    properties = {}
    for key, value in body.items():
        if key in CORE_FIELDS:
            check_non_negative(key, value)
            record[key] = value
        else:
            check_extra_key(key)
            properties[key] = value
    record["tags"] = unique_tags(record.get("tags", []))
    record["properties"] = properties
    check_property_quota(property_quota, len(properties))
    check_tag_quota(tag_quota, len(record["tags"]))
    return record


def validate_member_status(value: Any) -> str:
    """The member status if it is one v2 knows; 400 otherwise."""
    if value not in MEMBER_STATUSES:
        raise BadRequest('Incorrect request: Status must be "pending", "accepted" '
                         'or "rejected".')
    return value
