"""Option names are a contract with operators' config files: pin them."""

from __future__ import annotations

from oslo_config import cfg

import glance_store
from glance_store import options


def test_option_names_are_pinned():
    assert {group: sorted(opt.name for opt in opts)
            for group, opts in options.list_opts()} == {
        "DEFAULT": ["enabled_backends", "node_staging_uri"],
        "glance_store": [
            "default_backend", "default_store", "filesystem_store_chunk_size",
            "filesystem_store_datadir", "filesystem_store_datadirs",
            "filesystem_store_file_perm", "https_ca_certificates_file",
            "https_insecure", "s3_store_access_key", "s3_store_bucket",
            "s3_store_bucket_url_format", "s3_store_cacert",
            "s3_store_create_bucket_on_put", "s3_store_host",
            "s3_store_large_object_chunk_size", "s3_store_large_object_size",
            "s3_store_region_name", "s3_store_secret_key", "stores",
            "swift_store_auth_address", "swift_store_auth_insecure",
            "swift_store_auth_version", "swift_store_cacert",
            "swift_store_container", "swift_store_create_container_on_put",
            "swift_store_endpoint", "swift_store_endpoint_type",
            "swift_store_key", "swift_store_large_object_chunk_size",
            "swift_store_large_object_size",
            "swift_store_project_domain_name", "swift_store_region",
            "swift_store_retry_get_count", "swift_store_service_type",
            "swift_store_user", "swift_store_user_domain_name"],
        "import_filtering_opts": [
            "allowed_hosts", "allowed_ports", "allowed_schemes",
            "disallowed_hosts", "disallowed_ports", "disallowed_schemes"],
        "os_glance_staging_store": ["filesystem_store_datadir"],
        "os_glance_tasks_store": ["filesystem_store_datadir"],
    }
    assert sorted(opt.name for opt in options.backend_section_opts) == [
        "store_description", "weight"]


def test_every_option_has_help_an_operator_can_act_on():
    for _, opts in options.list_opts() + [("backend", options.backend_section_opts)]:
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
    assert conf.glance_store.swift_store_container == "glance"
    assert conf.glance_store.swift_store_large_object_size == 5120
    assert conf.glance_store.swift_store_large_object_chunk_size == 200
    assert conf.glance_store.swift_store_create_container_on_put is False
    assert conf.glance_store.s3_store_large_object_size == 100
    assert conf.glance_store.s3_store_large_object_chunk_size == 10
    assert conf.glance_store.s3_store_bucket_url_format == "auto"
    assert conf.import_filtering_opts.allowed_schemes == ["http", "https"]
    assert conf.import_filtering_opts.allowed_ports == [80, 443]
    assert conf.import_filtering_opts.allowed_hosts == []
    assert conf.enabled_backends is None
    assert conf.node_staging_uri == "file:///tmp/staging/"
    assert conf.glance_store.default_backend is None
    assert conf.os_glance_staging_store.filesystem_store_datadir == \
        "/var/lib/glance/staging"
    assert conf.os_glance_tasks_store.filesystem_store_datadir == \
        "/var/lib/glance/tasks_work_dir"


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
