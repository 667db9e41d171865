"""``python -m calculators``: see :mod:`calculators.cli`."""

import sys

from calculators.cli import main

sys.exit(main())
