"""glance-api's option helpers: sizes in Glance's units, the auth strategy."""

from __future__ import annotations

import pytest

from glance_api import options


@pytest.mark.parametrize("text, size", [
    ("0", 0), ("1024", 1024), ("10GB", 10 * 1024 ** 3), ("5 MB", 5 * 1024 ** 2),
    ("3kb", 3072), ("7B", 7), ("1TB", 1024 ** 4)])
def test_sizes_take_glance_units(text, size):
    assert options.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "-5", "1.5GB", "10PB", "GB"])
def test_a_malformed_size_says_what_is_accepted(text):
    with pytest.raises(ValueError, match="e.g. 10GB"):
        options.parse_size(text)


def test_glances_paste_deploy_flavor_means_keystone(make_conf):
    assert options.strategy(make_conf({"auth_strategy": "noauth"})) == "noauth"
    conf = make_conf({"auth_strategy": "noauth"}, paste_deploy={"flavor": "keystone"})
    assert options.strategy(conf) == "keystone"
