"""One exception root for the package."""

from __future__ import annotations

import inspect

from glance_store import exceptions

API_VISIBLE = [
    "GlanceStoreError", "NotFound", "StorageFull", "StorageWriteDenied",
    "SizeMismatch", "ChecksumMismatch", "SizeLimitExceeded", "UnknownScheme",
    "UnknownStore", "ReadOnlyStore", "BadStoreURI", "URLNotAllowed",
    "RemoteServiceUnavailable"]


def test_every_exception_the_api_maps_exists_under_the_root():
    for name in API_VISIBLE:
        assert issubclass(getattr(exceptions, name),
                          exceptions.GlanceStoreError)


def test_every_exception_in_the_module_is_rooted_and_documented():
    for name, value in inspect.getmembers(exceptions, inspect.isclass):
        if value.__module__ == exceptions.__name__:
            assert issubclass(value, exceptions.GlanceStoreError), name
            assert value.__doc__, name
