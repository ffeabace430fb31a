"""Who sees which image: the one place that turns a caller into a query condition.

Seeing is the only question the registry answers about a caller. Whether
a caller may change, publicise, delete or share an image it sees is decided
by glance-api's policy before it calls the registry (see ``images``).
"""

from __future__ import annotations

import dataclasses

import peewee

from glance_common.context import RequestContext
from glance_registry import templates
from glance_registry.models import Image
from glance_registry.models import ImageMember

ALL = "all"  # admins: every image
NON_PUBLIC = "non_public"  # admins: every image that is not public
AS_USER = "as_user"  # admins: what a non-admin of their project sees

# v2 list filters (spec v2 4.3).
VISIBILITIES = ("public", "private", "shared", "community", "all")
MEMBER_STATUSES = ("accepted", "pending", "rejected", "all")


@dataclasses.dataclass(frozen=True)
class Viewer:
    """The caller as a query sees it: admin or not, and its project.

    ``project`` is the project id, or a ``templates.Slot`` when the query is
    built once as a template and the id is bound per call.
    """

    is_admin: bool
    project: str | None

    @classmethod
    def of(cls, ctx: RequestContext) -> Viewer:
        """The viewer of ``ctx``, its project as a slot (for templates)."""
        return cls(ctx.is_admin, templates.Slot("project") if ctx.project_id else None)

    @property
    def shape(self) -> tuple[bool, bool]:
        """What a query's text depends on: admin or not, project or not."""
        return (self.is_admin, self.project is not None)


def visible(viewer: Viewer, listing: bool = False,
            admin_scope: str = ALL) -> peewee.Expression:
    """The condition on Image that selects what ``viewer`` may see (and v1 lists).

    Admins see everything (or ``admin_scope`` narrows it). Others see public
    images, their project's images, and ``shared`` images their project is a
    member of (any member status: v1 has no acceptance step). ``community``
    images are readable by id but left out of (v1) lists. An image without
    owner that is not public is for admins only; a caller without a project
    sees public images only.
    """
    if viewer.is_admin and admin_scope == ALL:
        return peewee.SQL("1 = 1")
    if viewer.is_admin and admin_scope == NON_PUBLIC:
        return Image.visibility != "public"
    condition = Image.visibility == "public"
    if not viewer.project:
        return condition
    condition |= Image.owner == viewer.project
    condition |= _shared_with(viewer.project, None)
    if not listing:
        condition |= Image.visibility == "community"
    return condition


def listed_v2(viewer: Viewer, wanted: str | None,
              member_status: peewee.Node | None) -> peewee.Expression:
    """The condition on Image that selects what a v2 list of ``viewer`` holds.

    ``wanted`` is the visibility filter (None: the default list);
    ``member_status`` the membership status a shared image must have to be
    listed for its member (None: any). Spec v2 4.3:

    - non-admins: their project's images (any visibility), public images,
      and shared images whose membership has the status; ``visibility=X``
      keeps those of visibility X, except that ``community`` and ``all``
      add other projects' community images;
    - admins: every image but other projects' community images; with
      ``visibility=X`` every image of visibility X (``all``: every image).
    """
    if viewer.is_admin:
        return _admin_v2(viewer, wanted)
    public = Image.visibility == "public"
    community = Image.visibility == "community"
    if not viewer.project:
        return {None: public, "public": public, "community": community,
                "all": public | community}.get(wanted, peewee.SQL("1 = 0"))
    own = Image.owner == viewer.project
    shared = _shared_with(viewer.project, member_status)
    if wanted is None:
        return own | public | shared
    if wanted == "all":
        return own | public | shared | community
    if wanted == "public":
        return public
    if wanted == "community":
        return community
    if wanted == "shared":
        return (Image.visibility == "shared") & (own | shared)
    return (Image.visibility == wanted) & own


def _admin_v2(viewer: Viewer, wanted: str | None) -> peewee.Expression:
    if wanted == "all":
        return peewee.SQL("1 = 1")
    if wanted is not None:
        return Image.visibility == wanted
    condition = Image.visibility != "community"
    if viewer.project:
        condition |= Image.owner == viewer.project
    return condition


def _shared_with(project: str, member_status: peewee.Node | None) -> peewee.Expression:
    """A shared image ``project`` is a live member of (with that status, if given)."""
    where = ((ImageMember.image == Image.id)
             & (ImageMember.member == project)
             & (ImageMember.deleted == False))  # noqa: E712
    if member_status is not None:
        where &= ImageMember.status == member_status
    membership = ImageMember.select(ImageMember.id).where(where)
    return (Image.visibility == "shared") & peewee.fn.EXISTS(membership)
