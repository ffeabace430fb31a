"""``glance-registry``: run the registry daemon in the foreground."""

from __future__ import annotations

import sys

from oslo_config import cfg

from glance_common import config_compat
from glance_common import options as common_options
from glance_common import server
from glance_registry import options

# Sections of a Glance config that glance-api reads, not glance-registry.
API_SECTIONS = dict.fromkeys(
    ("glance_store", "image_format", "import_filtering_opts",
     "os_glance_staging_store", "os_glance_tasks_store", "taskflow_executor",
     "task", "wsgi", "image_import_opts"), "glance-api")


def load_config(argv: list[str]) -> cfg.ConfigOpts:
    """Parse ``--config-file``/``--config-dir`` into a fresh ConfigOpts."""
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf(argv, project="glance", prog="glance-registry")
    return conf


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    conf = load_config(sys.argv[1:] if argv is None else argv)
    config_compat.honour_flavor(conf)
    # noauth believes whatever identity a caller claims: loopback only.
    common_options.refuse_open_noauth(conf.auth_strategy, conf)
    server.setup_logging(conf)
    config_compat.warn_unused(conf, "glance-registry", sibling=API_SECTIONS)

    def load_app():
        from glance_registry.app import create_app
        return create_app(conf)

    server.serve(load_app, conf)


if __name__ == "__main__":
    main()
