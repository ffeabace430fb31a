"""Image metadata as v1 headers: encoding requests, decoding HEAD responses."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from glance_cli.transport import encode_header

PREFIX = "x-image-meta-"
PROPERTY_PREFIX = "x-image-meta-property-"
BOOLEAN_FIELDS = ("is_public", "protected", "deleted")
INTEGER_FIELDS = ("size", "min_disk", "min_ram", "virtual_size")
TRUE_WORDS = ("1", "t", "true", "on", "y", "yes")


def to_headers(fields: Mapping[str, Any], properties: Mapping[str, str]) -> dict[str, str]:
    """``x-image-meta-*`` request headers for fields and custom properties."""
    headers = {}
    for key, value in properties.items():
        headers[PROPERTY_PREFIX + key] = encode_header(value)
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "True" if value else "False"
        headers[PREFIX + key] = encode_header(value)
    return headers


def from_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    """The image record a HEAD response describes, properties included."""
    image: dict[str, Any] = {"properties": {}}
    for name, raw in headers.items():
        name = name.lower()
        value = _text(raw)
        if name.startswith(PROPERTY_PREFIX):
            image["properties"][name[len(PROPERTY_PREFIX):]] = value
        elif name.startswith(PREFIX):
            field = name[len(PREFIX):]
            image[field] = _typed(field, value)
    return image


def parse_bool(value: str) -> bool:
    """Glance's boolean rule: a few words are true, anything else is false."""
    return value.strip().lower() in TRUE_WORDS


def _typed(field: str, value: str) -> Any:
    if field in BOOLEAN_FIELDS:
        return parse_bool(value)
    if field in INTEGER_FIELDS:
        try:
            return int(value) if value else 0
        except ValueError:
            return value
    return value


def _text(raw: str) -> str:
    """Undo http.client's latin-1 reading of a header sent as UTF-8 bytes."""
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw
