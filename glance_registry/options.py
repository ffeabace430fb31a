"""The registry's options, with Glance's (and oslo.db's) names."""

from __future__ import annotations

from oslo_config import cfg

from glance_common import options as common_options

DEFAULT_PORT = 9191

database_opts = [
    cfg.StrOpt(
        "connection", secret=True,
        default="sqlite:////var/lib/glance/glance.sqlite",
        help="URL of the metadata database. SQLite (embedded, one host): "
             "sqlite:////var/lib/glance/glance.sqlite (four slashes for an "
             "absolute path). PostgreSQL (production, several registries "
             "sharing one database): "
             "postgresql://USER:PASSWORD@HOST:5432/glance. Run "
             "'glance-manage db sync' after changing it."),
    cfg.IntOpt(
        "max_pool_size", default=10, min=1,
        help="PostgreSQL only: most connections each worker process keeps "
             "open. Give it at least the 'threads' value, or threads wait "
             "for a free connection; workers x max_pool_size must stay "
             "below the server's max_connections."),
    cfg.IntOpt(
        "pool_timeout", default=30, min=1,
        help="PostgreSQL only: seconds a request waits for a free pooled "
             "connection before failing with an error."),
    cfg.IntOpt(
        "connection_recycle_time", default=3600, min=1,
        help="PostgreSQL only: seconds after which a pooled connection is "
             "closed and replaced, so firewalls and proxies that drop idle "
             "connections do not hand out dead ones."),
]

api_opts = [
    cfg.StrOpt("auth_strategy", default="noauth", choices=["noauth", "keystone"],
               help="'noauth' believes the X-Glance-Context-* identity headers "
                    "of anyone who can reach the registry: bind it to "
                    "loopback. 'keystone' validates every caller's token "
                    "with [keystone_authtoken] and believes the forwarded "
                    "identity only from a caller holding the 'service' or "
                    "'admin' role (glance-api's service user)."),
    cfg.IntOpt("limit_param_default", default=25, min=1,
               help="Images per list page when the caller gives no limit."),
    cfg.IntOpt("api_limit_max", default=1000, min=1,
               help="Largest list page served; bigger limits are silently "
                    "reduced to it."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every registry option on ``conf``."""
    common_options.register_server_opts(conf, DEFAULT_PORT)
    conf.register_opts(api_opts + common_options.noauth_opts())
    conf.register_opts(database_opts, group="database")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """The options by group, for oslo-config-generator."""
    return [
        ("DEFAULT", common_options.server_opts(DEFAULT_PORT) + api_opts
         + common_options.noauth_opts()),
        ("database", database_opts),
    ]
