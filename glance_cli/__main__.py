"""Run the ``glance`` command as ``python -m glance_cli``."""

import sys

from glance_cli.shell import main

if __name__ == "__main__":
    sys.exit(main())
