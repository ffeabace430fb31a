"""The v2 member-* commands: share an image, and answer a share."""

from __future__ import annotations

import argparse

from glance_cli.v2 import views
from glance_cli.v2.api import ImagesV2

MEMBER_STATUSES = ("pending", "accepted", "rejected")


def member_create(api: ImagesV2, args: argparse.Namespace) -> int:
    """Share a (shared-visibility) image with a project; the member starts pending."""
    member = api.add_member(api.resolve(args.image), args.member_id)
    print(views.members([member]))
    return 0


def member_update(api: ImagesV2, args: argparse.Namespace) -> int:
    """Accept, reject or leave pending an image shared with your project."""
    member = api.set_member_status(api.resolve(args.image), args.member_id,
                                   args.member_status)
    print(views.members([member]))
    return 0


def member_list(api: ImagesV2, args: argparse.Namespace) -> int:
    """The members of one image."""
    print(views.members(api.members(api.resolve(args.image_id))))
    return 0


def member_get(api: ImagesV2, args: argparse.Namespace) -> int:
    """One member of an image."""
    print(views.properties(api.member(api.resolve(args.image), args.member_id)))
    return 0


def member_delete(api: ImagesV2, args: argparse.Namespace) -> int:
    """Stop sharing an image with a project."""
    api.remove_member(api.resolve(args.image), args.member_id)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add the v2 member-* commands to the shell's parser."""
    def command(name: str, func, text: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=text)
        parser.add_argument("image", metavar="<IMAGE>", help="Name or ID of the image.")
        parser.add_argument("member_id", metavar="<MEMBER_ID>", help="Project ID of the member.")
        parser.set_defaults(func=func)
        return parser

    command("member-create", member_create, "Share an image with a project.")
    update = command("member-update", member_update,
                     "Set the status of a member of an image (as that member).")
    update.add_argument("member_status", metavar="<MEMBER_STATUS>", choices=MEMBER_STATUSES,
                        help="New status: %s." % ", ".join(MEMBER_STATUSES))
    command("member-get", member_get, "Show one member of an image.")
    command("member-delete", member_delete, "Stop sharing an image with a project.")

    listing = commands.add_parser("member-list", help="List the members of an image.")
    listing.add_argument("--image-id", required=True, metavar="<IMAGE>",
                         help="Name or ID of the image.")
    listing.set_defaults(func=member_list)
