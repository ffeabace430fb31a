"""One exception root for the package."""

from __future__ import annotations

import inspect

from glance_store import exceptions


def test_every_exception_in_the_module_is_rooted_and_documented():
    for name, value in inspect.getmembers(exceptions, inspect.isclass):
        if value.__module__ == exceptions.__name__:
            assert issubclass(value, exceptions.GlanceStoreError), name
            assert value.__doc__, name
