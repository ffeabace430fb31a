"""Image rules both API versions share, as plain functions on registry records.

No request or wire format here: each version's handlers turn their input
into these arguments, so a rule is written (and tested) once.
"""

from __future__ import annotations

from glance_api import registry_client
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Forbidden
from glance_api.exceptions import NotFound
from glance_api.exceptions import TooLarge
from glance_common import formats
from glance_common.context import RequestContext
from glance_store import Capability
from glance_store.url_filter import redact

# Schemes a caller may point an image at (CVE-2014-9493: never file: & co).
EXTERNAL_SCHEMES = ("http://", "https://")


def get_visible(registry, ctx: RequestContext, image_id: str) -> dict:
    """The image if ``ctx`` may see it; 404 otherwise."""
    try:
        return registry.get(ctx, image_id)
    except registry_client.NotFound as exc:
        raise NotFound("Image %s not found." % image_id) from exc


def check_formats(fields: dict) -> None:
    """Formats from Glance's lists; an Amazon format given alone sets its pair in ``fields``."""
    disk, container = fields.get("disk_format"), fields.get("container_format")
    if disk is not None and disk not in formats.DISK_FORMATS:
        raise BadRequest("Invalid disk format '%s' for image." % disk)
    if container is not None and container not in formats.CONTAINER_FORMATS:
        raise BadRequest("Invalid container format '%s' for image." % container)
    try:
        paired = formats.pair_amazon(disk, container)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if paired != (disk, container):
        fields["disk_format"], fields["container_format"] = paired


def require_formats(fields: dict) -> None:
    """Data needs both formats (spec v2 section 12)."""
    if not fields.get("disk_format"):
        raise BadRequest("Disk format is not specified.")
    if not fields.get("container_format"):
        raise BadRequest("Container format is not specified.")


def check_store(stores, store: str | None) -> None:
    """A store named by a caller must exist and take uploads."""
    if store is None:
        return
    if store not in stores.store_names:
        raise BadRequest("Required store %s is invalid" % store)
    if Capability.WRITE not in stores.driver(store).capabilities:
        raise BadRequest("Store %s cannot hold uploads" % store)


def check_external_url(stores, url: str) -> None:
    """An http(s) URL the operator's import filter allows."""
    if not url:
        raise BadRequest("External source should not be empty")
    if not url.lower().startswith(EXTERNAL_SCHEMES):
        raise BadRequest("External sources are not supported: '%s'" % redact(url))
    stores.check_url(url)


def check_property_quota(limit: int, count: int) -> None:
    """At most ``limit`` extra properties (a negative limit: unlimited)."""
    if 0 <= limit < count:
        raise TooLarge("Attempted to add %d properties; the limit is %d." % (count, limit))


def check_member_quota(limit: int, count: int) -> None:
    """At most ``limit`` members (a negative limit: unlimited)."""
    if 0 <= limit < count:
        raise TooLarge("An image may have at most %d members." % limit)


def check_downloadable(image: dict) -> None:
    """Only active images have data to send."""
    if image["status"] == "deactivated":
        raise Forbidden("Image %s is deactivated." % image["id"])
    if image["status"] != "active":
        raise NotFound("Image %s is not active" % image["id"])


def active_location(image: dict) -> str | None:
    """The URL of the image's first active location."""
    for location in image.get("locations") or []:
        if location.get("status", "active") == "active":
            return location["url"]
    if image.get("size"):
        raise NotFound("Image %s has no data." % image["id"])
    return None


def owns_bytes(location: dict) -> bool:
    """Whether the service wrote this location (and so may delete it)."""
    return bool((location.get("metadata") or {}).get("store"))
