"""The v2 image options (glanceclient 4's spellings) and what they ask the server for."""

from __future__ import annotations

import argparse
from typing import Any

from glance_cli.arguments import boolean
from glance_cli.arguments import key_value
from glance_cli.arguments import non_negative
from glance_cli.errors import UsageError
from glance_common import formats

VISIBILITIES = ("public", "private", "shared", "community")
# Writable fields of the v2 image schema, each with its option; --hidden
# stands for os_hidden, as in glanceclient.
STRING_FIELDS = ("name", "owner", "architecture", "os_distro", "os_version",
                 "kernel_id", "ramdisk_id", "instance_uuid")
CORE_FIELDS = ("id", "name", "visibility", "protected", "os_hidden", "disk_format",
               "container_format", "min_disk", "min_ram", "owner", "tags",
               *STRING_FIELDS[2:])


def add_image_options(parser: argparse.ArgumentParser, create: bool) -> None:
    """The image field options of image-create (``create``) and image-update."""
    add = parser.add_argument
    if create:
        add("--id", metavar="<ID>", help="ID of the new image (a UUID).")
    add("--name", metavar="<NAME>", help="Descriptive name of the image.")
    add("--visibility", choices=VISIBILITIES,
        help="Who can see the image: %s (public: admins only)." % ", ".join(VISIBILITIES))
    add("--protected", type=boolean, metavar="[True|False]",
        help="If true, the image cannot be deleted.")
    add("--hidden", dest="os_hidden", type=boolean, metavar="[True|False]",
        help="If true, the image is left out of default image lists.")
    add("--disk-format", metavar="<DISK_FORMAT>",
        help="Format of the disk: %s." % ", ".join(formats.DISK_FORMATS))
    add("--container-format", metavar="<CONTAINER_FORMAT>",
        help="Format of the container: %s." % ", ".join(formats.CONTAINER_FORMATS))
    add("--min-disk", type=non_negative, metavar="<MIN_DISK>",
        help="Disk space in GB needed to boot the image.")
    add("--min-ram", type=non_negative, metavar="<MIN_RAM>",
        help="RAM in MB needed to boot the image.")
    add("--owner", metavar="<OWNER>", help="Project that owns the image (admins only).")
    if create:
        add("--tags", nargs="+", metavar="<TAGS>", help="Tags of the image.")
    for field in STRING_FIELDS[2:]:
        add("--" + field.replace("_", "-"), metavar="<%s>" % field.upper(),
            help="The image's %s property." % field)
    add("--property", type=key_value, action="append", default=[], metavar="<key=value>",
        help="A custom property; repeat the option for several.")


def add_data_options(parser: argparse.ArgumentParser, what: str = "uploaded") -> None:
    """``--file`` and ``--progress``."""
    parser.add_argument("--file", metavar="<FILE>",
                        help="Local file with the image data to be %s; without it, data "
                        "piped on standard input is read." % what)
    parser.add_argument("--progress", action="store_true",
                        help="Show a progress bar on stderr.")


def add_store_options(parser: argparse.ArgumentParser, many: bool) -> None:
    """``--store`` (one target store) and, for imports (``many``), --stores/--all-stores."""
    parser.add_argument("--store", metavar="<STORE>",
                        help="Store to write the data to (see stores-info).")
    if not many:
        return
    parser.add_argument("--stores", metavar="<STORES>",
                        help="Comma-separated stores to import the data to.")
    parser.add_argument("--all-stores", type=boolean, metavar="[True|False]",
                        help="Import the data to every store.")
    parser.add_argument("--allow-failure", type=boolean, metavar="[True|False]",
                        default=True,
                        help="With --stores or --all-stores: True (default) keeps the "
                        "stores that succeeded if others fail; False reverts the import.")


def image_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The image fields the options ask to set, custom properties included."""
    fields = {name: getattr(args, name, None) for name in CORE_FIELDS}
    fields = {name: value for name, value in fields.items() if value is not None}
    for key, value in args.property:
        fields[key] = value
    return fields


def require_formats(image: dict[str, Any]) -> None:
    """Refuse data for an image that lacks a disk or container format."""
    missing = ["--" + key.replace("_", "-") for key in ("container_format", "disk_format")
               if not image.get(key)]
    if missing:
        raise UsageError("Must provide %s when using --file." % ", ".join(missing))
