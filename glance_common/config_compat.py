"""Starting from a configuration file written for Glance.

Options keep Glance's names, so most of a glance-api.conf (or a Queens
glance-registry.conf) means the same here. What this module adds:

- ``warn_unused``: one warning per option the files set that this daemon
  does not read (Glance's [wsgi], [cors], [profiler], the cinder and rbd
  store options, ...), instead of silence: an operator moving over sees
  exactly what no longer has an effect. Sections a library reads lazily
  (keystonemiddleware's [keystone_authtoken], oslo.policy's, oslo.messaging's)
  are that library's to judge; sections the sibling daemon reads are
  mentioned once, at info level.
- ``adapt_stores``: store types no driver here provides (rbd, cinder,
  vsphere) are dropped from ``[glance_store] stores`` and
  ``enabled_backends`` with a warning, so the daemon starts with the stores
  it can serve, and a Swift store configured through
  ``swift_store_config_file`` and ``default_swift_reference`` gets its
  account from that file, as Glance's driver did.
"""

from __future__ import annotations

import configparser
import glob
import logging
import os
from collections.abc import Iterable

from oslo_config import cfg

LOG = logging.getLogger(__name__)

# Read by libraries that register their options only when they load.
LIBRARY_SECTIONS = frozenset({
    "keystone_authtoken", "oslo_policy", "oslo_messaging_notifications",
    "oslo_messaging_rabbit", "oslo_messaging_amqp", "oslo_messaging_kafka",
    "oslo_concurrency", "oslo_middleware"})
LIBRARY_DEFAULTS = frozenset({"transport_url", "control_exchange"})
# Read here by adapt_stores, though no registered option carries them.
READ_HERE = frozenset({"swift_store_config_file", "default_swift_reference",
                       "flavor"})
SUPPORTED_STORE_TYPES = frozenset({"file", "http", "swift", "s3"})


def config_files(conf: cfg.ConfigOpts) -> list[str]:
    """The files ``conf`` was read from, in order (config dirs expanded)."""
    files = list(conf.config_file or [])
    for directory in conf.config_dir or []:
        files += sorted(glob.glob(os.path.join(directory, "*.conf")))
    return files


def parsed(files: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """Every section -> option -> values the files set, as oslo.config reads them."""
    sections: dict[str, dict[str, list[str]]] = {}
    for path in files:
        found: dict = {}
        cfg.ConfigParser(path, found).parse()
        for section, options in found.items():
            sections.setdefault(section, {}).update(options)
    return sections


def known_options(conf: cfg.ConfigOpts) -> dict[str, set[str]]:
    """Section -> the option names ``conf`` reads there, deprecated names included."""
    known: dict[str, set[str]] = {}

    def add(group: str, opt: cfg.Opt) -> None:
        known.setdefault(group, set()).add(opt.dest)
        known[group].add(opt.name)
        for old in opt.deprecated_opts:
            known.setdefault(old.group or group, set()).add(old.name or opt.name)

    # oslo.config has no public listing of registered options.
    for info in conf._opts.values():  # noqa: SLF001
        add("DEFAULT", info["opt"])
    for name, group in conf._groups.items():  # noqa: SLF001
        for info in group._opts.values():  # noqa: SLF001
            add(name, info["opt"])
    return known


def warn_unused(conf: cfg.ConfigOpts, prog: str, sibling: dict[str, str] | None = None,
                log: logging.Logger = LOG) -> list[str]:
    """Log one warning per option the config files set that ``prog`` does not
    read; return them as "[section] option" strings."""
    known = known_options(conf)
    sibling = sibling or {}
    unused = []
    for section, options in parsed(config_files(conf)).items():
        if section in LIBRARY_SECTIONS:
            continue
        if section in sibling and section not in known:
            log.info("[%s] is read by %s, not by %s", section, sibling[section], prog)
            continue
        for option in options:
            if section == "DEFAULT" and option in LIBRARY_DEFAULTS:
                continue
            if option in known.get(section, ()) or option in READ_HERE:
                continue
            unused.append("[%s] %s" % (section, option))
            log.warning("%s does not use [%s] %s (set in a configuration file); "
                        "it has no effect here", prog, section, option)
    return unused


def honour_flavor(conf: cfg.ConfigOpts, log: logging.Logger = LOG) -> None:
    """Glance's ``[paste_deploy] flavor = keystone`` means auth_strategy = keystone.

    A Queens glance-registry.conf says so only there; left unread, the
    daemon would start without authentication.
    """
    flavor = (parsed(config_files(conf)).get("paste_deploy", {}).get("flavor")
              or [""])[-1]
    if "keystone" in flavor.lower() and conf.auth_strategy != "keystone":
        conf.set_override("auth_strategy", "keystone")
        log.info("[paste_deploy] flavor = %s: auth_strategy is keystone", flavor)


def adapt_stores(conf: cfg.ConfigOpts, log: logging.Logger = LOG) -> None:
    """Drop store types without a driver here; read swift_store_config_file."""
    group = conf.glance_store
    stores = [s.strip() for s in group.stores if s.strip()]
    kept = [s for s in stores if s in SUPPORTED_STORE_TYPES]
    for dropped in sorted(set(stores) - set(kept)):
        log.warning("[glance_store] stores: %r has no driver here and is left out; "
                    "images whose data it holds cannot be downloaded", dropped)
    if kept != stores:
        conf.set_override("stores", kept, group="glance_store")
    backends = dict(conf.enabled_backends or {})
    usable = {k: v for k, v in backends.items() if v in SUPPORTED_STORE_TYPES}
    for backend in sorted(set(backends) - set(usable)):
        log.warning("[DEFAULT] enabled_backends: store %r (%s) has no driver here "
                    "and is left out; images whose data it holds cannot be "
                    "downloaded", backend, backends[backend])
    if usable != backends:
        conf.set_override("enabled_backends", usable)
    sections = parsed(config_files(conf))
    if usable:
        from glance_store import options as store_options

        for backend, store_type in usable.items():
            store_options.register_backend_opts(conf, backend, store_type)
            if store_type == "swift":
                _swift_reference(conf, backend, sections.get(backend, {}), log)
    elif "swift" in kept:
        _swift_reference(conf, "glance_store", sections.get("glance_store", {}), log)


# Glance's swift reference file keys -> our swift_store_* options.
REFERENCE_KEYS = {"auth_address": "swift_store_auth_address",
                  "user": "swift_store_user", "key": "swift_store_key",
                  "auth_version": "swift_store_auth_version",
                  "user_domain_name": "swift_store_user_domain_name",
                  "project_domain_name": "swift_store_project_domain_name"}


def _swift_reference(conf: cfg.ConfigOpts, group: str,
                     section: dict[str, list[str]], log: logging.Logger) -> None:
    files = section.get("swift_store_config_file")
    if not files or conf[group].swift_store_auth_address:
        return
    path = conf.find_file(files[-1]) or files[-1]
    reference = (section.get("default_swift_reference") or ["ref1"])[-1]
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path) or not parser.has_section(reference):
        raise SystemExit("[%s] swift_store_config_file %s has no [%s] section "
                         "(default_swift_reference)" % (group, path, reference))
    for key, option in REFERENCE_KEYS.items():
        if parser.has_option(reference, key):
            conf.set_override(option, parser.get(reference, key), group=group)
    log.info("[%s] Swift account from %s [%s]", group, path, reference)
