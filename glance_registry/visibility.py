"""Who sees which image: the one place that turns a context into a query condition.

Seeing is the only question the registry answers about a caller. Whether
a caller may change, publicise, delete or share an image it sees is decided
by glance-api's policy before it calls the registry (see ``images``).
"""

from __future__ import annotations

import peewee

from glance_common.context import RequestContext
from glance_registry.models import Image, ImageMember

ALL = "all"  # admins: every image
NON_PUBLIC = "non_public"  # admins: every image that is not public
AS_USER = "as_user"  # admins: what a non-admin of their project sees


def visible(ctx: RequestContext, listing: bool = False,
            admin_scope: str = ALL) -> peewee.Expression:
    """The condition on Image that selects what ``ctx`` may see.

    Admins see everything (or ``admin_scope`` narrows it). Others see public
    images, their project's images, and ``shared`` images their project is a
    member of (any member status: v1 has no acceptance step). ``community``
    images are readable by id but left out of lists. An image without owner
    that is not public is for admins only; a caller without a project sees
    public images only.
    """
    if ctx.is_admin and admin_scope == ALL:
        return peewee.SQL("1 = 1")
    if ctx.is_admin and admin_scope == NON_PUBLIC:
        return Image.visibility != "public"
    condition = Image.visibility == "public"
    project = ctx.project_id
    if not project:
        return condition
    membership = (ImageMember
                  .select(ImageMember.id)
                  .where((ImageMember.image == Image.id)
                         & (ImageMember.member == project)
                         & (ImageMember.deleted == False)))  # noqa: E712
    condition |= Image.owner == project
    condition |= (Image.visibility == "shared") & peewee.fn.EXISTS(membership)
    if not listing:
        condition |= Image.visibility == "community"
    return condition

