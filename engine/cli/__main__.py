"""`python -m engine.cli`: the `pipeloom` command from a checkout."""

import sys

from engine.cli import main

sys.exit(main())
