"""The v1 image-* commands: parse options, call the API, print a table."""

from __future__ import annotations

import argparse
import sys

from glance_cli import arguments
from glance_cli import metadata
from glance_cli import tables
from glance_cli import transfer
from glance_cli.errors import CommandError
from glance_cli.errors import UsageError
from glance_cli.images import DEFAULT_PAGE_SIZE
from glance_cli.images import ImagesAPI

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at")


def image_create(api: ImagesAPI, args: argparse.Namespace) -> int:
    """Create an image: reserve it, register a location, copy it, or upload data."""
    given = [opt for opt, value in (("--file", args.file), ("--location", args.location),
                                    ("--copy-from", args.copy_from)) if value]
    if len(given) > 1:
        raise UsageError("give only one image source, not %s" % " and ".join(given))
    source = transfer.file_source(args.file) if args.file else None
    if source is None and not given:
        # As the classic client: data piped in is uploaded, a terminal is not read.
        source = transfer.stdin_source()
    fields = arguments.metadata_fields(args)
    body = None
    if source is not None:
        _require_formats(args.disk_format, args.container_format)
        if fields["size"] is None and source.size is not None:
            fields["size"] = source.size
        body = transfer.upload_chunks(source, args.progress)
    headers = metadata.to_headers(fields, dict(args.property))
    headers.update(arguments.copy_from_header(args))
    image = api.create(headers, body)
    print(tables.image_table(image, args.human_readable))
    return 0


def image_update(api: ImagesAPI, args: argparse.Namespace) -> int:
    """Change an image's metadata; upload data to it while it is queued."""
    image = api.find(args.image)
    fields = arguments.metadata_fields(args)
    body = None
    if args.file:
        if image.get("status") != "queued":
            raise CommandError("Unable to upload image data to an image which is %s."
                               % image.get("status"))
        _require_formats(args.disk_format or image.get("disk_format"),
                         args.container_format or image.get("container_format"))
        source = transfer.file_source(args.file)
        if fields["size"] is None and source.size is not None:
            fields["size"] = source.size
        body = transfer.upload_chunks(source, args.progress)
    headers = metadata.to_headers(fields, dict(args.property))
    headers.update(arguments.copy_from_header(args))
    updated = api.update(image["id"], headers, args.purge_props, body)
    print(tables.image_table(updated, args.human_readable))
    return 0


def image_list(api: ImagesAPI, args: argparse.Namespace) -> int:
    """List the images the caller may see, filtered on the server."""
    filters = [(key, value) for key, value in (
        ("name", args.name), ("status", args.status),
        ("container_format", args.container_format), ("disk_format", args.disk_format),
        ("size_min", args.size_min), ("size_max", args.size_max),
        ("changes-since", args.changes_since)) if value is not None]
    if args.is_public is not None:
        filters.append(("is_public", "True" if args.is_public else "False"))
    elif args.all_tenants or args.owner:
        # Only is_public=None shows an admin every project's images.
        filters.append(("is_public", "None"))
    filters += [("property-" + key, value) for key, value in args.property_filter]
    images = api.list(filters, args.page_size, args.sort_key, args.sort_dir)
    if args.owner:
        # The v1 api has no owner filter; the classic client filtered here too.
        images = (image for image in images if image.get("owner") == args.owner)
    print(tables.images_table(list(images), args.human_readable))
    return 0


def image_show(api: ImagesAPI, args: argparse.Namespace) -> int:
    """Show one image's metadata."""
    print(tables.image_table(api.find(args.image), args.human_readable,
                             args.max_column_width))
    return 0


def image_download(api: ImagesAPI, args: argparse.Namespace) -> int:
    """Download an image's data to a file or stdout, checking its MD5."""
    transfer.check_destination(args.file)
    image = api.find(args.image)
    with api.download(image["id"]) as resp:
        transfer.save_download(resp, args.file, args.progress)
    return 0


def image_delete(api: ImagesAPI, args: argparse.Namespace) -> int:
    """Delete images one by one; report each failure, fail if any failed."""
    failed = 0
    for name in args.images:
        try:
            image = api.find(name)
            if image.get("deleted") or image.get("status") == "deleted":
                raise CommandError("No image with an ID of '%s' exists." % image["id"])
            api.delete(image["id"])
        except CommandError as exc:
            failed += 1
            print("Unable to delete image '%s': %s" % (name, exc), file=sys.stderr)
    return 1 if failed else 0


