"""``python -m neurocomp``: the command line."""

import sys

try:  # Ctrl-C while the command line itself loads ends as quietly as one inside it
    from .cli import main

    code = main()
except KeyboardInterrupt:
    from .cli import interrupted

    code = interrupted()
sys.exit(code)
