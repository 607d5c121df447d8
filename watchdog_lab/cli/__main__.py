"""``python -m watchdog_lab.cli``: the same as the ``watchdog-lab`` script."""

from __future__ import annotations

import sys

from .app import main

sys.exit(main())
