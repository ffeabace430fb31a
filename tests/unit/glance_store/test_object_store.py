"""What the swift and s3 drivers share: locations, containers, cleanup."""

from __future__ import annotations

import logging

import pytest

from glance_store import exceptions
from glance_store.drivers import object_store

SCHEMES = ("swift+http", "swift+config")


def parse(location: str) -> tuple[str, str]:
    return object_store.parse_location(
        location, schemes=SCHEMES, form="a swift+http://<base>/<c>/<o>",
        base="auth.example.com/v3", base_name="the auth address",
        any_base=("swift+config",))


def test_a_location_gives_its_container_and_object_unquoted():
    assert parse("swift+http://auth.example.com/v3/glance/a%2Bb") == (
        "glance", "a+b")


def test_credentials_in_a_location_are_ignored_and_never_echoed():
    assert parse("swift+http://user:s3cret@AUTH.example.com/v3/glance/img"
                 ) == ("glance", "img")
    with pytest.raises(exceptions.BadStoreURI) as raised:
        parse("swift+http://user:s3cret@other.example.com/v3/glance/img")

    assert "the auth address 'other.example.com/v3'" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_a_scheme_that_names_its_service_by_reference_skips_the_base():
    assert parse("swift+config://ref1/glance/img") == ("glance", "img")


@pytest.mark.parametrize("location", [
    "s3://auth.example.com/v3/glance/img",
    "swift+http://auth.example.com/v3/glance/",
    "swift+http://auth.example.com/v3/glance/img?x=1",
    "swift+http://auth.example.com/v2/glance/img",
])
def test_foreign_or_malformed_locations_are_refused(location):
    with pytest.raises(exceptions.BadStoreURI):
        parse(location)


def missing() -> None:
    raise exceptions.NotFound("no such container")


def test_a_missing_container_is_created_only_when_allowed():
    created = []

    object_store.ensure_container(missing, lambda: created.append(1), "no")
    object_store.ensure_container(lambda: None, created.append, "no")
    with pytest.raises(exceptions.StorageWriteDenied, match="set the opt"):
        object_store.ensure_container(missing, None, "set the opt")

    assert created == [1]


def test_an_object_that_is_found_is_a_duplicate():
    with object_store.expect_absent("taken"):
        missing()
    with pytest.raises(exceptions.Duplicate, match="taken"):
        with object_store.expect_absent("taken"):
            pass
    with pytest.raises(exceptions.StorageFull):
        with object_store.expect_absent("taken"):
            raise exceptions.StorageFull("full")


def test_cleanup_logs_a_store_error_but_lets_others_through(caplog):
    with caplog.at_level(logging.ERROR):
        with object_store.cleanup("could not remove x"):
            raise exceptions.RemoteServiceUnavailable("503")

    assert "could not remove x: 503" in caplog.text
    with pytest.raises(KeyboardInterrupt):
        with object_store.cleanup("could not remove x"):
            raise KeyboardInterrupt
