"""Glance's image locations, seen from this service: which it can serve.

Bytes are never copied: a location is kept exactly as Glance wrote it
(``file:///var/lib/glance/images/<id>``, ``swift+config://ref1/glance/<id>``,
``swift+http://user:key@auth/glance/<id>``, ``s3://...``). The store
library reads those forms in place. A scheme none of its drivers knows
(``rbd://``, ``cinder://``, ``vsphere://``) is kept too, so nothing is lost
and a later release or a move back can use it, and is reported: a
download of such an image is refused with an error naming the scheme.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlparse

# Glance's store types whose bytes Glance itself deleted with the image.
# A location of these types is marked as written by a store ("store" in
# its metadata), so deleting the image here deletes its bytes as Glance
# did; http locations were never Glance's to delete.
OWNED_TYPES = frozenset({"file", "swift", "s3"})


@functools.lru_cache(maxsize=1)
def served_schemes() -> dict[str, str]:
    """Every location scheme the store library reads -> its store type."""
    from glance_store.stores import DRIVERS
    from glance_store.stores import load_driver

    return {scheme: name for name in DRIVERS
            for scheme in load_driver(name).schemes}


def scheme_of(url: str) -> str:
    """The lower-case scheme of a location URL ('' when it has none)."""
    return url.partition("://")[0].lower() if "://" in url else ""


def unservable_reason(url: str, served: dict[str, str]) -> str | None:
    """Why this service cannot read ``url``, or None when it can."""
    scheme = scheme_of(url)
    if not scheme:
        return "not a location URL"
    if scheme not in served:
        return "no store driver here reads %s:// locations" % scheme
    return None


def adopted_metadata(url: str, metadata: dict[str, Any],
                     served: dict[str, str]) -> dict[str, Any]:
    """The location's metadata as this registry keeps it.

    Multi-store Glance already names the store (``{"store": "fast"}``);
    single-store Glance wrote ``{}``, which here would mean "not ours to
    delete". The store type is filled in for the types Glance deleted
    from, so a delete behaves as it did under Glance.
    """
    if metadata.get("store"):
        return metadata
    store_type = served.get(scheme_of(url))
    if store_type in OWNED_TYPES:
        return {**metadata, "store": store_type}
    return metadata


def redact(url: str) -> str:
    """``url`` without the credentials Glance may have written into it."""
    parts = urlparse(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
