"""The v2 image-list command: filters, sorting and paging done by the server."""

from __future__ import annotations

import argparse

from glance_cli.arguments import boolean
from glance_cli.arguments import key_value
from glance_cli.arguments import non_negative
from glance_cli.arguments import positive
from glance_cli.errors import UsageError
from glance_cli.v2 import arguments
from glance_cli.v2 import views
from glance_cli.v2.api import DEFAULT_PAGE_SIZE
from glance_cli.v2.api import ImagesV2

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at")
SORT_DIRS = ("asc", "desc")
LIST_FILTERS = ("visibility", "member_status", "owner", "checksum", "os_hash_value")
VERBOSE_COLUMNS = ("Disk_format", "Container_format", "Size", "Status", "Owner")


def image_list(api: ImagesV2, args: argparse.Namespace) -> int:
    """List the images the caller may see, filtered and sorted on the server."""
    params = [(key, getattr(args, key)) for key in LIST_FILTERS
              if getattr(args, key) is not None]
    params += [("tag", tag) for tag in args.tag]
    params += list(args.property_filter)
    if args.os_hidden is not None:
        params.append(("os_hidden", "true" if args.os_hidden else "false"))
    params += _sort_params(args)
    columns = ["ID", "Name"]
    if args.verbose:
        columns += VERBOSE_COLUMNS
    if args.include_stores:
        columns.append("Stores")
    images = api.list(params, args.page_size, args.limit)
    print(views.listing(list(images), columns))
    return 0


def _sort_params(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.sort is not None:
        if args.sort_key or args.sort_dir:
            raise UsageError("--sort cannot be combined with --sort-key or --sort-dir")
        for item in args.sort.split(","):
            key, _, direction = item.strip().partition(":")
            if key not in SORT_KEYS or (direction and direction not in SORT_DIRS):
                raise UsageError("invalid --sort item %r: keys are %s, directions %s"
                                 % (item, ", ".join(SORT_KEYS), ", ".join(SORT_DIRS)))
        return [("sort", args.sort)]
    if not args.sort_key and not args.sort_dir:
        return [("sort_key", "name"), ("sort_dir", "asc")]
    return [("sort_key", key) for key in args.sort_key] + [
        ("sort_dir", direction) for direction in args.sort_dir]



def register(commands: argparse._SubParsersAction) -> None:
    """Add image-list to the shell's parser."""
    listing = commands.add_parser("image-list", help="List images you can access.")
    opt = listing.add_argument
    opt("--limit", type=non_negative, metavar="<LIMIT>",
        help="Maximum number of images to list.")
    opt("--page-size", type=positive, default=DEFAULT_PAGE_SIZE, metavar="<SIZE>",
        help="Images fetched per request (default %d)." % DEFAULT_PAGE_SIZE)
    opt("--visibility", choices=(*arguments.VISIBILITIES, "all"),
        help="Only images of this visibility; all adds other projects' community images.")
    opt("--member-status", choices=("pending", "accepted", "rejected", "all"),
        help="Which images shared with you to list (default accepted).")
    opt("--owner", metavar="<OWNER>", help="Only images owned by this project.")
    opt("--property-filter", type=key_value, action="append", default=[],
        metavar="<KEY=VALUE>", help="Only images with this custom property; repeatable.")
    opt("--checksum", metavar="<CHECKSUM>", help="Only images with this MD5 checksum.")
    opt("--hash", dest="os_hash_value", metavar="<HASH_VALUE>",
        help="Only images with this os_hash_value.")
    opt("--tag", action="append", default=[], metavar="<TAG>",
        help="Only images with this tag; repeat for images with all of them.")
    opt("--sort-key", action="append", default=[], choices=SORT_KEYS,
        help="Sort by this field; repeatable (default name).")
    opt("--sort-dir", action="append", default=[], choices=SORT_DIRS,
        help="Sort direction, one for all keys or one per key (default asc).")
    opt("--sort", metavar="<key>[:<direction>]",
        help="Comma-separated key:direction list instead of --sort-key/--sort-dir; "
        "keys: %s." % ", ".join(SORT_KEYS))
    opt("--hidden", dest="os_hidden", type=boolean, nargs="?", const=True,
        metavar="[True|False]", help="True lists only hidden images, False only others.")
    opt("--include-stores", type=boolean, nargs="?", const=True, metavar="[True|False]",
        help="Add a Stores column.")
    listing.set_defaults(func=image_list)
