"""glance-api: the public API daemon, in the foreground under gunicorn."""

from __future__ import annotations

import sys

from oslo_config import cfg

from glance_api import auth
from glance_api import forwarded
from glance_api import options
from glance_common import config_compat
from glance_common import server

# Sections of a Glance config that glance-registry reads, not glance-api.
REGISTRY_SECTIONS = {"database": "glance-registry and glance-manage"}


def parse_config(argv: list[str]) -> cfg.ConfigOpts:
    """Register glance-api's options and read the command line and config files."""
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    conf(argv, project="glance", prog="glance-api")
    return conf


def main(argv: list[str] | None = None) -> None:
    """Entry point of the glance-api console script."""
    conf = parse_config(sys.argv[1:] if argv is None else argv)
    auth.check_safe_to_serve(conf)
    try:
        options.storage_quota(conf)
        forwarded.parse_networks(conf.trusted_proxies)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    server.setup_logging(conf)
    # A glance-api.conf written for Glance starts this daemon as it is.
    config_compat.adapt_stores(conf)
    config_compat.warn_unused(conf, "glance-api", sibling=REGISTRY_SECTIONS)
    from glance_api.app import create_app
    from glance_api.services import EXTENSION

    holder = {}

    def load():
        holder["app"] = create_app(conf)
        return holder["app"]

    def post_fork(_server, _worker):
        # Threads do not survive fork: each worker starts its own; the
        # registry's compare-and-set keeps them from stepping on each other.
        holder["app"].extensions[EXTENSION].start()

    def worker_exit(_server, _worker):
        holder["app"].extensions[EXTENSION].stop()

    hooks = {
        # The v1 client sends x-image-meta-disk_format: with underscores.
        # The api reads '-' and '_' alike in these names, so gunicorn's
        # merging of the two spellings is harmless here.
        "header_map": "dangerous",
        # Up to image_property_quota property headers, each up to 64 KiB.
        "limit_request_fields": max(200, conf.image_property_quota + 64),
        "limit_request_field_size": 65536 + 1024,
        "post_fork": post_fork,
        "worker_exit": worker_exit,
        # gunicorn believes X-Forwarded-Proto from the same proxies the api
        # believes X-Forwarded-Host from (glance_api.forwarded).
        "forwarded_allow_ips": ",".join(conf.trusted_proxies),
    }
    server.serve(load, conf, hooks)


if __name__ == "__main__":
    main()
