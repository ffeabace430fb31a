"""The v1 member-* commands: share images with other projects."""

from __future__ import annotations

import argparse

from glance_cli import tables
from glance_cli.images import ImagesAPI


def member_create(api: ImagesAPI, args: argparse.Namespace) -> int:
    """Share an image with a project (or change whether it may share further)."""
    image = api.find(args.image)
    api.add_member(image["id"], args.tenant, args.can_share)
    return 0


def member_delete(api: ImagesAPI, args: argparse.Namespace) -> int:
    """Stop sharing an image with a project."""
    image = api.find(args.image)
    api.remove_member(image["id"], args.tenant)
    return 0


def member_list(api: ImagesAPI, args: argparse.Namespace) -> int:
    """The members of one image, or the images shared with one project."""
    if args.image_id:
        rows = [dict(member, image_id=args.image_id) for member in api.members(args.image_id)]
    else:
        rows = [dict(shared, member_id=args.tenant_id)
                for shared in api.shared_images(args.tenant_id)]
    print(tables.members_table(rows))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add the member-* commands to the shell's parser."""
    create = commands.add_parser("member-create", help="Share an image with a project.")
    create.add_argument("image", metavar="IMAGE", help="Name or ID of the image.")
    create.add_argument("tenant", metavar="TENANT", help="ID of the project to share with.")
    create.add_argument("--can-share", action="store_true",
                        help="Let the project share the image further.")
    create.set_defaults(func=member_create)

    delete = commands.add_parser("member-delete", help="Stop sharing an image with a project.")
    delete.add_argument("image", metavar="IMAGE", help="Name or ID of the image.")
    delete.add_argument("tenant", metavar="TENANT", help="ID of the project.")
    delete.set_defaults(func=member_delete)

    listing = commands.add_parser("member-list", help="List image memberships.")
    which = listing.add_mutually_exclusive_group(required=True)
    which.add_argument("--image-id", metavar="ID", help="Members of this image.")
    which.add_argument("--tenant-id", metavar="ID", help="Images shared with this project.")
    listing.set_defaults(func=member_list)
