"""The helpers every driver shares."""

from __future__ import annotations

import pytest

from glance_store import exceptions
from glance_store.driver import check_image_id


@pytest.mark.parametrize("image_id", [
    "71c675ab-d94f-49cd-a114-e12490b328d9", "img", "a.b_c-1"])
def test_a_safe_image_id_is_returned_unchanged(image_id):
    assert check_image_id(image_id, "a file") == image_id


@pytest.mark.parametrize("image_id", [
    "", ".hidden", "-dash", "a/b", "../x", "a b", "x" * 256, None, 7])
def test_an_unsafe_image_id_is_refused_naming_what_it_would_name(image_id):
    with pytest.raises(exceptions.InvalidImageId, match="an S3 object"):
        check_image_id(image_id, "an S3 object")


def test_by_default_a_driver_owns_every_location_of_its_schemes_and_shows_nothing():
    from glance_store.drivers.http import HttpDriver
    from glance_store.url_filter import URLFilter

    driver = HttpDriver(URLFilter())

    assert driver.owns("HTTPS://example.com/image")
    assert not driver.owns("file:///images/x")
    assert not driver.owns(None)
    assert driver.properties() == {}
