"""Option names are a contract with operators' config files: pin them."""

from __future__ import annotations

from oslo_config import cfg

import glance_store
from glance_store import options


def test_option_names_are_pinned():
    assert {group: sorted(opt.name for opt in opts)
            for group, opts in options.list_opts()} == {
        "glance_store": [
            "default_store", "filesystem_store_chunk_size",
            "filesystem_store_datadir", "filesystem_store_datadirs",
            "filesystem_store_file_perm", "https_ca_certificates_file",
            "https_insecure", "stores"],
        "import_filtering_opts": [
            "allowed_hosts", "allowed_ports", "allowed_schemes",
            "disallowed_hosts", "disallowed_ports", "disallowed_schemes"],
    }


def test_every_option_has_help_an_operator_can_act_on():
    for _, opts in options.list_opts():
        for opt in opts:
            assert len(opt.help) > 40, opt.name


def test_defaults_match_glance():
    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    conf([])

    assert conf.glance_store.stores == ["file", "http"]
    assert conf.glance_store.default_store == "file"
    assert conf.glance_store.filesystem_store_datadir == \
        "/var/lib/glance/images"
    assert conf.import_filtering_opts.allowed_schemes == ["http", "https"]
    assert conf.import_filtering_opts.allowed_ports == [80, 443]
    assert conf.import_filtering_opts.allowed_hosts == []


def test_registering_twice_is_harmless():
    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    glance_store.register_opts(conf)
    conf([])

    assert conf.glance_store.default_store == "file"


def test_an_operators_config_file_is_read(tmp_path):
    path = tmp_path / "glance-api.conf"
    path.write_text("[glance_store]\nstores = file\n"
                    "filesystem_store_datadirs = /a:10\n"
                    "filesystem_store_datadirs = /b:20\n"
                    "[import_filtering_opts]\nallowed_ports = 80,8080\n")
    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    conf(["--config-file", str(path)])

    assert conf.glance_store.stores == ["file"]
    assert conf.glance_store.filesystem_store_datadirs == ["/a:10", "/b:20"]
    assert conf.import_filtering_opts.allowed_ports == [80, 8080]
