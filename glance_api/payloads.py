"""The payloads of image notifications, shaped as Glance sent them.

Locations are never included: they may hold store credentials.
"""

from __future__ import annotations

from glance_common.context import RequestContext

IMAGE_FIELDS = ("id", "name", "status", "created_at", "updated_at", "min_disk",
                "min_ram", "protected", "checksum", "owner", "disk_format",
                "container_format", "size", "virtual_size", "is_public",
                "visibility", "deleted", "deleted_at")


def image(record: dict) -> dict:
    """An image event's payload (image.create, .update, .upload, .delete...)."""
    payload = {field: record.get(field) for field in IMAGE_FIELDS}
    payload["is_public"] = record.get("visibility") == "public" or bool(
        record.get("is_public"))
    payload["deleted"] = bool(record.get("deleted"))
    payload["properties"] = dict(record.get("properties") or {})
    payload["tags"] = list(record.get("tags") or [])
    return payload


def member(image_id: str, record: dict, deleted: bool = False) -> dict:
    """An image.member.* payload from a registry member record."""
    return {"image_id": image_id, "member_id": record["member_id"],
            "status": record.get("status"),
            "created_at": record.get("created_at"),
            "updated_at": record.get("updated_at"),
            "deleted": deleted or bool(record.get("deleted")),
            "deleted_at": record.get("deleted_at")}


def send(record: dict, ctx: RequestContext, bytes_sent: int,
         destination_ip: str | None) -> dict:
    """The image.send payload: how much of an image reached whom."""
    return {"bytes_sent": bytes_sent, "image_id": record["id"],
            "owner_id": record.get("owner"),
            "receiver_tenant_id": ctx.project_id,
            "receiver_user_id": ctx.user_id,
            "destination_ip": destination_ip}
