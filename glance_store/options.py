"""Options of the store library, with Glance's names and groups.

They live apart from the drivers so that registering them imports no driver
(a driver module may pull in a heavy client library); each driver's options
sit in their own list below.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_config import types

STORE_GROUP = "glance_store"
IMPORT_FILTERING_GROUP = "import_filtering_opts"
DEFAULT_GROUP = "DEFAULT"
STAGING_STORE = "os_glance_staging_store"
TASKS_STORE = "os_glance_tasks_store"
RESERVED_STORES = (STAGING_STORE, TASKS_STORE)
"""Sections of the multi-store configuration that are never a backend id."""

backend_opts = [
    cfg.DictOpt(
        "enabled_backends",
        help="Turns on multi-store mode: the image stores this service "
             "offers, as ID:TYPE pairs separated by commas, e.g. "
             "'fast:file, cheap:file, far:swift'. TYPE is one of file, "
             "swift, s3, http; several stores may share a type. Each ID "
             "gets a section of its own, named after it, holding that "
             "driver's usual options plus store_description (shown to "
             "users in GET /v2/info/stores) and weight (an integer, 0 by "
             "default: downloads read from the copy in the store of highest "
             "weight first). Name the default with [glance_store] "
             "default_backend. Example::\n\n"
             "    [DEFAULT]\n"
             "    enabled_backends = fast:file, cheap:file, far:swift\n"
             "    [glance_store]\n"
             "    default_backend = fast\n"
             "    [fast]\n"
             "    store_description = Local SSD\n"
             "    filesystem_store_datadir = /srv/glance/fast\n"
             "    weight = 100\n"
             "    [cheap]\n"
             "    filesystem_store_datadir = /srv/glance/cheap\n"
             "    [far]\n"
             "    swift_store_auth_address = https://keystone:5000/v3\n"
             "    swift_store_user = service:glance\n"
             "    swift_store_key = secret\n"
             "    swift_store_container = glance\n\n"
             "The sections [os_glance_staging_store] and "
             "[os_glance_tasks_store] are reserved for the import staging "
             "area and task work files; they are not IDs to list here. "
             "Unset (the default), [glance_store] stores and default_store "
             "configure one store per type, as before."),
    cfg.StrOpt(
        "node_staging_uri", default="file:///tmp/staging/",
        help="Single-store mode only: a file:// URI of the directory where "
             "image data is staged for interoperable import (glance-direct "
             "and the intermediate copies of web-download and copy-image). "
             "Keep it on a disk with room for the largest images being "
             "imported at once, and off /tmp in production. In multi-store "
             "mode [os_glance_staging_store] filesystem_store_datadir is "
             "used instead."),
]

backend_section_opts = [
    cfg.StrOpt(
        "store_description", default="",
        help="Multi-store mode: what users are told about this store in "
             "GET /v2/info/stores, e.g. 'Fast local SSD'. Empty shows "
             "none."),
    cfg.IntOpt(
        "weight", default=0,
        help="Multi-store mode: the preference of this store when an image "
             "has copies in several stores; downloads read the copy in the "
             "store of highest weight first and fall back to the others if "
             "it cannot be opened."),
]
"""Options of every multi-store backend section, besides its driver's."""

store_opts = [
    cfg.ListOpt(
        "stores", default=["file", "http"],
        help="Storage backends this service may use, by name. 'file' keeps "
             "image data on local (or mounted) disk; 'swift' in an OpenStack "
             "Swift container; 's3' in an S3 bucket; 'http' reads images "
             "from remote http(s) URLs and cannot store new data. A backend "
             "missing from this list is never loaded, and locations with its "
             "scheme cannot be read."),
    cfg.StrOpt(
        "default_store", default="file",
        help="The backend that receives uploaded image data when the "
             "request names none. Must be one of 'stores' and writable."),
    cfg.StrOpt(
        "default_backend",
        help="Multi-store mode: the ID (from [DEFAULT] enabled_backends) of "
             "the store that receives image data when the request names "
             "none. Required when enabled_backends is set; the store must "
             "be writable."),
]

filesystem_opts = [
    cfg.StrOpt(
        "filesystem_store_datadir", default="/var/lib/glance/images",
        help="Directory where the 'file' backend writes image data. It is "
             "created at start-up if missing; the service user needs write "
             "access. Ignored when filesystem_store_datadirs is set."),
    cfg.MultiStrOpt(
        "filesystem_store_datadirs", default=[],
        help="Several directories for the 'file' backend, one per line, as "
             "DIR:PRIORITY (priority is an integer, 0 if omitted). A new "
             "image goes to the highest-priority directory with enough free "
             "space for it; among equal priorities, the one with the most "
             "free space. Existing images stay readable from any directory "
             "listed here. Overrides filesystem_store_datadir."),
    cfg.IntOpt(
        "filesystem_store_file_perm", default=0, min=0,
        help="Permissions given to new image files, written as octal digits "
             "(e.g. 640). 0 keeps the default (0600: readable by the service "
             "user only)."),
    cfg.IntOpt(
        "filesystem_store_chunk_size", default=1024 * 1024, min=4096,
        help="Bytes read from an image file per chunk when serving it. "
             "Larger chunks mean fewer system calls and more memory per "
             "download in flight."),
]

