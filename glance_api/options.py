"""glance-api's options, with Glance's names so existing configs carry over."""

from __future__ import annotations

import re

from oslo_config import cfg

import glance_store
from glance_api.data.inspect import VMDK_TYPES
from glance_common import formats
from glance_common.options import noauth_opts
from glance_common.options import server_opts

API_PORT = 9292
SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?B)?\s*$", re.IGNORECASE)

api_opts = [
    cfg.HostAddressOpt("registry_host", default="127.0.0.1",
                       help="Address of the glance-registry server."),
    cfg.PortOpt("registry_port", default=9191,
                help="Port of the glance-registry server."),
    cfg.StrOpt("registry_client_protocol", default="http",
               choices=["http", "https"],
               help="Protocol to reach the registry with."),
    cfg.StrOpt("registry_client_ca_file",
               help="CA bundle to verify the registry's certificate."),
    cfg.IntOpt("registry_client_timeout", default=600, min=1,
               help="Seconds to wait for a registry response before giving up."),
    cfg.StrOpt("auth_strategy", default="noauth", choices=["noauth", "keystone"],
               help="'keystone' validates every request's token; 'noauth' "
                    "makes every request an admin with no project and is only "
                    "safe on a loopback address (see allow_insecure_noauth)."),
    cfg.IntOpt("image_size_cap", default=1099511627776, min=0,
               help="Largest image, in bytes, that may be uploaded."),
    cfg.StrOpt("user_storage_quota", default="0",
               help="Total bytes of image data one project may store; 0 = "
                    "unlimited. Units B, KB, MB, GB, TB are accepted."),
    cfg.IntOpt("image_property_quota", default=128,
               help="Most custom properties one image may have (<0: unlimited)."),
    cfg.IntOpt("image_member_quota", default=128,
               help="Most members one image may have (<0: unlimited)."),
    cfg.IntOpt("image_tag_quota", default=128,
               help="Most tags one image may have (<0: unlimited)."),
    cfg.IntOpt("limit_param_default", default=25, min=1,
               help="Images in one v2 list page when the caller gives no limit."),
    cfg.IntOpt("api_limit_max", default=1000, min=1,
               help="Most images in one v2 list page, whatever limit the caller asks."),
    cfg.BoolOpt("show_image_direct_url", default=False,
                help="Show an image's first location as direct_url in v2 image "
                     "documents (v1 never shows locations). Locations may "
                     "hold store credentials: leave off unless a trusted "
                     "consumer (Nova with direct downloads) needs it."),
    cfg.BoolOpt("delayed_delete", default=False,
                help="Mark deleted images pending_delete and leave their "
                     "bytes to glance-scrubber instead of removing them at once."),
    cfg.StrOpt("hashing_algorithm", default="sha512",
               help="hashlib algorithm for os_hash_value (besides md5)."),
    cfg.IntOpt("upload_heartbeat_interval", default=30, min=1,
               help="Seconds between 'still uploading' marks an upload "
                    "writes to its image. An image in saving with no mark for "
                    "four intervals is taken to be abandoned: it is killed and "
                    "its partial bytes removed."),
    cfg.IntOpt("copy_from_workers", default=4, min=1,
               help="Most x-glance-api-copy-from fetches one api worker "
                    "process runs at once; more wait their turn (queued)."),
    cfg.StrOpt("public_endpoint",
               help="Public URL of this API (for links and Location headers) "
                    "when it sits behind a proxy that rewrites the host."),
    cfg.ListOpt("trusted_proxies", default=["127.0.0.1", "::1"],
                help="Addresses or networks (CIDR) of the load balancers in "
                     "front of this API. Only requests from them may set the "
                     "scheme and host of links and Location headers with "
                     "X-Forwarded-Proto and X-Forwarded-Host. public_endpoint, "
                     "when set, wins over both."),
]

notification_opts = [
    cfg.ListOpt("disabled_notifications", default=[],
                help="Notifications not to send: event types (image.create) "
                     "or groups (image.member or image.member.* for every "
                     "image.member event). The driver and the message bus "
                     "are set in [oslo_messaging_notifications]."),
    cfg.StrOpt("default_publisher_id", default="image.localhost",
               help="The publisher_id of the notifications this API sends."),
]

