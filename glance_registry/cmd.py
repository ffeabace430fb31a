"""``glance-registry``: run the registry daemon in the foreground."""

from __future__ import annotations

import sys

from oslo_config import cfg

from glance_common import options as common_options
from glance_common import server
from glance_registry import options


def load_config(argv: list[str]) -> cfg.ConfigOpts:
    """Parse ``--config-file``/``--config-dir`` into a fresh ConfigOpts."""
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf(argv, project="glance", prog="glance-registry")
    return conf


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    conf = load_config(sys.argv[1:] if argv is None else argv)
    # noauth believes whatever identity a caller claims: loopback only.
    common_options.refuse_open_noauth(conf.auth_strategy, conf)
    server.setup_logging(conf)

    def load_app():
        from glance_registry.app import create_app
        return create_app(conf)

    server.serve(load_app, conf)


if __name__ == "__main__":
    main()