http_opts = [
    cfg.StrOpt(
        "https_ca_certificates_file",
        help="CA bundle used to verify remote https servers the 'http' "
             "backend reads from. Unset means the system's trusted CAs."),
    cfg.BoolOpt(
        "https_insecure", default=False,
        help="Skip certificate verification for remote https servers. "
             "Anyone on the network path can then substitute image data; "
             "use only for testing."),
]

swift_opts = [
    cfg.StrOpt(
        "swift_store_auth_address",
        help="The authentication URL of the Swift cluster the 'swift' "
             "backend writes to: a tempauth URL such as "
             "http://swift.example.com:8080/auth/v1.0 (with "
             "swift_store_auth_version = 1) or a Keystone URL such as "
             "https://keystone.example.com:5000/v3. Image locations are "
             "built from it (swift+http:// or swift+https://), so keep it "
             "stable: a location naming another auth address is refused."),
    cfg.StrOpt(
        "swift_store_user",
        help="The Swift account to store images in. tempauth: "
             "'account:user' (e.g. 'glance:glance'); Keystone: "
             "'project:user', the project owning the container."),
    cfg.StrOpt(
        "swift_store_key", secret=True,
        help="The password (tempauth key) of swift_store_user. It is never "
             "written into image locations."),
    cfg.StrOpt(
        "swift_store_auth_version", default="3", choices=["1", "2", "3"],
        help="How to authenticate: '1' is Swift's own tempauth/swauth, "
             "'3' is Keystone v3 (domains from swift_store_user_domain_name "
             "and swift_store_project_domain_name), '2' is the retired "
             "Keystone v2.0 API. Glance's default was '2'."),
    cfg.StrOpt(
        "swift_store_user_domain_name", default="Default",
        help="Keystone v3 only: the domain of swift_store_user."),
    cfg.StrOpt(
        "swift_store_project_domain_name", default="Default",
        help="Keystone v3 only: the domain of the project named in "
             "swift_store_user."),
    cfg.StrOpt(
        "swift_store_region",
        help="Keystone only: the region whose object-store endpoint to use "
             "when the catalog lists several. Unset takes the first one."),
    cfg.StrOpt(
        "swift_store_endpoint_type", default="publicURL",
        choices=["publicURL", "internalURL", "adminURL"],
        help="Keystone only: which catalog endpoint of the object store to "
             "use; 'internalURL' keeps image traffic off public networks."),
    cfg.StrOpt(
        "swift_store_service_type", default="object-store",
        help="Keystone only: the catalog service type of the object store."),
    cfg.StrOpt(
        "swift_store_endpoint",
        help="A storage URL to use instead of the one the auth service "
             "returns, e.g. https://swift.internal:8080/v1/AUTH_glance. "
             "Unset uses the auth service's answer."),
    cfg.StrOpt(
        "swift_store_container", default="glance",
        help="The container that holds image objects and their segments."),
    cfg.BoolOpt(
        "swift_store_create_container_on_put", default=False,
        help="Create swift_store_container on the first upload if it does "
             "not exist. When false, uploads fail until an operator creates "
             "it."),
    cfg.IntOpt(
        "swift_store_large_object_size", default=5 * 1024, min=1,
        help="Size in MB above which an image is stored as segments of "
             "swift_store_large_object_chunk_size MB plus a manifest object "
             "(a Dynamic Large Object, named as Glance names them). Keep it "
             "at or below the cluster's max_file_size (5 GiB by default). "
             "An image of unknown size is segmented once it outgrows one "
             "segment."),
    cfg.IntOpt(
        "swift_store_large_object_chunk_size", default=200, min=1,
        help="Size in MB of each segment of a segmented image; at most the "
             "cluster's max_file_size. Segments are streamed, not held in "
             "memory."),
    cfg.IntOpt(
        "swift_store_retry_get_count", default=3, min=0,
        help="How many times a download that breaks mid-stream is resumed "
             "from where it stopped (a ranged GET) before the client sees "
             "an error. Glance's default was 0."),
    cfg.StrOpt(
        "swift_store_cacert",
        help="CA bundle to verify the Swift and Keystone https endpoints. "
             "Unset means the system's trusted CAs."),
    cfg.BoolOpt(
        "swift_store_auth_insecure", default=False,
        help="Skip certificate verification of the Swift and Keystone https "
             "endpoints. Use only for testing."),
]

