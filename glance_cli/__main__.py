"""Run the ``glance`` command as ``python -m glance_cli``."""

import sys

from glance_cli.shell import main

sys.exit(main())
