"""Images and members as the registry's JSON shows them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from typing import Iterable

from glance_common.timestamps import to_json
from glance_registry.models import Image
from glance_registry.models import ImageLocation
from glance_registry.models import ImageMember


@dataclasses.dataclass
class Children:
    """The child rows of some images, keyed by image id."""

    properties: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    tags: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    locations: dict[str, list[ImageLocation]] = dataclasses.field(default_factory=dict)


def brief(image: Image) -> dict[str, Any]:
    """The short form ``GET /images`` lists."""
    return {"id": image.id, "name": image.name,
            "disk_format": image.disk_format,
            "container_format": image.container_format,
            "size": image.size, "checksum": image.checksum}


def full(image: Image, children: Children,
         locations: Iterable[ImageLocation] | None = None) -> dict[str, Any]:
    """Every field of an image; ``locations`` overrides the loaded ones."""
    if locations is None:
        locations = children.locations.get(image.id, [])
    return {
        "id": image.id,
        "name": image.name,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value,
        "status": image.status,
        "visibility": image.visibility,
        "is_public": image.visibility == "public",
        "protected": bool(image.protected),
        "os_hidden": bool(image.os_hidden),
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "owner": image.owner,
        "created_at": to_json(image.created_at),
        "updated_at": to_json(image.updated_at),
        "deleted_at": to_json(image.deleted_at),
        "deleted": bool(image.deleted),
        "properties": children.properties.get(image.id, {}),
        "tags": children.tags.get(image.id, []),
        "locations": [location(loc) for loc in locations],
    }


def location(loc: ImageLocation) -> dict[str, Any]:
    """One location entry."""
    return {"id": loc.id, "url": loc.url, "metadata": json.loads(loc.meta_data),
            "status": loc.status}


def member(row: ImageMember) -> dict[str, Any]:
    """One membership of an image."""
    return {"image_id": row.image_id, "member_id": row.member,
            "can_share": bool(row.can_share),
            "status": row.status, "created_at": to_json(row.created_at),
            "updated_at": to_json(row.updated_at)}
