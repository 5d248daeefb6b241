"""``python -m sb3_matlab_callback``: the ``sb3-matlab`` command line."""

import sys

from .cli import main

sys.exit(main())
