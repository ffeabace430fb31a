"""The global options every command shares: who, where, how to talk TLS, which API."""

from __future__ import annotations

import argparse
import os

INTERFACES = ("public", "internal", "admin")
API_VERSIONS = ("1", "2")


def env(*names: str, default: str | None = None) -> str | None:
    """The first of these environment variables that is set and not empty."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return default


def interface(text: str) -> str:
    """A catalog interface; the old ``publicURL`` spellings are accepted too."""
    word = text.strip().lower()
    if word.endswith("url"):
        word = word[:-3]
    if word not in INTERFACES:
        raise argparse.ArgumentTypeError("expected one of %s, got %r"
                                         % (", ".join(INTERFACES), text))
    return word


def api_version(text: str) -> str:
    """An Images API major version: 1 or 2 (``2.0`` and ``v2`` mean 2)."""
    major = text.strip().lower().lstrip("v").split(".")[0]
    if major not in API_VERSIONS:
        raise argparse.ArgumentTypeError("expected 1 or 2, got %r" % text)
    return major


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Identity, endpoint, TLS and API version options (before the command)."""
    add = parser.add_argument
    add("--version", action="store_true", help="Print the version of this client and exit.")
    add("--os-auth-url", default=env("OS_AUTH_URL"),
        help="Keystone URL (env OS_AUTH_URL).")
    add("--os-username", default=env("OS_USERNAME"), help="User name (env OS_USERNAME).")
    add("--os-user-id", default=env("OS_USER_ID"), help="User ID (env OS_USER_ID).")
    add("--os-password", default=env("OS_PASSWORD"), help="Password (env OS_PASSWORD).")
    add("--os-project-name", "--os-tenant-name",
        default=env("OS_PROJECT_NAME", "OS_TENANT_NAME"),
        help="Project to scope to (env OS_PROJECT_NAME).")
    add("--os-project-id", "--os-tenant-id", default=env("OS_PROJECT_ID", "OS_TENANT_ID"),
        help="Project ID to scope to (env OS_PROJECT_ID).")
    add("--os-user-domain-name", default=env("OS_USER_DOMAIN_NAME"),
        help="Domain of the user (env OS_USER_DOMAIN_NAME).")
    add("--os-user-domain-id", default=env("OS_USER_DOMAIN_ID"),
        help="Domain ID of the user (env OS_USER_DOMAIN_ID).")
    add("--os-project-domain-name", default=env("OS_PROJECT_DOMAIN_NAME"),
        help="Domain of the project (env OS_PROJECT_DOMAIN_NAME).")
    add("--os-project-domain-id", default=env("OS_PROJECT_DOMAIN_ID"),
        help="Domain ID of the project (env OS_PROJECT_DOMAIN_ID).")
    add("--os-region-name", default=env("OS_REGION_NAME"),
        help="Region of the image endpoint in the catalog (env OS_REGION_NAME).")
    add("--os-interface", "--os-endpoint-type", type=interface,
        default=env("OS_INTERFACE", "OS_ENDPOINT_TYPE", default="public"),
        metavar="{public,internal,admin}",
        help="Catalog interface of the image endpoint; publicURL etc. are accepted "
        "(env OS_INTERFACE or OS_ENDPOINT_TYPE, default public).")
    add("--os-auth-token", default=env("OS_AUTH_TOKEN"),
        help="Token to use instead of logging in (env OS_AUTH_TOKEN).")
    add("--os-image-url", default=env("OS_IMAGE_URL"),
        help="Image service URL; with a token, Keystone is skipped. A /v1 or /v2 "
        "suffix also picks the API version (env OS_IMAGE_URL).")
    add("--os-image-api-version", type=api_version, default=env("OS_IMAGE_API_VERSION"),
        metavar="{1,2}",
        help="Images API version (env OS_IMAGE_API_VERSION). Default: 2 when the "
        "server's /versions lists it, else 1. The two versions have different "
        "commands and options.")
    add("--os-cacert", default=env("OS_CACERT"),
        help="CA bundle to verify the servers' TLS certificates with (env OS_CACERT).")
    add("--os-cert", default=env("OS_CERT"),
        help="Client certificate (PEM) to present to TLS servers (env OS_CERT).")
    add("--os-key", default=env("OS_KEY"),
        help="Private key (PEM) of --os-cert, if not in the same file (env OS_KEY).")
    add("--insecure", action="store_true", help="Do not verify TLS certificates.")
    add("--timeout", type=float, default=600.0,
        help="Seconds to wait for the server (default 600).")
    add("-v", "--verbose", action="store_true",
        help="More columns in v2 list tables (image-list, image-tasks).")
    add("--debug", action="store_true", help="Show a traceback on unexpected errors.")
