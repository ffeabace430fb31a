"""The api's one exception -> status map."""

from __future__ import annotations

import pytest

from glance_api import errors
from glance_api import registry_client
from glance_store import exceptions as store_exc


def test_every_mapped_store_failure_is_a_store_exception():
    for cls, code in errors.STORE_STATUS:
        assert issubclass(cls, store_exc.GlanceStoreError), cls
        assert 400 <= code < 600


@pytest.mark.parametrize("exc, code", [
    (store_exc.StorageFull("full"), 413), (store_exc.ChecksumMismatch("x"), 400),
    (store_exc.InvalidRange("x"), 416), (store_exc.GlanceStoreError("?"), 500)])
def test_a_store_failure_is_answered_with_its_status(exc, code):
    assert errors.store_status(exc) == code


@pytest.mark.parametrize("cls, code", [
    (registry_client.NotFound, 404), (registry_client.Conflict, 409),
    (registry_client.QuotaExceeded, 413), (registry_client.BadRequest, 400),
    (registry_client.Forbidden, 403), (registry_client.Unavailable, 503),
    (registry_client.Error, 500)])
def test_a_registry_failure_is_answered_with_its_status(cls, code):
    assert errors.registry_status(cls("why")) == code
