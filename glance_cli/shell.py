"""The ``glance`` entry point: global options, dispatch, one-line errors."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from glance_cli import auth
from glance_cli import image_commands
from glance_cli import member_commands
from glance_cli.errors import CommandError
from glance_cli.errors import UsageError
from glance_cli.images import ImagesAPI


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, not a usage block."""

    def error(self, message: str):
        raise UsageError("%s: %s" % (self.prog, message))


def _env(*names: str, default: str | None = None) -> str | None:
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return default


def build_parser() -> Parser:
    """The whole command line: global options and every command."""
    parser = Parser(prog="glance", description="Command line client of an "
                    "OpenStack Glance compatible image service (Images API v1).")
    add = parser.add_argument
    add("--os-auth-url", default=_env("OS_AUTH_URL"),
        help="Keystone URL (env OS_AUTH_URL).")
    add("--os-username", default=_env("OS_USERNAME"), help="User name (env OS_USERNAME).")
    add("--os-user-id", default=_env("OS_USER_ID"), help="User ID (env OS_USER_ID).")
    add("--os-password", default=_env("OS_PASSWORD"), help="Password (env OS_PASSWORD).")
    add("--os-project-name", "--os-tenant-name",
        default=_env("OS_PROJECT_NAME", "OS_TENANT_NAME"),
        help="Project to scope to (env OS_PROJECT_NAME).")
    add("--os-project-id", "--os-tenant-id", default=_env("OS_PROJECT_ID", "OS_TENANT_ID"),
        help="Project ID to scope to (env OS_PROJECT_ID).")
    add("--os-user-domain-name", default=_env("OS_USER_DOMAIN_NAME"),
        help="Domain of the user (env OS_USER_DOMAIN_NAME).")
    add("--os-user-domain-id", default=_env("OS_USER_DOMAIN_ID"),
        help="Domain ID of the user (env OS_USER_DOMAIN_ID).")
    add("--os-project-domain-name", default=_env("OS_PROJECT_DOMAIN_NAME"),
        help="Domain of the project (env OS_PROJECT_DOMAIN_NAME).")
    add("--os-project-domain-id", default=_env("OS_PROJECT_DOMAIN_ID"),
        help="Domain ID of the project (env OS_PROJECT_DOMAIN_ID).")
    add("--os-region-name", default=_env("OS_REGION_NAME"),
        help="Region of the image endpoint in the catalog (env OS_REGION_NAME).")
    add("--os-interface", default=_env("OS_INTERFACE", default="public"),
        choices=("public", "internal", "admin"),
        help="Catalog interface of the image endpoint (env OS_INTERFACE, default public).")
    add("--os-auth-token", default=_env("OS_AUTH_TOKEN"),
        help="Token to use instead of logging in (env OS_AUTH_TOKEN).")
    add("--os-image-url", default=_env("OS_IMAGE_URL"),
        help="Image service URL; with a token, Keystone is skipped (env OS_IMAGE_URL).")
    add("--os-image-api-version", choices=("1",), default="1",
        help="Images API version; only 1 is spoken.")
    add("--os-cacert", default=_env("OS_CACERT"),
        help="CA bundle to verify TLS certificates with (env OS_CACERT).")
    add("--insecure", action="store_true", help="Do not verify TLS certificates.")
    add("--timeout", type=float, default=600.0,
        help="Seconds to wait for the server (default 600).")
    add("--debug", action="store_true", help="Show a traceback on unexpected errors.")
    commands = parser.add_subparsers(dest="command", metavar="<command>",
                                     parser_class=Parser)
    image_commands.register(commands)
    member_commands.register(commands)
    helper = commands.add_parser("help", help="Show help for the command or a command.")
    helper.add_argument("topic", nargs="?", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    parser = build_parser()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if args.command in (None, "help"):
            return _help(parser, getattr(args, "topic", None))
        transport = auth.connect(args)
        try:
            return args.func(ImagesAPI(transport), args)
        finally:
            transport.close()
    except UsageError as exc:
        print("error: %s (see 'glance help')" % exc, file=sys.stderr)
        return 2
    except CommandError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``glance image-list | head``): not an error.
        _silence_stdout()
        return 1
    except Exception as exc:  # the last border: never a traceback unless asked
        if debug:
            raise
        print("Unexpected error: %s: %s" % (type(exc).__name__, exc), file=sys.stderr)
        return 1


def _help(parser: Parser, topic: str | None) -> int:
    if topic is None:
        parser.print_help()
        return 0
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if topic not in commands.choices:
        raise UsageError("no such command: %s" % topic)
    commands.choices[topic].print_help()
    return 0


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