scrubber_opts = [
    cfg.IntOpt("scrub_time", default=0, min=0,
               help="With delayed_delete, seconds a deleted image stays "
                    "pending_delete (and can be restored with glance-scrubber "
                    "--restore) before glance-scrubber removes its data."),
    cfg.IntOpt("wakeup_time", default=300, min=1,
               help="Seconds between runs of glance-scrubber --daemon."),
]

cache_opts = [
    cfg.StrOpt("image_cache_dir",
               help="Directory of this api node's image cache. Set, it turns "
                    "the cache on: an image's first whole download fills it "
                    "with one read from the store (clients asking at the same "
                    "time share that read), later downloads are served from "
                    "local disk, and /v2/cache manages it. Each node has its "
                    "own cache: give every api instance a directory of its own "
                    "on local disk (the data is a copy; losing it loses nothing)."),
    cfg.IntOpt("image_cache_max_size", default=10 * 1024 ** 3, min=0,
               help="Bytes the cache may hold. Before a fill, least recently "
                    "used images are evicted to make room; an image larger "
                    "than this is served from the store and never cached. "
                    "glance-cache-pruner evicts down to it after the size is "
                    "lowered."),
    cfg.IntOpt("image_cache_stall_time", default=86400, min=0,
               help="Seconds after which glance-cache-cleaner removes a fill "
                    "that has written nothing (fills whose process died are "
                    "removed at once)."),
    cfg.StrOpt("image_cache_sqlite_db", default="cache.db",
               help="File name, under image_cache_dir, of the SQLite index "
                    "that records what this node has cached."),
    cfg.IntOpt("cache_prefetcher_interval", default=300, min=0,
               help="Seconds between runs of the prefetcher inside each api "
                    "worker, which caches the images queued with "
                    "PUT /v2/cache/{image_id}; 0 leaves the queue to "
                    "glance-cache-prefetcher run from cron or a timer."),
]

paste_deploy_opts = [
    cfg.StrOpt("flavor",
               help="Glance's pipeline switch: 'keystone' means "
                    "auth_strategy = keystone."),
]


image_format_opts = [
    cfg.ListOpt("disk_formats", default=list(formats.DISK_FORMATS),
                help="The disk formats images may have; leave out those this "
                     "cloud's hypervisors cannot boot. Only names from the "
                     "default count: others are never accepted."),
    cfg.ListOpt("container_formats", default=list(formats.CONTAINER_FORMATS),
                help="The container formats images may have. Only names from "
                     "the default count: others are never accepted."),
    cfg.ListOpt("vmdk_allowed_types", default=list(VMDK_TYPES),
                help="VMDK create types an upload may have (case does not "
                     "matter). Only %s count: every other type keeps its data "
                     "in other files, which a hypervisor opening the image "
                     "would read, so uploads of them are refused whatever this "
                     "says. Empty: no VMDK upload is accepted."
                     % " and ".join(VMDK_TYPES)),
    cfg.BoolOpt("require_image_format_match", default=True,
                help="Refuse uploaded data whose format, as the format "
                     "inspector reads it, is not the image's disk_format "
                     "(v2 answers 415, v1 400). disk_format raw and the "
                     "formats no inspector reads (ami, ari, aki, ploop) take "
                     "any data, and container formats other than bare skip "
                     "this check. The safety checks (no qcow2 backing or data "
                     "file, no VMDK parent or outside extents) apply either way."),
]


task_opts = [
    cfg.IntOpt("task_time_to_live", default=48, min=0,
               help="Hours a task stays visible in the tasks API after it "
                    "succeeds or fails (its expires_at); after that it is "
                    "hidden from every task listing and lookup."),
]


import_opts = [
    cfg.ListOpt("enabled_import_methods",
                default=["glance-direct", "web-download", "copy-image"],
                help="Import methods POST /v2/images/{id}/import accepts and "
                     "GET /v2/info/import lists: glance-direct (data staged with "
                     "PUT /v2/images/{id}/stage), web-download (the api fetches "
                     "a URL allowed by [import_filtering_opts]), copy-image "
                     "(admins copy an active image into more stores) and "
                     "glance-download (from another region's Glance, found in "
                     "the Keystone catalog). Empty: no import is accepted."),
    cfg.StrOpt("worker_self_reference_url",
               help="The URL at which the other api nodes reach this one "
                    "directly (not through the load balancer). A glance-direct "
                    "stage records it on the image, and an import request that "
                    "lands on another node is forwarded here, where the staged "
                    "data is. Unset: every node must share one staging "
                    "directory (os_glance_staging_store / node_staging_uri)."),
]

