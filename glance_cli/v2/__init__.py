"""The ``glance`` commands of the Images API v2, with glanceclient 4's names and options."""

from __future__ import annotations

import argparse

from glance_cli.v2 import data_commands
from glance_cli.v2 import image_commands
from glance_cli.v2 import import_commands
from glance_cli.v2 import listing
from glance_cli.v2 import member_commands
from glance_cli.v2 import store_commands


def register(commands: argparse._SubParsersAction) -> None:
    """Add every v2 command to the shell's parser."""
    for module in (image_commands, listing, data_commands, member_commands,
                   import_commands, store_commands):
        module.register(commands)
