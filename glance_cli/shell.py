"""The ``glance`` entry point: version choice, dispatch, one-line errors.

The Images API version decides the command set (v1 and v2 share command
names but not options), so the global options are read first, the version
is chosen (versions.py), and only then is the whole command line parsed.
Help and bash-completion never touch the network: without a version asked
for, they describe v2 and say how to see v1.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from glance_cli import auth
from glance_cli import image_commands
from glance_cli import member_commands
from glance_cli import v2
from glance_cli import versions
from glance_cli.errors import CommandError
from glance_cli.errors import UsageError
from glance_cli.images import ImagesAPI
from glance_cli.options import add_global_options
from glance_cli.transport import Transport
from glance_cli.v2.api import ImagesV2

OFFLINE_COMMANDS = (None, "help", "bash-completion")
DEFAULT_VERSION = "2"
TITLES = {"1": "Images API v1 (classic glance) commands",
          "2": "Images API v2 (glanceclient 4) commands"}


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, not a usage block."""

    api_version: str | None = None  # set on each command's parser
    images_api = DEFAULT_VERSION  # set on the main parser

    def error(self, message: str):
        if self.api_version:
            # Name the version: a v1 option given to a v2 command lands here.
            message += " [Images API v%s]" % self.api_version
        raise UsageError("%s: %s" % (self.prog, message))


def build_parser(version: str = "1") -> Parser:
    """The whole command line of one API version: global options and its commands."""
    other = "1" if version == "2" else "2"
    parser = Parser(prog="glance", description="Command line client of an OpenStack "
                    "Glance compatible image service. %s below; 'glance "
                    "--os-image-api-version %s help' lists the v%s ones, which take "
                    "other options." % (TITLES[version], other, other))
    parser.images_api = version
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="<command>",
                                     title=TITLES[version], parser_class=Parser)
    if version == "2":
        v2.register(commands)
    else:
        image_commands.register(commands)
        member_commands.register(commands)
    for name, command in commands.choices.items():
        command.api_version = version
        command.epilog = ("Images API v%s. The v%s command of the same name, if any, takes "
                          "other options: glance --os-image-api-version %s help %s"
                          % (version, other, other, name))
    helper = commands.add_parser("help", help="Show help for the command or a command.")
    helper.add_argument("topic", nargs="?", metavar="COMMAND")
    commands.add_parser("bash-completion",
                        help="Print every command and option, for shell completion.")
    return parser


def _global_parser() -> Parser:
    """The global options alone; the command and its arguments are left over."""
    parser = Parser(prog="glance", add_help=False, allow_abbrev=False)
    add_global_options(parser)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return _run(argv)
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
    except SystemExit as exc:  # argparse after printing --help
        return exc.code if isinstance(exc.code, int) else 0
    except Exception as exc:  # the last border: never a traceback unless asked
        if debug:
            raise
        print("Unexpected error: %s: %s" % (type(exc).__name__, exc), file=sys.stderr)
        return 1


def _run(argv: list[str]) -> int:
    first = _global_parser().parse_args(argv)
    if first.version:
        print(_client_version())
        return 0
    command = first.rest[0] if first.rest else None
    version = versions.requested(first)
    transport = None
    if command in OFFLINE_COMMANDS or first.help or "-h" in first.rest \
            or "--help" in first.rest:
        version = version or DEFAULT_VERSION
    elif version is None:
        # The server decides; usage errors then show after the login.
        transport = auth.connect(first)
        version = versions.discover(transport)
    try:
        parser = build_parser(version)
        args, extras = parser.parse_known_args(argv)
        if extras:
            _command_parser(parser, args.command).error(
                "unrecognized arguments: %s" % " ".join(extras))
        if args.command in (None, "help"):
            return _help(parser, getattr(args, "topic", None))
        if args.command == "bash-completion":
            print(" ".join(completion_words(parser)))
            return 0
        transport = transport or auth.connect(args)
        return args.func(_api(version, transport), args)
    finally:
        if transport is not None:
            transport.close()


def _api(version: str, transport: Transport) -> ImagesAPI | ImagesV2:
    return ImagesV2(transport) if version == "2" else ImagesAPI(transport)


def completion_words(parser: argparse.ArgumentParser) -> list[str]:
    """Every command name and option string of the parser, sorted."""
    words = set()
    for action in parser._actions:
        words.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                words.add(name)
                for sub in command._actions:
                    words.update(sub.option_strings)
    return sorted(words)


def _client_version() -> str:
    from importlib import metadata

    try:
        return "glance-lite %s" % metadata.version("glance-lite")
    except metadata.PackageNotFoundError:
        return "glance-lite (not installed)"


def _command_parser(parser: Parser, command: str | None) -> Parser:
    """The parser of one command (the main one when there is none)."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices.get(command, parser) if command else parser


def _help(parser: Parser, topic: str | None) -> int:
    if topic is None:
        parser.print_help()
        return 0
    command = _command_parser(parser, topic)
    if command is parser:
        raise UsageError("no such command in Images API v%s: %s"
                         % (parser.images_api, topic))
    command.print_help()
    return 0


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
