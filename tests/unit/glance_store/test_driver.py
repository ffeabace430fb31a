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
