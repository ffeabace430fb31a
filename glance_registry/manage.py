"""``glance-manage``: database administration (db sync, db version, db purge,
db load_metadefs, db import-glance)."""

from __future__ import annotations

import argparse
import sys

from oslo_config import cfg

from glance_registry import db
from glance_registry import metadef_files
from glance_registry import migrations
from glance_registry import options
from glance_registry import purge


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``glance-manage [--config-file F] db {sync,version,purge}``."""
    parser = argparse.ArgumentParser(prog="glance-manage")
    parser.add_argument("--config-file", action="append", default=[],
                        help="Configuration file (may be repeated).")
    parser.add_argument("--config-dir", action="append", default=[],
                        help="Directory of *.conf files (may be repeated).")
    categories = parser.add_subparsers(dest="category", required=True)
    db_parser = categories.add_parser("db", help="Database schema and rows.")
    actions = db_parser.add_subparsers(dest="action", required=True)
    actions.add_parser("sync", help="Apply every pending migration.")
    actions.add_parser("version", help="Print the applied schema version.")
    purge_parser = actions.add_parser(
        "purge", help="Remove rows soft-deleted more than N days ago.")
    purge_parser.add_argument("--age_in_days", "--age-in-days", type=int,
                              default=30, dest="age_in_days",
                              help="Only rows deleted longer ago than this.")
    purge_parser.add_argument("--max_rows", "--max-rows", type=int,
                              default=100, dest="max_rows",
                              help="Purge at most this many images per run.")
    load_parser = actions.add_parser(
        "load_metadefs", help="Load metadata definitions from JSON files; "
                              "namespaces already present are left as they are.")
    load_parser.add_argument("path", nargs="?", default=metadef_files.DEFAULT_DIR,
                             help="Directory of *.json namespace files.")
    load_parser.add_argument("--path", dest="path_option", default=None,
                             help="The directory, as Glance's --path named it.")
    load_parser.add_argument("--overwrite", action="store_true",
                             help="Replace namespaces already present by the files.")
    import_parser = actions.add_parser(
        "import-glance", help="Adopt a Glance deployment's images (metadata only; "
                              "the bytes stay where they are). Safe to run again.")
    import_parser.add_argument("--from", dest="source", required=True,
                               metavar="DATABASE_URL",
                               help="Glance's [database] connection URL.")
    import_parser.add_argument("--dry-run", action="store_true",
                               help="Print what would change; write nothing.")
    return parser


def load_config(args: argparse.Namespace) -> cfg.ConfigOpts:
    """The oslo.config options the files given on the command line set."""
    conf = cfg.ConfigOpts()
    options.register_opts(conf)
    argv = []
    for path in args.config_file:
        argv += ["--config-file", path]
    for path in args.config_dir:
        argv += ["--config-dir", path]
    conf(argv, project="glance", prog="glance-manage")
    return conf


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    conf = load_config(args)
    database = db.make_database(conf.database.connection)
    db.bind_database(database)
    try:
        return _run(args, database)
    finally:
        db.close_all(database)


def _run(args: argparse.Namespace, database) -> int:
    if args.action == "sync":
        if _is_glance_database(database):
            print("This database holds Glance's own schema: point [database] "
                  "connection at a new database and adopt Glance's images with "
                  "'glance-manage db import-glance --from <Glance's URL>'.",
                  file=sys.stderr)
            return 1
        applied = migrations.sync(database)
        print("Applied migrations: %s" % (", ".join(map(str, applied)) or "none"))
        print("Database is at version %d" % migrations.current_version(database))
    elif args.action == "version":
        version = migrations.current_version(database)
        print(version if version is not None else "None")
    elif args.action == "purge":
        if args.age_in_days < 0:
            print("--age_in_days must be 0 or more", file=sys.stderr)
            return 2
        if args.max_rows is not None and args.max_rows < 1:
            print("--max_rows must be 1 or more", file=sys.stderr)
            return 2
        result = purge.purge(database, args.age_in_days, args.max_rows)
        print("Purged %d images" % result.images)
        for table, count in result.children.items():
            print("Purged %d rows from %s" % (count, table))
    elif args.action == "load_metadefs":
        return _load_metadefs(args)
    elif args.action == "import-glance":
        return _import_glance(args, database)
    return 0


def _is_glance_database(database) -> bool:
    # Glance's tables share names with ours: creating ours "if not exists"
    # over them would leave a database neither service can use.
    return (database.table_exists("alembic_version")
            or database.table_exists("migrate_version")) \
        and migrations.current_version(database) is None


def _import_glance(args: argparse.Namespace, database) -> int:
    from glance_registry.glance_import import run
    from glance_registry.glance_import.source import SourceError

    current = migrations.current_version(database)
    if current != migrations.head_version():
        print("This registry's database is at schema version %s, not %d: run "
              "'glance-manage db sync' first." % (current, migrations.head_version()),
              file=sys.stderr)
        return 1
    try:
        report = run.import_glance(args.source, dry_run=args.dry_run)
    except SourceError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    return 0


def _load_metadefs(args: argparse.Namespace) -> int:
    try:
        result = metadef_files.load_directory(args.path_option or args.path,
                                              args.overwrite)
    except metadef_files.LoadError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    for verb, names in (("Loaded", result.loaded), ("Replaced", result.replaced),
                        ("Skipped (already present)", result.skipped)):
        for name in names:
            print("%s namespace %s" % (verb, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