glance_download_opts = [
    cfg.ListOpt("extra_properties",
                default=["hw_", "trait:", "os_distro", "os_secure_boot", "os_type"],
                help="Prefixes of the properties a glance-download import copies "
                     "from the other region's image onto the new one; others "
                     "are not copied. os_glance_* properties never are."),
]

taskflow_executor_opts = [
    cfg.IntOpt("max_workers", default=10, min=1,
               help="Most imports one api worker process runs at once; more "
                    "wait their turn with their image in importing. Each "
                    "running import streams one image through this process."),
]


location_opts = [
    cfg.BoolOpt("show_multiple_locations", default=False,
                help="Show an image's locations in v2 image documents (to callers "
                     "get_image_location allows) and let PATCH add, replace and "
                     "remove them (set_image_location, delete_image_location). "
                     "Credentials in location URLs are never shown. Even with "
                     "every rule here, exposing locations to end users is what "
                     "Glance's security notes OSSN-0065 and OSSN-0090 warn "
                     "about: keep it off on an api end users reach; services "
                     "use the locations API (/v2/images/{id}/locations)."),
    cfg.IntOpt("image_location_quota", default=10,
               help="Most locations one image may have (<0: unlimited)."),
    cfg.BoolOpt("do_secure_hash", default=True,
                help="Compute checksum and os_hash_value of the data of a "
                     "location added with the locations API (or the PATCH of "
                     "/locations), reading it in the background through its "
                     "store; with validation_data, the image becomes active "
                     "only once its data is found to have that hash. Off: the "
                     "image is active at once, with the caller's hash or none."),
    cfg.IntOpt("http_retries", default=3, min=1,
               help="Attempts to read an added location's data for its hash "
                    "before giving up (then os_hash_algo is cleared again)."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every option glance-api reads, the store library's included."""

    conf.register_opts(server_opts(API_PORT))
    conf.register_opts(api_opts + noauth_opts())
    conf.register_opts(location_opts)
    conf.register_opts(notification_opts)
    conf.register_opts(scrubber_opts)
    conf.register_opts(cache_opts)
    conf.register_opts(paste_deploy_opts, group="paste_deploy")
    conf.register_opts(image_format_opts, group="image_format")
    conf.register_opts(import_opts)
    conf.register_opts(taskflow_executor_opts, group="taskflow_executor")
    conf.register_opts(glance_download_opts, group="glance_download_opts")
    conf.register_opts(task_opts, group="task")
    glance_store.register_opts(conf)


def list_opts():
    """The options for oslo-config-generator."""
    return [(None, server_opts(API_PORT) + api_opts + noauth_opts() + location_opts
             + notification_opts + scrubber_opts + import_opts + cache_opts),
            ("paste_deploy", paste_deploy_opts),
            ("image_format", image_format_opts),
            ("taskflow_executor", taskflow_executor_opts),
            ("glance_download_opts", glance_download_opts),
            ("task", task_opts)]


def strategy(conf) -> str:
    """The effective auth strategy; Glance's ``[paste_deploy] flavor`` counts too."""
    flavor = (conf.paste_deploy.flavor or "").lower()
    if "keystone" in flavor:
        return "keystone"
    return conf.auth_strategy


def parse_size(value: str | int) -> int:
    """Bytes from ``10GB``-style text (1 KB = 1024 B, as Glance counted); ValueError if not."""
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError("%r is not a size: use a whole number of bytes, optionally "
                         "followed by B, KB, MB, GB or TB (e.g. 10GB)." % value)
    return int(match.group(1)) * SIZE_UNITS[(match.group(2) or "B").upper()]


def storage_quota(conf) -> int:
    """``user_storage_quota`` in bytes; 0 means unlimited."""
    try:
        return parse_size(conf.user_storage_quota)
    except ValueError as exc:
        raise ValueError("Invalid user_storage_quota: %s" % exc) from None
