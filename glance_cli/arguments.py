"""Argument types and the metadata options image-create and image-update share."""

from __future__ import annotations

import argparse
from typing import Any

from glance_cli.transport import encode_header
from glance_common import formats

DISK_FORMATS = ", ".join(formats.DISK_FORMATS)
CONTAINER_FORMATS = ", ".join(formats.CONTAINER_FORMATS)
TRUE_WORDS = ("true", "t", "yes", "y", "1", "on")
FALSE_WORDS = ("false", "f", "no", "n", "0", "off")


def boolean(text: str) -> bool:
    """A strict boolean: True/False, yes/no, 1/0 in any case; anything else is refused."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError("expected True or False, got %r" % text)


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as a pair; the value may itself contain '='."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE, got %r" % text)
    return key, value


def non_negative(text: str) -> int:
    """An integer of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer, got %r" % text) from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected 0 or more, got %d" % value)
    return value


def positive(text: str) -> int:
    """An integer of 1 or more."""
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected 1 or more, got 0")
    return value


def add_download_options(parser: argparse.ArgumentParser, file_metavar: str) -> None:
    """The --file and --progress options of image-download (v1 and v2)."""
    parser.add_argument("--file", metavar=file_metavar,
                        help="File to write (default: standard output, if not a "
                        "terminal). Removed again if the download fails.")
    parser.add_argument("--progress", action="store_true",
                        help="Show a progress bar of the download on stderr.")


def add_metadata_options(parser: argparse.ArgumentParser, create: bool) -> None:
    """The image metadata options of image-create (``create``) and image-update."""
    if create:
        parser.add_argument("--id", help="ID of the new image (a UUID).")
    parser.add_argument("--name", help="Name of the image.")
    parser.add_argument("--store", help="Store to upload the image data to (file, swift...).")
    parser.add_argument("--disk-format", help="Disk format: %s." % DISK_FORMATS)
    parser.add_argument("--container-format",
                        help="Container format: %s." % CONTAINER_FORMATS)
    parser.add_argument("--owner", help="Project that owns the image (admins only).")
    parser.add_argument("--size", type=non_negative,
                        help="Size of the image data in bytes; checked against the data.")
    parser.add_argument("--min-disk", type=non_negative,
                        help="Minimum disk size in GB needed to boot the image.")
    parser.add_argument("--min-ram", type=non_negative,
                        help="Minimum RAM in MB needed to boot the image.")
    parser.add_argument("--location", metavar="URL",
                        help="URL where the image data already is; nothing is copied.")
    parser.add_argument("--file", metavar="PATH",
                        help="Local file with the image data to upload.")
    parser.add_argument("--checksum", help="MD5 of the image data; checked by the server.")
    parser.add_argument("--copy-from", metavar="URL",
                        help="URL the server copies the image data from.")
    parser.add_argument("--is-public", type=boolean, metavar="{True,False}",
                        help="Whether every project can see the image (admins only).")
    parser.add_argument("--is-protected", type=boolean, metavar="{True,False}",
                        help="Whether the image refuses deletion.")
    parser.add_argument("--property", type=key_value, action="append", default=[],
                        metavar="KEY=VALUE",
                        help="A custom property; repeat the option for several.")
    parser.add_argument("--progress", action="store_true",
                        help="Show a progress bar of the upload on stderr.")
    parser.add_argument("--human-readable", action="store_true",
                        help="Print the size as 1.5GB rather than in bytes.")


def metadata_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The ``x-image-meta-*`` fields the options ask to set (None = not given)."""
    return {
        "id": getattr(args, "id", None),
        "name": args.name,
        "store": args.store,
        "disk_format": args.disk_format,
        "container_format": args.container_format,
        "owner": args.owner,
        "size": args.size,
        "min_disk": args.min_disk,
        "min_ram": args.min_ram,
        "location": args.location,
        "checksum": args.checksum,
        "is_public": args.is_public,
        "protected": args.is_protected,
    }


def copy_from_header(args: argparse.Namespace) -> dict[str, str]:
    """The ``x-glance-api-copy-from`` header when ``--copy-from`` was given."""
    if not args.copy_from:
        return {}
    return {"x-glance-api-copy-from": encode_header(args.copy_from)}
