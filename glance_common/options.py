"""Options both daemons take, with Glance's names."""

from __future__ import annotations

import ipaddress
import os

from oslo_config import cfg


def server_opts(default_port: int) -> list[cfg.Opt]:
    """The [DEFAULT] options of a daemon that listens on ``default_port``."""
    return [
        cfg.HostAddressOpt(
            "bind_host", default="127.0.0.1",
            help="Address to listen on. Loopback by default: expose the "
                 "daemon deliberately, behind TLS and authentication."),
        cfg.PortOpt("bind_port", default=default_port,
                    help="TCP port to listen on."),
        cfg.IntOpt("workers", default=os.cpu_count() or 1, min=1,
                   sample_default="<number of CPUs>",
                   help="Number of worker processes (default: one per CPU)."),
        cfg.IntOpt("threads", default=8, min=1,
                   help="Threads per worker process; each serves one request "
                        "at a time, so a slow transfer never blocks a process."),
        cfg.IntOpt("client_socket_timeout", default=900, min=1,
                   help="Seconds an idle keep-alive connection is kept open. "
                        "Must exceed clients' retry pause (about 1 s)."),
        cfg.StrOpt("cert_file",
                   help="PEM certificate file; with key_file, serve HTTPS."),
        cfg.StrOpt("key_file", help="PEM private key for cert_file."),
        cfg.StrOpt("log_file",
                   help="Write the log to this file instead of standard error."),
        cfg.BoolOpt("debug", default=False, help="Log at DEBUG level."),
    ]


def noauth_opts() -> list[cfg.Opt]:
    """The switch that lets a noauth daemon listen beyond loopback."""
    return [cfg.BoolOpt(
        "allow_insecure_noauth", default=False,
        help="Let auth_strategy = noauth listen on a non-loopback address. "
             "Anyone who reaches the port is then an admin.")]


def refuse_open_noauth(strategy: str, conf) -> None:
    """Stop a noauth daemon (whoever calls is believed) from listening beyond loopback."""
    if strategy != "noauth" or conf.allow_insecure_noauth:
        return
    try:
        loopback = ipaddress.ip_address(conf.bind_host).is_loopback
    except ValueError:
        loopback = conf.bind_host == "localhost"
    if not loopback:
        raise SystemExit(
            "Refusing to serve auth_strategy = noauth on %s: anyone who reaches "
            "it would be an admin. Bind to 127.0.0.1, configure auth_strategy = "
            "keystone, or set allow_insecure_noauth = true if this is really "
            "intended." % conf.bind_host)


def register_server_opts(conf: cfg.ConfigOpts, default_port: int) -> None:
    """Register server_opts on ``conf``."""
    conf.register_opts(server_opts(default_port))