def _require_formats(disk_format: str | None, container_format: str | None) -> None:
    missing = [opt for opt, value in (("--disk-format", disk_format),
                                      ("--container-format", container_format)) if not value]
    if missing:
        raise UsageError("image data needs %s" % " and ".join(missing))


def register(commands: argparse._SubParsersAction) -> None:
    """Add the image-* commands to the shell's parser."""
    create = commands.add_parser("image-create", help="Create a new image.",
                                 description="Create a new image. Without --file, "
                                 "--location or --copy-from, data piped on standard "
                                 "input is uploaded.")
    arguments.add_metadata_options(create, create=True)
    create.set_defaults(func=image_create)

    update = commands.add_parser("image-update", help="Update an image.")
    update.add_argument("image", metavar="IMAGE", help="Name or ID of the image.")
    arguments.add_metadata_options(update, create=False)
    update.add_argument("--purge-props", action="store_true",
                        help="Delete the custom properties not given with --property.")
    update.set_defaults(func=image_update)

    listing = commands.add_parser("image-list", help="List images.")
    listing.add_argument("--name", help="Only images with this name.")
    listing.add_argument("--status", help="Only images in this status.")
    listing.add_argument("--container-format", help="Only images of this container format.")
    listing.add_argument("--disk-format", help="Only images of this disk format.")
    listing.add_argument("--size-min", type=arguments.non_negative, metavar="BYTES",
                         help="Only images of at least this size.")
    listing.add_argument("--size-max", type=arguments.non_negative, metavar="BYTES",
                         help="Only images of at most this size.")
    listing.add_argument("--property-filter", type=arguments.key_value, action="append",
                         default=[], metavar="KEY=VALUE",
                         help="Only images with this custom property; repeatable.")
    listing.add_argument("--changes-since", metavar="ISO8601",
                         help="Only images changed after this time, deleted ones "
                         "included (e.g. 2026-12-01T00:00:00).")
    listing.add_argument("--page-size", type=arguments.positive, default=DEFAULT_PAGE_SIZE,
                         help="Images fetched per request (default %d)." % DEFAULT_PAGE_SIZE)
    listing.add_argument("--sort-key", choices=SORT_KEYS, default="name",
                         help="Field to sort by (default name).")
    listing.add_argument("--sort-dir", choices=("asc", "desc"), default="asc",
                         help="Sort direction (default asc).")
    listing.add_argument("--is-public", type=arguments.boolean, metavar="{True,False}",
                         help="Only public (True) or only non-public (False) images.")
    listing.add_argument("--owner", metavar="PROJECT",
                         help="Only images owned by this project (admins see all).")
    listing.add_argument("--all-tenants", action="store_true",
                         help="Images of every project (admins only).")
    listing.add_argument("--human-readable", action="store_true",
                         help="Print sizes as 1.5GB rather than in bytes.")
    listing.set_defaults(func=image_list)

    show = commands.add_parser("image-show", help="Describe an image.")
    show.add_argument("image", metavar="IMAGE", help="Name or ID of the image.")
    show.add_argument("--human-readable", action="store_true",
                      help="Print the size as 1.5GB rather than in bytes.")
    show.add_argument("--max-column-width", type=arguments.positive,
                      default=tables.DEFAULT_MAX_WIDTH, metavar="<integer>",
                      help="Wrap values wider than this (default 80).")
    show.set_defaults(func=image_show)

    download = commands.add_parser("image-download", help="Download an image's data.",
                                   description="Download an image's data, checking it "
                                   "against the image's MD5 checksum.")
    download.add_argument("image", metavar="IMAGE", help="Name or ID of the image.")
    arguments.add_download_options(download, "PATH")
    download.set_defaults(func=image_download)

    delete = commands.add_parser("image-delete", help="Delete images.")
    delete.add_argument("images", metavar="IMAGE", nargs="+",
                        help="Name or ID of an image to delete.")
    delete.set_defaults(func=image_delete)
