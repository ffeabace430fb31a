"""Glance's own configuration files start these daemons: what is not used is
named once, what cannot be served is left out, nothing fails."""

from __future__ import annotations

import logging
import textwrap

from glance_api.cmd import parse_config
from glance_common import config_compat
from glance_registry.cmd import API_SECTIONS
from glance_registry.cmd import load_config

GLANCE_API_CONF = """\
[DEFAULT]
show_image_direct_url = True
enabled_import_methods = [glance-direct,web-download]
transport_url = rabbit://guest:guest@127.0.0.1:5672/
workers = 2
{backends}
[database]
connection = mysql+pymysql://glance:secret@127.0.0.1/glance?charset=utf8

[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini

[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1/identity
auth_type = password
username = glance

[oslo_policy]
enforce_new_defaults = True

[image_format]
disk_formats = ami,ari,aki,vhd,vhdx,vmdk,raw,qcow2,vdi,iso,ploop

[import_filtering_opts]
allowed_ports = 80,443

[wsgi]
python_interpreter = /usr/bin/python3

[profiler]
enabled = False

{stores}
"""

SINGLE = """\
[glance_store]
stores = file,http,rbd
default_store = file
filesystem_store_datadir = {datadir}
rbd_store_pool = images
"""

MULTI = """\
[glance_store]
default_backend = fast

[fast]
filesystem_store_datadir = {datadir}
store_description = Local disks

[far]
swift_store_config_file = {swift_conf}
default_swift_reference = ref2
swift_store_container = glance
swift_store_create_container_on_put = True

[ceph]
rbd_store_pool = images
"""


def _api_conf(tmp_path, multi: bool = False):
    swift_conf = tmp_path / "glance-swift.conf"
    swift_conf.write_text(textwrap.dedent("""\
        [ref1]
        auth_address = http://wrong.example/v3
        user = x:y
        key = z
        [ref2]
        auth_address = http://127.0.0.1:5000/v3
        user = service:glance-swift
        key = swift-secret
        user_domain_name = Default
        """))
    stores = (MULTI if multi else SINGLE).format(datadir=tmp_path / "images",
                                                 swift_conf=swift_conf)
    backends = ("enabled_backends = fast:file, far:swift, ceph:rbd\n" if multi else "")
    path = tmp_path / "glance-api.conf"
    path.write_text(GLANCE_API_CONF.format(stores=stores, backends=backends))
    return parse_config(["--config-file", str(path)])


def test_every_option_not_used_is_named_once(tmp_path, caplog):
    conf = _api_conf(tmp_path)
    with caplog.at_level(logging.INFO):
        unused = config_compat.warn_unused(conf, "glance-api",
                                           sibling={"database": "glance-registry"})
    assert {"[wsgi] python_interpreter", "[profiler] enabled",
            "[paste_deploy] config_file", "[glance_store] rbd_store_pool"} <= set(unused)
    for used in ("[DEFAULT] show_image_direct_url", "[DEFAULT] workers",
                 "[DEFAULT] transport_url", "[image_format] disk_formats",
                 "[glance_store] filesystem_store_datadir", "[paste_deploy] flavor",
                 "[import_filtering_opts] allowed_ports"):
        assert used not in unused
    # Libraries judge their own sections; the registry's is mentioned once.
    assert not any(u.startswith(("[keystone_authtoken]", "[oslo_policy]", "[database]"))
                   for u in unused)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(unused)
    assert any("[database] is read by glance-registry" in r.getMessage()
               for r in caplog.records)


def test_a_store_without_a_driver_is_left_out_not_fatal(tmp_path, caplog):
    conf = _api_conf(tmp_path)
    config_compat.adapt_stores(conf)
    assert conf.glance_store.stores == ["file", "http"]
    assert any("'rbd' has no driver here" in r.getMessage() for r in caplog.records)


def test_multi_store_config_keeps_its_stores_and_reads_the_swift_reference(tmp_path):
    conf = _api_conf(tmp_path, multi=True)
    config_compat.adapt_stores(conf)
    assert conf.enabled_backends == {"fast": "file", "far": "swift"}
    far = conf.far
    assert (far.swift_store_auth_address, far.swift_store_user, far.swift_store_key) == (
        "http://127.0.0.1:5000/v3", "service:glance-swift", "swift-secret")
    assert far.swift_store_container == "glance"
    import glance_store

    stores = glance_store.Stores.from_conf(conf)
    assert stores.store_names == ("fast", "far") and stores.default_store == "fast"


def test_a_queens_registry_conf_runs_behind_keystone(tmp_path):
    path = tmp_path / "glance-registry.conf"
    path.write_text(textwrap.dedent("""\
        [DEFAULT]
        bind_host = 127.0.0.1
        bind_port = 9191
        api_limit_max = 1000
        limit_param_default = 25
        [database]
        connection = postgresql://glance@127.0.0.1/glance
        [keystone_authtoken]
        auth_type = password
        [paste_deploy]
        flavor = keystone
        [profiler]
        enabled = false
        """))
    conf = load_config(["--config-file", str(path)])
    config_compat.honour_flavor(conf)
    assert conf.auth_strategy == "keystone"
    unused = config_compat.warn_unused(conf, "glance-registry", sibling=API_SECTIONS)
    assert "[profiler] enabled" in unused
    assert "[DEFAULT] bind_port" not in unused and "[paste_deploy] flavor" not in unused
