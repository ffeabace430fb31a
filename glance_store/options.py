"""Options of the store library, with Glance's names and groups.

They live apart from the drivers so that registering them imports no driver
(a driver module may pull in a heavy client library); each driver's options
sit in their own list below.
"""

from __future__ import annotations

from oslo_config import cfg, types

STORE_GROUP = "glance_store"
IMPORT_FILTERING_GROUP = "import_filtering_opts"

store_opts = [
    cfg.ListOpt(
        "stores", default=["file", "http"],
        help="Storage backends this service may use, by name. 'file' keeps "
             "image data on local (or mounted) disk; 'http' reads images "
             "from remote http(s) URLs and cannot store new data. A backend "
             "missing from this list is never loaded, and locations with its "
             "scheme cannot be read."),
    cfg.StrOpt(
        "default_store", default="file",
        help="The backend that receives uploaded image data when the "
             "request names none. Must be one of 'stores' and writable."),
]

filesystem_opts = [
    cfg.StrOpt(
        "filesystem_store_datadir", default="/var/lib/glance/images",
        help="Directory where the 'file' backend writes image data. It is "
             "created at start-up if missing; the service user needs write "
             "access. Ignored when filesystem_store_datadirs is set."),
    cfg.MultiStrOpt(
        "filesystem_store_datadirs", default=[],
        help="Several directories for the 'file' backend, one per line, as "
             "DIR:PRIORITY (priority is an integer, 0 if omitted). A new "
             "image goes to the highest-priority directory with enough free "
             "space for it; among equal priorities, the one with the most "
             "free space. Existing images stay readable from any directory "
             "listed here. Overrides filesystem_store_datadir."),
    cfg.IntOpt(
        "filesystem_store_file_perm", default=0, min=0,
        help="Permissions given to new image files, written as octal digits "
             "(e.g. 640). 0 keeps the default (0600: readable by the service "
             "user only)."),
    cfg.IntOpt(
        "filesystem_store_chunk_size", default=1024 * 1024, min=4096,
        help="Bytes read from an image file per chunk when serving it. "
             "Larger chunks mean fewer system calls and more memory per "
             "download in flight."),
]

http_opts = [
    cfg.StrOpt(
        "https_ca_certificates_file",
        help="CA bundle used to verify remote https servers the 'http' "
             "backend reads from. Unset means the system's trusted CAs."),
    cfg.BoolOpt(
        "https_insecure", default=False,
        help="Skip certificate verification for remote https servers. "
             "Anyone on the network path can then substitute image data; "
             "use only for testing."),
]

import_filtering_opts = [
    cfg.ListOpt(
        "allowed_schemes", item_type=types.String(), default=["http", "https"],
        help="URL schemes the service may fetch from (copy-from, remote "
             "locations). When not empty, disallowed_schemes is ignored."),
    cfg.ListOpt(
        "disallowed_schemes", item_type=types.String(), default=[],
        help="URL schemes the service must not fetch from. Only consulted "
             "when allowed_schemes is empty."),
    cfg.ListOpt(
        "allowed_hosts", item_type=types.String(), default=[],
        help="Host names or IP addresses the service may fetch from. When "
             "not empty, only these are allowed and disallowed_hosts is "
             "ignored. Hosts that resolve to loopback, link-local, private, "
             "multicast, reserved or unspecified addresses are always "
             "refused unless listed here by name or address."),
    cfg.ListOpt(
        "disallowed_hosts", item_type=types.String(), default=[],
        help="Host names or IP addresses the service must not fetch from. "
             "Only consulted when allowed_hosts is empty."),
    cfg.ListOpt(
        "allowed_ports", item_type=types.Integer(min=1, max=65535),
        default=[80, 443],
        help="Ports the service may fetch from. When not empty, "
             "disallowed_ports is ignored."),
    cfg.ListOpt(
        "disallowed_ports", item_type=types.Integer(min=1, max=65535),
        default=[],
        help="Ports the service must not fetch from. Only consulted when "
             "allowed_ports is empty."),
]


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The options for oslo-config-generator, as [(group, opts)]."""
    return [
        (STORE_GROUP, store_opts + filesystem_opts + http_opts),
        (IMPORT_FILTERING_GROUP, import_filtering_opts),
    ]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [glance_store] and [import_filtering_opts] on ``conf``."""
    for group, opts in list_opts():
        conf.register_opts(opts, group=group)