s3_opts = [
    cfg.StrOpt(
        "s3_store_host",
        help="The S3 endpoint the 's3' backend writes to, e.g. "
             "https://s3.eu-west-1.amazonaws.com or http://10.0.0.5:8080. "
             "Without a scheme, http is used. Image locations are built "
             "from it (s3:// for http, s3+https:// for https)."),
    cfg.StrOpt(
        "s3_store_access_key", secret=True,
        help="The S3 access key id. It is never written into image "
             "locations."),
    cfg.StrOpt(
        "s3_store_secret_key", secret=True,
        help="The S3 secret access key. It is never written into image "
             "locations."),
    cfg.StrOpt(
        "s3_store_bucket",
        help="The bucket that holds image objects; S3 bucket names are "
             "lowercase letters, digits, '.' and '-'."),
    cfg.BoolOpt(
        "s3_store_create_bucket_on_put", default=False,
        help="Create s3_store_bucket on the first upload if it does not "
             "exist. When false, uploads fail until an operator creates it."),
    cfg.StrOpt(
        "s3_store_bucket_url_format", default="auto",
        choices=["auto", "path", "virtual"],
        help="How requests name the bucket: 'virtual' as a host name "
             "(bucket.s3.example.com), 'path' in the URL path "
             "(s3.example.com/bucket, needed for IP addresses and most "
             "self-hosted S3 services), 'auto' lets the client choose."),
    cfg.StrOpt(
        "s3_store_region_name", default="",
        help="The S3 region to sign requests for; empty means us-east-1."),
    cfg.IntOpt(
        "s3_store_large_object_size", default=100, min=1,
        help="Size in MB above which an image is sent as a multipart "
             "upload. An image of unknown size goes multipart once it "
             "outgrows one part."),
    cfg.IntOpt(
        "s3_store_large_object_chunk_size", default=10, min=5,
        help="Size in MB of the first parts of a multipart upload (S3 "
             "needs at least 5). Parts double every 1000 parts to stay within "
             "S3's 10,000-part limit: from 10 MB an image of unknown size "
             "may reach S3's 5 TiB object limit, from 5 MB about 4.8 TiB. "
             "One part at a time is spooled to a temporary file "
             "(in memory up to 16 MiB), so keep TMPDIR on a disk with room "
             "for a part."),
    cfg.StrOpt(
        "s3_store_cacert",
        help="CA bundle to verify an https S3 endpoint. Unset means the "
             "system's trusted CAs."),
]

import_filtering_opts = [
    cfg.ListOpt(
        "allowed_schemes", item_type=types.String(), default=["http", "https"],
        help="URL schemes the service may fetch from (copy-from, remote "
             "locations). When not empty, disallowed_schemes is ignored."),
    cfg.ListOpt(
        "disallowed_schemes", item_type=types.String(), default=[],
        help="URL schemes the service must not fetch from. Only consulted "
             "when allowed_schemes is empty."),
    cfg.ListOpt(
        "allowed_hosts", item_type=types.String(), default=[],
        help="Host names or IP addresses the service may fetch from. When "
             "not empty, only these are allowed and disallowed_hosts is "
             "ignored. Hosts that resolve to loopback, link-local, private, "
             "multicast, reserved or unspecified addresses are always "
             "refused unless listed here by name or address."),
    cfg.ListOpt(
        "disallowed_hosts", item_type=types.String(), default=[],
        help="Host names or IP addresses the service must not fetch from. "
             "Only consulted when allowed_hosts is empty."),
    cfg.ListOpt(
        "allowed_ports", item_type=types.Integer(min=1, max=65535),
        default=[80, 443],
        help="Ports the service may fetch from. When not empty, "
             "disallowed_ports is ignored."),
    cfg.ListOpt(
        "disallowed_ports", item_type=types.Integer(min=1, max=65535),
        default=[],
        help="Ports the service must not fetch from. Only consulted when "
             "allowed_ports is empty."),
]


DRIVER_OPTS = {
    "file": filesystem_opts,
    "http": http_opts,
    "swift": swift_opts,
    "s3": s3_opts,
}
"""Each store type's own options, registered in its backend's section."""


def reserved_store_opts(datadir: str) -> list[cfg.Opt]:
    """The options of a reserved file store whose directory defaults to ``datadir``."""
    return [cfg.StrOpt(
        "filesystem_store_datadir", default=datadir,
        help="Multi-store mode: the directory of this reserved file store "
             "(the import staging area, or the work files of tasks). It is "
             "created when first needed; give it room for the largest images "
             "being imported at once.")]


RESERVED_DATADIRS = {
    STAGING_STORE: "/var/lib/glance/staging",
    TASKS_STORE: "/var/lib/glance/tasks_work_dir",
}
_reserved_opts = {name: reserved_store_opts(path)
                  for name, path in RESERVED_DATADIRS.items()}


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The options for oslo-config-generator, as [(group, opts)]."""
    return [
        (DEFAULT_GROUP, backend_opts),
        (STORE_GROUP, store_opts + filesystem_opts + http_opts + swift_opts
         + s3_opts),
        (IMPORT_FILTERING_GROUP, import_filtering_opts),
        *((name, opts) for name, opts in _reserved_opts.items()),
    ]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the library's fixed sections on ``conf``; idempotent."""
    for group, opts in list_opts():
        conf.register_opts(opts, group=None if group == DEFAULT_GROUP else group)


def register_backend_opts(conf: cfg.ConfigOpts, backend: str, store_type: str) -> None:
    """Register a multi-store backend's section: its driver's options, store_description
    and weight."""
    conf.register_opts(DRIVER_OPTS[store_type] + backend_section_opts, group=backend)
