"""The store library's exceptions: one root, a few branches.

Every error a caller can see from ``glance_store`` is a ``GlanceStoreError``,
except one deliberate case: an exception raised by the caller's own input
stream (a client that went away mid-upload) reaches the caller unchanged.
Errors of lower layers (``OSError``, urllib3) are translated where they
happen, with ``raise ... from exc`` so the cause stays in the traceback; an
HTTP storage service's status goes through ``status_error``.
"""

from __future__ import annotations


class GlanceStoreError(Exception):
    """Root of every error raised by glance_store."""


class BadStoreConfiguration(GlanceStoreError):
    """The [glance_store] configuration cannot work; found at start-up."""


class NotFound(GlanceStoreError):
    """No image data at this location."""


class Duplicate(GlanceStoreError):
    """Image data for this image id already exists in the store."""


class StorageFull(GlanceStoreError):
    """The store has no room left for the image."""


class StorageWriteDenied(GlanceStoreError):
    """The store refused the write (permissions or a read-only mount)."""


class SizeMismatch(GlanceStoreError):
    """The bytes received differ from the declared size."""


class ChecksumMismatch(GlanceStoreError):
    """The md5 of the bytes received differs from the expected checksum."""


class SizeLimitExceeded(GlanceStoreError):
    """The image is larger than the allowed maximum."""


class InvalidRange(GlanceStoreError):
    """A read asked for an offset or length outside the image."""


class UnknownScheme(GlanceStoreError):
    """No configured store handles this location's scheme."""


class UnknownStore(GlanceStoreError):
    """The named store does not exist or is not configured."""


class ReadOnlyStore(GlanceStoreError):
    """The store can serve image data but cannot accept it."""


class BadStoreURI(GlanceStoreError):
    """A location URI, or an image id used to build one, is malformed."""


class InvalidImageId(BadStoreURI):
    """The image id cannot safely name stored data."""


class URLNotAllowed(GlanceStoreError):
    """The URL is refused by [import_filtering_opts] or points inward."""


class RemoteServiceUnavailable(GlanceStoreError):
    """A remote server could not be reached or answered with an error."""


class TooManyRedirects(RemoteServiceUnavailable):
    """A remote server redirected more times than allowed."""


def status_error(status: int | None, doing: str, writing: bool = False, *,
                 service: str, reason: str, full_hint: str,
                 access_hint: str) -> GlanceStoreError:
    """The error for an HTTP storage ``service`` answering ``status``."""
    answered = f"{doing}: {service} answered {reason}"
    if status == 404:
        return NotFound(answered)
    if status in (413, 507):
        return StorageFull(f"{answered}; {full_hint}")
    if status == 416:
        return InvalidRange(answered)
    if status in (401, 403):
        message = f"{answered}; check {access_hint}"
        if writing:
            return StorageWriteDenied(message)
        # StorageWriteDenied names a refused write; a refused read leaves
        # the store unusable.
        return RemoteServiceUnavailable(message)
    return RemoteServiceUnavailable(f"{doing} failed: {reason}")
