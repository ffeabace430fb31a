"""What the object-store drivers (swift, s3) share.

Both keep each image as objects named after the image id in one container
(a Swift container, an S3 bucket) and write locations of the form
``<scheme>://<base>/<container>/<object>``, where ``<base>`` is the
service's address.
"""

from __future__ import annotations

import contextlib
import logging
import urllib.parse
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator

from glance_store import exceptions
from glance_store.url_filter import redact

LOG = logging.getLogger(__name__)


def parse_location(location: str, *, schemes: Collection[str], form: str,
                   base: str, base_name: str,
                   any_base: Collection[str] = ()) -> tuple[str, str]:
    """(container, object) of a ``scheme://base/container/object`` URI."""
    parts = urllib.parse.urlsplit(location)
    scheme = parts.scheme.lower()
    head, _, obj = parts.path.rstrip("/").rpartition("/")
    prefix, _, container = head.rpartition("/")
    if scheme not in schemes or not container or not obj or parts.query \
            or parts.fragment:
        raise exceptions.BadStoreURI(
            f"{redact(location)!r} is not {form} location")
    # Glance wrote credentials into locations; whatever they say, the
    # configured account is used, so they are dropped unread.
    found = (parts.netloc.rpartition("@")[2].lower() + prefix).rstrip("/")
    # A scheme in any_base (swift+config) names its service by reference.
    if scheme not in any_base and found != base:
        raise exceptions.BadStoreURI(
            f"{redact(location)!r} names {base_name} {found!r}, not the "
            f"configured {base!r}")
    return urllib.parse.unquote(container), urllib.parse.unquote(obj)


def check_sizes(store: str, large_object_size: int, chunk_size: int) -> None:
    """Refuse a large object size or chunk size below one byte."""
    if large_object_size < 1 or chunk_size < 1:
        raise exceptions.BadStoreConfiguration(
            f"{store} large object and chunk sizes must be positive")


def ensure_container(head: Callable[[], object],
                     create: Callable[[], object] | None,
                     missing: str) -> None:
    """Create a container ``head`` cannot find, or refuse with ``missing``."""
    try:
        head()
    except exceptions.NotFound:
        if create is None:
            raise exceptions.StorageWriteDenied(missing) from None
        create()


@contextlib.contextmanager
def expect_absent(duplicate: str) -> Iterator[None]:
    """Raise Duplicate(``duplicate``) unless the block raises NotFound."""
    try:
        yield
    except exceptions.NotFound:
        return
    raise exceptions.Duplicate(duplicate)


@contextlib.contextmanager
def cleanup(failed: str) -> Iterator[None]:
    """Log a store error as ``failed`` instead of raising it."""
    try:
        yield
    except exceptions.GlanceStoreError as exc:
        # Cleanup after a failed upload must not mask the upload's error.
        LOG.error("%s: %s", failed, exc)
