"""The v2 image-* commands about the record: create, update, show, delete,
(de)activate, tags. image-list is in listing.py, data in and out in data_commands.py."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from glance_cli import tables
from glance_cli import transfer
from glance_cli.arguments import positive
from glance_cli.errors import CommandError
from glance_cli.errors import HTTPError
from glance_cli.errors import UsageError
from glance_cli.v2 import arguments
from glance_cli.v2 import views
from glance_cli.v2.api import ImagesV2
from glance_cli.v2.data_commands import check_store


def image_create(api: ImagesV2, args: argparse.Namespace) -> int:
    """Create an image record and, given data, upload it."""
    fields = arguments.image_fields(args)
    source = transfer.data_source(args.file)
    if source is not None:
        arguments.require_formats(fields)
    elif args.store:
        raise UsageError("--store option should only be provided with --file option "
                         "or stdin.")
    check_store(api, args.store)
    image = api.create(fields)
    if source is not None:
        image = _upload_new(api, image, source, args)
    print(views.image(image))
    return 0


def _upload_new(api: ImagesV2, image: dict[str, Any], source: transfer.Source,
                args: argparse.Namespace) -> dict[str, Any]:
    try:
        api.upload(image["id"], transfer.upload_chunks(source, args.progress), source.size,
                   args.store)
    except CommandError as exc:
        raise CommandError("Image %s was created, but uploading its data failed (it is "
                           "left queued: retry with image-upload or delete it): %s"
                           % (image["id"], exc)) from exc
    return api.get(image["id"])


def image_update(api: ImagesV2, args: argparse.Namespace) -> int:
    """Change an image's fields and properties with one JSON-Patch."""
    image = api.find(args.image)
    fields = arguments.image_fields(args)
    operations = [{"op": "remove", "path": pointer(key)}
                  for key in dict.fromkeys(args.remove_property)
                  if key in image and key not in fields]
    for key, value in fields.items():
        op = "replace" if key in arguments.CORE_FIELDS else "add"
        operations.append({"op": op, "path": pointer(key), "value": value})
    if operations:
        image = api.update(image["id"], operations)
    print(views.image(image))
    return 0


def pointer(key: str) -> str:
    """The JSON pointer of a top-level key (RFC 6901 escapes)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def image_show(api: ImagesV2, args: argparse.Namespace) -> int:
    """Show one image."""
    print(views.image(api.find(args.image), args.human_readable, args.max_column_width))
    return 0


def image_delete(api: ImagesV2, args: argparse.Namespace) -> int:
    """Delete images one by one; report each failure, fail if any failed."""
    failed = 0
    for name in args.images:
        try:
            api.delete(api.resolve(name))
        except HTTPError as exc:
            failed += 1
            if exc.status == 404:
                print("No image with an ID of '%s' exists." % name, file=sys.stderr)
            else:
                print("Unable to delete image '%s': %s" % (name, exc), file=sys.stderr)
        except CommandError as exc:
            failed += 1
            print(exc, file=sys.stderr)
    return 1 if failed else 0


def image_deactivate(api: ImagesV2, args: argparse.Namespace) -> int:
    """Block downloads of an image for everyone but admins."""
    api.action(api.resolve(args.image), "deactivate")
    return 0


def image_reactivate(api: ImagesV2, args: argparse.Namespace) -> int:
    """Make a deactivated image downloadable again."""
    api.action(api.resolve(args.image), "reactivate")
    return 0


def image_tag_update(api: ImagesV2, args: argparse.Namespace) -> int:
    """Add a tag to an image and show its tags."""
    image_id = api.resolve(args.image)
    api.add_tag(image_id, args.tag_value)
    print(views.listing([api.get(image_id)], ("ID", "Tags")))
    return 0


def image_tag_delete(api: ImagesV2, args: argparse.Namespace) -> int:
    """Remove a tag from an image."""
    api.remove_tag(api.resolve(args.image), args.tag_value)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add the v2 image-* commands to the shell's parser."""
    add = commands.add_parser
    create = add("image-create", help="Create a new image.", description="Create a new "
                 "image; with --file or data piped on standard input, upload it too.")
    arguments.add_image_options(create, create=True)
    arguments.add_data_options(create)
    arguments.add_store_options(create, many=False)
    create.set_defaults(func=image_create)

    update = add("image-update", help="Update an existing image.")
    update.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
    arguments.add_image_options(update, create=False)
    update.add_argument("--remove-property", metavar="<key>", action="append", default=[],
                        help="A custom property to remove; repeatable.")
    update.set_defaults(func=image_update)

    show = add("image-show", help="Describe an image.")
    show.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
    show.add_argument("--human-readable", action="store_true",
                      help="Print the size as 1.5GB rather than in bytes.")
    show.add_argument("--max-column-width", type=positive, default=tables.DEFAULT_MAX_WIDTH,
                      metavar="<integer>", help="Wrap values wider than this (default 80).")
    show.set_defaults(func=image_show)

    delete = add("image-delete", help="Delete images.")
    delete.add_argument("images", metavar="<IMAGE>", nargs="+",
                        help="Name or ID of an image to delete.")
    delete.set_defaults(func=image_delete)

    for name, func, text in (("image-deactivate", image_deactivate, "Deactivate an image."),
                             ("image-reactivate", image_reactivate, "Reactivate an image.")):
        action = add(name, help=text)
        action.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
        action.set_defaults(func=func)

    for name, func, text in (("image-tag-update", image_tag_update, "Add a tag to an image."),
                             ("image-tag-delete", image_tag_delete,
                              "Remove a tag from an image.")):
        tag = add(name, help=text)
        tag.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
        tag.add_argument("tag_value", metavar="<TAG_VALUE>", help="The tag.")
        tag.set_defaults(func=func)

