"""Registry records -> the v2 JSON documents (spec 2.1, 2.2, 4.3, 7).

Pure functions: the handlers fetch, these shape. Nothing here decides who may
see what; the registry already did.
"""

from __future__ import annotations

import datetime

# Glance-written properties it never shows (spec 2.2).
_HIDDEN_PROPERTIES = ("os_glance_stage_host", "os_glance_hash_op_host")
_SCALARS = ("id", "name", "disk_format", "container_format", "visibility", "size",
            "virtual_size", "status", "checksum", "protected", "min_ram",
            "min_disk", "owner", "os_hidden", "os_hash_algo", "os_hash_value")


def timestamp(value: str | None) -> str | None:
    """A registry timestamp as v2 writes it: UTC, whole seconds, ``Z``."""
    if value is None:
        return None
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def image(record: dict, *, show_direct_url: bool = False,
          show_locations: bool = False) -> dict:
    """The v2 image document for a registry record."""
    image_id = record["id"]
    # Extra properties first, so a core field always wins a clash with a key
    # an old v1 client stored as a property.
    document = {k: v for k, v in (record.get("properties") or {}).items()
                if k not in _HIDDEN_PROPERTIES}
    document.update({key: record.get(key) for key in _SCALARS})
    document.update({
        "created_at": timestamp(record.get("created_at")),
        "updated_at": timestamp(record.get("updated_at")),
        "tags": list(record.get("tags") or []),
        "self": "/v2/images/%s" % image_id,
        "file": "/v2/images/%s/file" % image_id,
        "schema": "/v2/schemas/image",
    })
    # No "stores": openstacksdk would send `remove /stores` back on every
    # update (spec 15.3), and non-multistore Glance never shows it.
    active = [loc for loc in record.get("locations") or []
              if loc.get("status", "active") == "active"]
    if show_locations:
        document["locations"] = [{"url": loc["url"], "metadata": loc.get("metadata") or {}}
                                 for loc in active]
    if show_direct_url and active:
        document["direct_url"] = active[0]["url"]
    return document


def images(records: list[dict], first: str, next_: str | None, **image_kwargs) -> dict:
    """A page of images, with the links clients follow."""
    page = {"images": [image(r, **image_kwargs) for r in records],
            "first": first, "schema": "/v2/schemas/images"}
    if next_ is not None:
        page["next"] = next_
    return page


def member(image_id: str, row: dict) -> dict:
    """The v2 member document for a registry member row."""
    return {"member_id": row["member_id"], "image_id": image_id,
            "status": row["status"],
            "created_at": timestamp(row.get("created_at")),
            "updated_at": timestamp(row.get("updated_at")),
            "schema": "/v2/schemas/member"}


def members(image_id: str, rows: list[dict]) -> dict:
    """The v2 member list document."""
    return {"members": [member(image_id, row) for row in rows],
            "schema": "/v2/schemas/members"}
