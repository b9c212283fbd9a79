"""``python -m snnq`` is the ``snnq`` command."""

import sys

from snnq.cli.main import main

sys.exit(main())
