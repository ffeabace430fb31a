"""x-image-meta-* headers: parsing requests and rendering images (spec v1 s.3)."""

from __future__ import annotations

import dataclasses
import re
import urllib.parse

from glance_api.exceptions import BadRequest

META_PREFIX = "x-image-meta-"
PROPERTY_PREFIX = "x-image-meta-property-"
COPY_FROM_HEADER = "x-glance-api-copy-from"
PURGE_HEADER = "x-glance-registry-purge-props"

# The v1 image record as clients see it, in Glance's order.
FIELDS = ("id", "name", "disk_format", "container_format", "size",
          "virtual_size", "checksum", "status", "is_public", "protected",
          "min_disk", "min_ram", "owner", "created_at", "updated_at",
          "deleted_at", "deleted")
INT_FIELDS = frozenset({"size", "virtual_size", "min_disk", "min_ram"})
BOOL_FIELDS = frozenset({"is_public", "protected", "deleted"})
# Accepted by Glance's parser but without effect (spec v1 s.3.1).
IGNORED_FIELDS = frozenset({"created_at", "updated_at", "deleted_at",
                            "deleted", "copy_from", "uri"})
TRUE_STRINGS = frozenset({"1", "t", "true", "on", "y", "yes"})
# RFC 9110 token characters besides letters and digits (what a header name
# may hold), less "%", which escapes the others.
NAME_SAFE = "!#$&'*+-.^_`|~"
# What a header value may not carry (gunicorn and werkzeug refuse them).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclasses.dataclass
class ImageMeta:
    """What a create or update request says about an image."""

    fields: dict = dataclasses.field(default_factory=dict)
    properties: dict = dataclasses.field(default_factory=dict)
    location: str | None = None
    store: str | None = None
    copy_from: str | None = None
    purge_props: bool = True


def parse_bool(value: str | None) -> bool:
    """Glance's boolean rule: a few spellings of true, everything else false."""
    return (value or "").strip().lower() in TRUE_STRINGS


def _decode(value: str) -> str:
    # The client percent-encodes every header value (spec v1 s.1.4).
    return urllib.parse.unquote(value, errors="strict").strip()


def _property_key(raw_name: str, rest: str) -> str:
    """The property a header names: "-" read as "_", percent-escapes decoded
    (how ``to_headers`` writes keys a header name cannot hold)."""
    try:
        key = urllib.parse.unquote(rest.replace("-", "_"), errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("Header %s is not valid percent-encoded UTF-8." % raw_name) from None
    if not key:
        raise BadRequest("Bad header: %s" % raw_name)
    return key


def _parse_int(field: str, value: str) -> int | None:
    if field == "virtual_size" and value.lower() == "none":
        return None
    try:
        number = int(value)
    except ValueError:
        what = "image size" if field == "size" else field
        raise BadRequest("Cannot convert %s '%s' to an integer." % (what, value)) from None
    if number < 0:
        raise BadRequest("%s must be a non-negative integer, got %d." % (field, number))
    return number


def parse(headers) -> ImageMeta:
    """Read the image metadata of a request's headers; bad values are a 400."""
    meta = ImageMeta()
    for raw_name, raw_value in headers.items():
        name = raw_name.lower().replace("_", "-")
        if name == COPY_FROM_HEADER:
            meta.copy_from = _decode(raw_value)
            continue
        if name == PURGE_HEADER:
            meta.purge_props = parse_bool(raw_value)
            continue
        if not name.startswith(META_PREFIX):
            continue
        try:
            value = _decode(raw_value)
        except UnicodeDecodeError:
            raise BadRequest("Header %s is not valid percent-encoded UTF-8." % raw_name) from None
        if name.startswith(PROPERTY_PREFIX):
            key = _property_key(raw_name, name[len(PROPERTY_PREFIX):])
            meta.properties[key] = value or None
            continue
        field = name[len(META_PREFIX):].replace("-", "_")
        if field in IGNORED_FIELDS:
            continue
        if field == "location":
            meta.location = value
        elif field == "store":
            meta.store = value or None
        elif field not in FIELDS:
            raise BadRequest("Bad header: %s" % raw_name.lower())
        elif value == "":
            meta.fields[field] = None
        elif field in INT_FIELDS:
            meta.fields[field] = _parse_int(field, value)
        elif field in BOOL_FIELDS:
            meta.fields[field] = parse_bool(value)
        else:
            meta.fields[field] = value
    return meta


def _v1_value(image: dict, field: str):
    # v1 shows a size not yet known as 0; the registry keeps null for v2.
    value = image.get(field)
    return 0 if field == "size" and value is None else value


def to_headers(image: dict) -> dict[str, str]:
    """The x-image-meta-* response headers of a v1 image (nulls left out)."""
    headers = {}
    for field in FIELDS:
        value = _v1_value(image, field)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "True" if value else "False"
        headers[META_PREFIX + field] = _header_value(str(value))
    for key, value in (image.get("properties") or {}).items():
        if value is not None:
            headers[PROPERTY_PREFIX + _header_name(key)] = _header_value(str(value))
    return headers


def _header_name(key: str) -> str:
    # v2 lets a key hold anything (spaces, ":", non-ASCII); a header name
    # may hold only token characters, so the rest is percent-encoded, and
    # ``parse`` decodes it back.
    return urllib.parse.quote(key.lower(), safe=NAME_SAFE)


def _header_value(value: str) -> str:
    # Line breaks and other control characters cannot travel in a header
    # (a v2 name may hold them): percent-encoded, as clients send values.
    value = _CONTROL.sub(lambda found: "%%%02X" % ord(found.group()), value)
    # Header values must be latin-1 on the wire; non-ASCII text would be
    # garbled by the client anyway (spec v1 s.1.4), so send it UTF-8 encoded
    # the way Glance on Python 2 did.
    try:
        value.encode("latin-1")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8").decode("latin-1")


def to_json(image: dict) -> dict:
    """The v1 JSON view of a registry image: the fields of spec s.2.1 only."""
    view = {field: _v1_value(image, field) for field in FIELDS}
    view["properties"] = dict(image.get("properties") or {})
    return view


BRIEF_FIELDS = ("id", "name", "disk_format", "container_format", "size", "checksum")


def to_brief_json(image: dict) -> dict:
    """The v1 brief list entry."""
    return {field: _v1_value(image, field) for field in BRIEF_FIELDS}
